"""Derived customer metrics: age band, purchase metrics, RFM scores and groups, lifecycle.

``customers_enrich`` recomputes everything in one set-based SQL statement (plus its audit
row), whatever the number of customers: no Python loop over rows.

What is derived, and where:

- **Age band** from ``birth_date`` relative to ``today``: ``<18``, ``18-24``, ``25-34``,
  ``35-44``, ``45-54``, ``55-64``, ``65+``; from ``birth_year`` alone (the age reached this
  year) when only the year is known; empty without either (or with a birth after ``today``).
- **Purchase metrics** from ``Purchase``: first and last purchase time, order count, total
  spend, average order value (NULL without orders). Amounts are summed as recorded: there is
  no currency conversion, so a team is assumed to sell in one currency.
- **Lifetime value** is the *historic* value, the total spend so far; it is not a predictive
  (BG/NBD-style) model. A customer without purchases has a lifetime value of 0.00.
- **RFM scores** 1-5 per team, over the active customers of that team that have at least
  one purchase: recency (the UTC day of the last purchase; the most recent = 5), frequency
  (number of orders; most = 5), monetary (total spend; highest = 5). Ties are respected:
  customers with equal inputs always get equal scores. The rule, for each of the three values
  of a team with ``n`` buyers, is the quintile of the percentile rank where tied values share
  their lowest rank::

      score = ceil(5 * rank_min / n)

  where ``rank_min`` is 1 + the number of the team's buyers with a strictly lower value (SQL
  ``rank()``; pandas ``rank(method="min")``), so ``rank_min / n`` is pandas'
  ``rank(method="min", pct=True)`` and the score its quintile, ``(0, 0.2]`` -> 1 ...
  ``(0.8, 1]`` -> 5. Without ties the scores split the buyers into quintiles (sizes differing
  by at most one when ``n`` is a multiple of five); a group of equal values lands where its
  lowest member would, so when most buyers bought once they all have frequency 1 and the
  next score used is that of the position right above them. A lone buyer (``n`` = 1) has 5
  everywhere. Scores are always relative to the whole team, also when only some
  ``customer_ids`` are enriched. Customers without purchases get NULL scores and an empty
  group.
- **RFM group** from the (recency, frequency) pair, see ``RFM_GROUP_RULES``.
- **Lifecycle**: a ``lead`` or ``prospect`` with at least one order becomes a ``customer``;
  no other status is changed (nobody is demoted here).
- **Email domain** cannot be derived in SQL: the email is encrypted (AES-GCM ``bytea``). The
  upsert keeps ``email_domain`` current whenever it writes an email, so it is left alone here.
- **Country from phone** cannot be derived in SQL either: the phone is encrypted and its
  ``Identity`` row holds only a keyed hash. It is derived where the phone is plaintext, in
  the upsert, with :func:`country_from_phone`.

Only rows whose derived values change are written (and a customer never enriched before),
so a second run with the same data writes nothing and returns 0. ``metrics_updated_at`` is
therefore the time the derived values of that customer last changed (or were first
computed); the audit entry ``customers.enrich`` records when each run happened.
"""

from __future__ import annotations

import datetime

import phonenumbers
from django.db import connection, transaction
from django.utils import timezone

from customers.models import LifecycleStatus
from privacy.core.services.audit import audit_record

