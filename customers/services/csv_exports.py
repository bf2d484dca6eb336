"""CSV downloads of personal data: the customer list and the row report of an import.

Each service writes its audit entry first, then returns the lines of the file
(``privacy.core.exports.csv_lines``: formula-safe, fetched in chunks as the download goes), so a
download the client abandons half-way was still recorded. The caller checks the permission to
export personal data and the re-authentication, and streams the lines
(``privacy.core.exports.csv_response``). Both cost the same queries whatever the row count.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from customers.masking import customer_masks, masked_values
from customers.models import Customer, ImportJob, ImportRow
from privacy.core.access import can_view_personal_data
from privacy.core.exports import csv_lines
from privacy.core.services.audit import audit_record

CUSTOMER_CHUNK_SIZE = 2000
REPORT_CHUNK_SIZE = 5000

# Each column of the customer list: its header and what fills it (a field or property of the
# customer; "team" is the owning team's name).
CUSTOMER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "id"),
    ("name", "display_name"),
    ("email", "email"),
    ("phone", "phone"),
    ("country", "country"),
    ("city", "city"),
    ("company", "company"),
    ("industry", "industry"),
    ("job_title", "job_title"),
    ("source", "source_channel"),
    ("tags", "tags"),
    ("lifecycle_status", "lifecycle_status"),
    ("orders", "order_count"),
    ("total_spend", "total_spend"),
    ("last_purchase_at", "last_purchase_at"),
    ("rfm_group", "rfm_group"),
    ("team", "team"),
    ("created_at", "created_at"),
)
# The columns read for them (the display name is written from the names and the country).
_CUSTOMER_FIELDS = (
    "id",
    "owner_team__group__name",
    "given_name",
    "family_name",
    "email",
    "phone",
    "country",
    "city",
    "company",
    "industry",
    "job_title",
    "source_channel",
    "tags",
    "lifecycle_status",
    "order_count",
    "total_spend",
    "last_purchase_at",
    "rfm_group",
    "created_at",
)

REPORT_COLUMNS = ("line", "outcome", "warnings", "reason", "customer")


def _cell(value: object) -> object:
    if isinstance(value, list):
        return ";".join(str(item) for item in value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _customer_row(customer: Customer, masks: dict) -> list[object]:
    values = {
        source: customer.owner_team.group.name if source == "team" else getattr(customer, source)
        for _header, source in CUSTOMER_COLUMNS
    }
    shown = masked_values(values, masks)
    return [_cell(shown[source]) for _header, source in CUSTOMER_COLUMNS]


def customers_csv_export(
    *, actor: AbstractBaseUser, customers: QuerySet[Customer], filters: Sequence[str]
) -> Iterator[str]:
    """The lines of the CSV file of ``customers`` (already scoped to ``actor`` and filtered by
    ``filters``, named in the audit entry without their values), masked unless the actor may
    view personal data; audited as ``customer.export`` before the first line."""
    is_masked = not can_view_personal_data(actor)
    masks = customer_masks() if is_masked else {}
    customers = customers.select_related("owner_team__group").only(*_CUSTOMER_FIELDS)
    audit_record(
        action="customer.export",
        actor=actor,
        object_type=Customer._meta.label_lower,
        metadata={
            "row_count": customers.order_by().count(),
            "filters": list(filters),
            "masked": is_masked,
        },
    )
    rows = customers.iterator(chunk_size=CUSTOMER_CHUNK_SIZE)
    return csv_lines(
        [header for header, _source in CUSTOMER_COLUMNS],
        (_customer_row(customer, masks) for customer in rows),
    )


def import_report_csv_export(*, actor: AbstractBaseUser, job: ImportJob) -> Iterator[str]:
    """The lines of an import's row report: which customer each line of the file became, so an
    export of personal data; audited as ``import.report_download`` before the first line."""
    rows = ImportRow.objects.filter(job=job).order_by("line_number")
    audit_record(
        action="import.report_download",
        actor=actor,
        target=job,
        metadata={"row_count": rows.count()},
    )
    values = rows.values_list("line_number", "outcome", "warnings", "reason", "customer_id")
    return csv_lines(
        REPORT_COLUMNS,
        (
            [line, outcome, "; ".join(warnings), reason, customer_id or ""]
            for line, outcome, warnings, reason, customer_id in values.iterator(
                chunk_size=REPORT_CHUNK_SIZE
            )
        ),
    )
