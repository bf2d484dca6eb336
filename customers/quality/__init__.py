"""Data quality of the customer base, per team and field, and its daily snapshots.

The measures (``customers.quality.rules`` says what each counts):

- **completeness**: of a team's active customers, the share whose field is filled;
- **validity**: of the filled values, the share that still passes the check normalisation
  applies on entry, re-run over the stored value (fields stored encrypted other than the email,
  whose domain is kept plain, are checked on entry only and have no validity figure);
- **uniqueness**: the share of active customers in no open duplicate candidate;
- **freshness**: the mean number of days since a customer record last changed;
- **consent coverage**: the share of active customers with a current grant for at least one
  active consent purpose.

Figures are computed in one grouped query (``selectors.quality_figures``) and kept once a day
per team by ``services.data_quality_snapshot_take`` (nightly beat job), as aggregates only.
"""