# (group, recency scores, frequency scores). The first matching rule wins, like a SQL CASE;
# together they cover each of the 25 (R, F) cells exactly once:
#
#   R \ F  1            2                   3                   4                5
#   5      New          Potential loyalist  Potential loyalist  Champions        Champions
#   4      Promising    Potential loyalist  Potential loyalist  Champions        Champions
#   3      Promising    About to sleep      Needs attention     Loyal            Loyal
#   2      Hibernating  Hibernating         At risk             At risk          At risk
#   1      Lost         Hibernating         At risk             Cannot lose them Cannot lose them
#
# Every cell lies in the published range of its group (Champions R4-5 F4-5, Loyal R2-5 F3-5,
# Potential loyalist R3-5 F1-3, New R4-5 F1, Promising R3-4 F1, Needs attention R2-3 F2-3,
# About to sleep R2-3 F1-2, At risk R1-2 F2-5, Cannot lose them R1 F4-5, Hibernating R1-2
# F1-2, Lost R1 F1). Where those ranges overlap, the narrower, more actionable group wins:
# recent first-time buyers are New (R5) or Promising (R3-4) rather than Potential
# loyalists; frequent buyers who have not bought lately (R1-2) are At risk or Cannot lose
# them rather than Loyal; R3 F3 is Needs attention, R3 F2 About to sleep.
RFM_GROUP_RULES: tuple[tuple[str, range, range], ...] = (
    ("Champions", range(4, 6), range(4, 6)),
    ("Loyal", range(3, 4), range(4, 6)),
    ("Potential loyalist", range(4, 6), range(2, 4)),
    ("New", range(5, 6), range(1, 2)),
    ("Promising", range(3, 5), range(1, 2)),
    ("Needs attention", range(3, 4), range(3, 4)),
    ("About to sleep", range(3, 4), range(2, 3)),
    ("Cannot lose them", range(1, 2), range(4, 6)),
    ("At risk", range(1, 3), range(3, 6)),
    ("Lost", range(1, 2), range(1, 2)),
    ("Hibernating", range(1, 3), range(1, 3)),
)
SCORES = range(1, 6)


def rfm_group_for(recency: int, frequency: int) -> str:
    """The RFM group of a (recency, frequency) score pair: the first rule that matches."""
    for group, recency_scores, frequency_scores in RFM_GROUP_RULES:
        if recency in recency_scores and frequency in frequency_scores:
            return group
    raise ValueError(f"No RFM group for recency {recency} and frequency {frequency}.")


# The rules as 25 explicit cells, passed to SQL as three parallel arrays.
_RFM_CELLS = [(r, f, rfm_group_for(r, f)) for r in SCORES for f in SCORES]

