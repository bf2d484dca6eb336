"""The customer list and an import's row report as CSV: services that audit first, then stream
the lines in chunks, at a cost that does not grow with the rows."""

import csv
import io

import pytest
from django.contrib.auth.models import Permission

from customers.models import Customer, ImportJob, ImportRow, RowOutcome
from customers.services.csv_exports import customers_csv_export, import_report_csv_export
from privacy.core import roles
from privacy.models import AuditEntry
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def read(lines) -> list[list[str]]:
    return list(csv.reader(io.StringIO("".join(lines).removeprefix("\ufeff"))))


@pytest.fixture
def exporter(make_user, team_a):
    """An analyst granted the export of personal data, but not the sight of it."""
    user = make_user(roles.ANALYST, team_a)
    user.user_permissions.add(Permission.objects.get(codename="export_personal_data"))
    return user


@pytest.fixture
def job(team_a, steward):
    return ImportJob.objects.create(owner_team=team_a, created_by=steward, file="imports/x.csv")


def add_report_rows(job: ImportJob, count: int) -> None:
    start = ImportRow.objects.filter(job=job).count() + 2
    ImportRow.objects.bulk_create(
        ImportRow(
            job=job,
            line_number=start + offset,
            outcome=RowOutcome.REJECTED,
            warnings=["birth_date: not a date"],
            reason="=no email",
        )
        for offset in range(count)
    )


def test_the_customer_export_is_audited_before_its_first_line(exporter, team_a):
    # Given two customers of the analyst's team
    CustomerFactory.create_batch(2, owner_team=team_a)

    # When the export is asked for and not read at all (the client went away)
    customers_csv_export(actor=exporter, customers=Customer.objects.all(), filters=["country"])

    # Then the disclosure is recorded all the same
    entry = AuditEntry.objects.get(action="customer.export")
    assert (entry.actor, entry.metadata) == (
        exporter,
        {"row_count": 2, "filters": ["country"], "masked": True},
    )


def test_the_customer_export_masks_what_the_record_masks(exporter, team_a):
    CustomerFactory(
        owner_team=team_a,
        given_name="Jane",
        family_name="Doe",
        email="jane@example.com",
        phone="+493012345678",
        city="Berlin",
        company="Acme",
        tags=["vip", "newsletter"],
    )

    header, row = read(
        customers_csv_export(actor=exporter, customers=Customer.objects.all(), filters=[])
    )

    shown = dict(zip(header, row, strict=True))
    assert (shown["name"], shown["email"], shown["phone"]) == (
        "J•••",
        "j•••@example.com",
        "'+49•••78",
    )
    assert (shown["city"], shown["company"], shown["tags"]) == ("Berlin", "Acme", "vip;newsletter")


def test_the_customer_export_costs_the_same_queries_for_any_number_of_rows(
    exporter, team_a, django_assert_num_queries
):
    # Given three customers, then sixty
    CustomerFactory.create_batch(3, owner_team=team_a)
    customers = Customer.objects.filter(owner_team=team_a)
    customers_csv_export(actor=exporter, customers=customers, filters=[])  # warm the caches

    # Then the export costs 4 queries either way: the row count, the audit entry and the
    # actor's team it belongs to, and the rows, fetched through one cursor in chunks
    with django_assert_num_queries(4):
        assert len(read(customers_csv_export(actor=exporter, customers=customers, filters=[]))) == 4
    CustomerFactory.create_batch(57, owner_team=team_a)
    with django_assert_num_queries(4):
        lines = customers_csv_export(actor=exporter, customers=customers, filters=[])
        assert len(read(lines)) == 61


def test_the_row_report_is_audited_before_its_first_line_and_formula_safe(steward, job):
    add_report_rows(job, 1)

    lines = import_report_csv_export(actor=steward, job=job)

    entry = AuditEntry.objects.get(action="import.report_download")
    assert (entry.actor, entry.object_id) == (steward, str(job.pk))
    assert entry.metadata == {"row_count": 1}
    assert read(lines) == [
        ["line", "outcome", "warnings", "reason", "customer"],
        ["2", "rejected", "birth_date: not a date", "'=no email", ""],
    ]


def test_the_row_report_costs_the_same_queries_for_any_number_of_rows(
    steward, job, django_assert_num_queries
):
    add_report_rows(job, 3)
    import_report_csv_export(actor=steward, job=job)  # warm the caches

    # The row count, the audit entry, and the rows through one cursor
    with django_assert_num_queries(3):
        assert len(read(import_report_csv_export(actor=steward, job=job))) == 4
    add_report_rows(job, 120)
    with django_assert_num_queries(3):
        assert len(read(import_report_csv_export(actor=steward, job=job))) == 124