# One statement: aggregate purchases per customer for the teams in scope, rank them per team,
# derive every value for the customers in scope, write only the rows that change, and count.
# ``%(team_id)s IS NULL OR ...`` is folded away by the planner, as Django's psycopg backend
# binds parameters on the client side by default.
_ENRICH_SQL = """
WITH purchase_totals AS (
    -- Purchases are aggregated before customers are joined: one pass over the table. A
    -- purchase carries its customer's team (ingestion and merges keep it so), so the team
    -- filter applies before aggregating.
    SELECT p.customer_id,
           min(p.occurred_at) AS first_purchase_at,
           max(p.occurred_at) AS last_purchase_at,
           count(*)::integer AS order_count,
           sum(p.amount) AS total_spend
    FROM customers_purchase AS p
    WHERE (%(team_id)s::bigint IS NULL OR p.owner_team_id = %(team_id)s::bigint)
      AND (%(customer_ids)s::bigint[] IS NULL OR p.owner_team_id IN (
            SELECT scoped.owner_team_id FROM customers_customer AS scoped
            WHERE scoped.id = ANY(%(customer_ids)s::bigint[])))
    GROUP BY p.customer_id
),
ranked AS (
    -- Every active buyer of the teams in scope is ranked within their team. rank() gives
    -- tied values their lowest rank, so equal inputs always get equal scores.
    SELECT t.*,
           count(*) OVER team_buyers AS buyers,
           rank() OVER (team_buyers ORDER BY (t.last_purchase_at AT TIME ZONE 'UTC')::date)
               AS recency_rank,
           rank() OVER (team_buyers ORDER BY t.order_count) AS frequency_rank,
           rank() OVER (team_buyers ORDER BY t.total_spend) AS monetary_rank
    FROM purchase_totals AS t
    JOIN customers_customer AS c ON c.id = t.customer_id AND c.merged_into_id IS NULL
    WINDOW team_buyers AS (PARTITION BY c.owner_team_id)
),
scored AS MATERIALIZED (
    -- score = ceil(5 * rank / buyers), in exact integer arithmetic. Materialized: ranked
    -- once, never again for each customer a poorly estimated nested loop joins it to.
    SELECT r.*,
           (5 * r.recency_rank + r.buyers - 1) / r.buyers AS recency,
           (5 * r.frequency_rank + r.buyers - 1) / r.buyers AS frequency,
           (5 * r.monetary_rank + r.buyers - 1) / r.buyers AS monetary
    FROM ranked AS r
),
computed AS (
    SELECT c.id,
           c.metrics_updated_at IS NULL AS is_first_run,
           ROW(c.age_band, c.first_purchase_at, c.last_purchase_at, c.order_count,
               c.total_spend, c.average_order_value, c.lifetime_value, c.rfm_recency,
               c.rfm_frequency, c.rfm_monetary, c.rfm_group, c.lifecycle_status) AS stored_values,
           CASE
               WHEN age.years IS NULL OR age.years < 0 THEN ''
               WHEN age.years < 18 THEN '<18'
               WHEN age.years < 25 THEN '18-24'
               WHEN age.years < 35 THEN '25-34'
               WHEN age.years < 45 THEN '35-44'
               WHEN age.years < 55 THEN '45-54'
               WHEN age.years < 65 THEN '55-64'
               ELSE '65+'
           END::varchar(8) AS age_band,
           s.first_purchase_at,
           s.last_purchase_at,
           coalesce(s.order_count, 0) AS order_count,
           coalesce(s.total_spend, 0)::numeric(14, 2) AS total_spend,
           round(s.total_spend / s.order_count, 2)::numeric(14, 2) AS average_order_value,
           coalesce(s.total_spend, 0)::numeric(14, 2) AS lifetime_value,
           s.recency::smallint AS rfm_recency,
           s.frequency::smallint AS rfm_frequency,
           s.monetary::smallint AS rfm_monetary,
           coalesce(cell.rfm_group, '')::varchar(32) AS rfm_group,
           CASE WHEN promotion.is_promoted THEN %(customer_status)s
                ELSE c.lifecycle_status
           END::varchar(16) AS lifecycle_status,
           promotion.is_promoted
    FROM customers_customer AS c
    CROSS JOIN LATERAL (
        -- From the birth date, or from the year alone (the age reached this year).
        SELECT CASE
                   WHEN c.birth_date IS NOT NULL AND c.birth_date > %(today)s::date THEN NULL
                   WHEN c.birth_date IS NOT NULL
                       THEN date_part('year', age(%(today)s::date, c.birth_date))::integer
                   ELSE date_part('year', %(today)s::date)::integer - c.birth_year
               END AS years
    ) AS age
    LEFT JOIN scored AS s ON s.customer_id = c.id
    LEFT JOIN unnest(%(cell_recency)s::integer[], %(cell_frequency)s::integer[],
                     %(cell_group)s::text[]) AS cell(recency, frequency, rfm_group)
           ON cell.recency = s.recency AND cell.frequency = s.frequency
    CROSS JOIN LATERAL (
        SELECT coalesce(s.order_count > 0, false)
               AND c.lifecycle_status = ANY(%(buying_statuses)s::text[]) AS is_promoted
    ) AS promotion
    WHERE c.merged_into_id IS NULL
      AND (%(team_id)s::bigint IS NULL OR c.owner_team_id = %(team_id)s::bigint)
      AND (%(customer_ids)s::bigint[] IS NULL
           OR c.id = ANY(%(customer_ids)s::bigint[])
           -- Re-ranking the team: its other buyers (and those who no longer are) too.
           OR (%(rerank_team)s::boolean
               AND (s.customer_id IS NOT NULL
                    OR (c.rfm_recency IS NOT NULL AND c.owner_team_id IN (
                        SELECT scoped.owner_team_id FROM customers_customer AS scoped
                        WHERE scoped.id = ANY(%(customer_ids)s::bigint[]))))))
),
changed AS (
    -- Rows whose derived values differ from the stored ones, so the UPDATE joins only those.
    SELECT d.*
    FROM computed AS d
    WHERE d.is_first_run
       OR d.stored_values IS DISTINCT FROM
          ROW(d.age_band, d.first_purchase_at, d.last_purchase_at, d.order_count,
              d.total_spend, d.average_order_value, d.lifetime_value, d.rfm_recency,
              d.rfm_frequency, d.rfm_monetary, d.rfm_group, d.lifecycle_status)
),
updated AS (
    UPDATE customers_customer AS c
    SET age_band = d.age_band,
        first_purchase_at = d.first_purchase_at,
        last_purchase_at = d.last_purchase_at,
        order_count = d.order_count,
        total_spend = d.total_spend,
        average_order_value = d.average_order_value,
        lifetime_value = d.lifetime_value,
        rfm_recency = d.rfm_recency,
        rfm_frequency = d.rfm_frequency,
        rfm_monetary = d.rfm_monetary,
        rfm_group = d.rfm_group,
        lifecycle_status = d.lifecycle_status,
        metrics_updated_at = now()
    FROM changed AS d
    WHERE c.id = d.id
    RETURNING d.is_promoted
)
SELECT (SELECT count(*) FROM computed),
       (SELECT count(*) FROM computed WHERE order_count > 0),
       (SELECT count(*) FROM updated),
       (SELECT count(*) FROM updated WHERE is_promoted)
"""


def country_from_phone(e164: str) -> str:
    """The ISO country of an E.164 phone number, or ``""`` when it has none.

    Non-geographic numbers (``+800``, ``+882``...) and numbers that cannot be parsed have no
    country. Shared calling codes are resolved by number range (``+1 416`` is CA, ``+1 212``
    is US). Call it where the phone is plaintext, i.e. in the upsert: an encrypted phone
    cannot be read by SQL.
    """
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ""
    region = phonenumbers.region_code_for_number(number)
    if not region or region in {phonenumbers.UNKNOWN_REGION, "001"}:
        return ""
    return region


@transaction.atomic
def customers_enrich(
    *,
    team_id: int | None = None,
    customer_ids: list[int] | None = None,
    rerank_team: bool = False,
    today: datetime.date | None = None,
) -> int:
    """Recompute the derived metrics of active customers; return how many rows changed.

    Scoped to one team and/or to some customers when given (RFM scores still rank each
    customer against its whole team). With ``customer_ids`` and ``rerank_team``, every other
    buyer of their teams is recomputed too, in the same statement: new purchases of a few
    customers move the RFM quintiles of the whole team, and only rows whose values change are
    written. ``today`` is the reference date of age bands (the current date by default).
    Writes one ``customers.enrich`` audit entry with the counts, in the same transaction.
    Idempotent: a second run over the same data changes nothing.
    """
    today = today or timezone.localdate()
    parameters = {
        "team_id": team_id,
        "customer_ids": list(customer_ids) if customer_ids is not None else None,
        "rerank_team": rerank_team,
        "today": today,
        "buying_statuses": [LifecycleStatus.LEAD.value, LifecycleStatus.PROSPECT.value],
        "customer_status": LifecycleStatus.CUSTOMER.value,
        "cell_recency": [recency for recency, _frequency, _group in _RFM_CELLS],
        "cell_frequency": [frequency for _recency, frequency, _group in _RFM_CELLS],
        "cell_group": [group for _recency, _frequency, group in _RFM_CELLS],
    }
    with connection.cursor() as cursor:
        cursor.execute(_ENRICH_SQL, parameters)
        in_scope, with_purchases, updated, promoted = cursor.fetchone()
    audit_record(
        action="customers.enrich",
        object_type="customers.customer",
        team_id=team_id,
        metadata={
            "team": team_id,
            "requested_customers": None if customer_ids is None else len(customer_ids),
            "rerank_team": rerank_team,
            "as_of": today.isoformat(),
            "customers": in_scope,
            "with_purchases": with_purchases,
            "updated": updated,
            "became_customers": promoted,
        },
    )
    return updated
