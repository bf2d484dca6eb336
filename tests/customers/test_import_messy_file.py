"""Importing the multi-channel export yields exactly what its truth file says."""

import csv
import io
import re

import pytest
from django.db import connection

from customers.models import Customer, Identity, ImportRow, RowOutcome
from customers.normalisation import ambiguous_date_reason
from privacy.core import roles


@pytest.fixture
def importer(make_user, team_a):
    return make_user(roles.MARKETER, team_a)


@pytest.fixture
def first_import(importer, team_a, messy_csv, run_import):
    return run_import(importer, team_a, messy_csv, chunk_size=500)


def test_import_yields_one_customer_per_person(first_import, messy_truth):
    assert first_import.status == "succeeded"
    assert Customer.objects.active().count() == messy_truth["distinct_persons"] == 1516
    assert first_import.total_rows == messy_truth["rows"] == 2095
    assert first_import.processed_rows == 2095


def test_rejected_rows_are_reported_with_their_reason(first_import, messy_truth):
    rejected = ImportRow.objects.filter(job=first_import, outcome=RowOutcome.REJECTED)
    expected = sorted(row["reason"] for row in messy_truth["rejected_rows"])
    assert sorted(rejected.values_list("reason", flat=True)) == expected
    assert first_import.rejected_count == 15


def test_warning_rows_are_imported_with_the_field_left_empty(first_import, messy_truth):
    warned = ImportRow.objects.filter(job=first_import).exclude(warnings=[])
    left_empty = [
        reason
        for row in warned
        for reason in row.warnings
        if not reason.startswith("ambiguous date in column")
    ]
    assert sorted(left_empty) == sorted(row["reason"] for row in messy_truth["warning_rows"])
    assert len(left_empty) == 15
    assert first_import.warning_count == warned.count()
    future = Customer.objects.get(
        identities__lookup_key=_email_key("future3@example.com"), merged_into=None
    )
    assert future.birth_date is None


def test_dates_that_could_be_read_both_ways_are_warned_about_by_column(first_import, messy_csv):
    # The file mixes day-first and month-first US dates, so its birth date column proves
    # neither order: each row is read by its country, and every date that could be read the
    # other way round is a warning naming the column.
    ambiguous_lines = set()
    reader = csv.DictReader(io.StringIO(messy_csv.decode("utf-8-sig"), newline=""))
    line_number = reader.line_num + 2
    for row in reader:
        parts = re.fullmatch(r"(\d{1,2})[./-](\d{1,2})[./-]\d{4}", row["birth_date"].strip())
        if parts and parts[1] != parts[2] and max(int(parts[1]), int(parts[2])) <= 12:
            ambiguous_lines.add(line_number)
        line_number = reader.line_num + 1
    warned_lines = set(
        ImportRow.objects.filter(
            job=first_import,
            warnings__contains=[ambiguous_date_reason("birth_date", "day_first")],
        ).values_list("line_number", flat=True)
    ) | set(
        ImportRow.objects.filter(
            job=first_import,
            warnings__contains=[ambiguous_date_reason("birth_date", "month_first")],
        ).values_list("line_number", flat=True)
    )
    assert first_import.options["date_orders"] == {}
    assert len(ambiguous_lines) > 100
    assert warned_lines == ambiguous_lines


def _email_key(email: str) -> str:
    from privacy.core.crypto import blind_index

    return blind_index(email, purpose="email")


def test_each_person_has_their_normalised_email_phone_country_names_and_birth_date(
    first_import, messy_truth
):
    customers = {customer.email: customer for customer in Customer.objects.active()}
    mismatches, swapped = [], []
    for person in messy_truth["people"]:
        customer = customers.get(person["email"])
        if customer is None:
            mismatches.append((person["id"], "missing"))
            continue
        if customer.phone != person["phone_e164"]:
            mismatches.append((person["id"], "phone", customer.phone, person["phone_e164"]))
        if person["country"] and customer.country != person["country"]:
            mismatches.append((person["id"], "country"))
        # Rows of a person may all lack a birth date; where one was given it must be right,
        # except that a US-style "04/06/2008" cannot tell April from June (see below).
        if customer.birth_date and str(customer.birth_date) != person["birth_date"]:
            swapped.append((person["id"], str(customer.birth_date), person["birth_date"]))
        if (customer.given_name or "", customer.family_name or "") != (
            person["first_name"] or "",
            person["last_name"] or "",
        ):
            mismatches.append((person["id"], "name"))
    assert mismatches == []
    # Ambiguous US dates where no row of the person gives a certain one: the day and month of
    # the truth, read month first as US rows are. Nothing in the file can settle these.
    assert all(
        stored[5:7] == truth[8:10] and stored[8:10] == truth[5:7] for _id, stored, truth in swapped
    )
    assert len(swapped) <= 10


def test_the_card_number_never_reaches_the_database(first_import):
    card_customer = Customer.objects.get(identities__lookup_key=_email_key("card4@example.com"))
    assert card_customer.notes is None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'jsonb')"
        )
        columns = cursor.fetchall()
        hits = []
        for table, column in columns:
            cursor.execute(
                f'SELECT count(*) FROM "{table}" WHERE "{column}"::text LIKE %s',  # noqa: S608
                ["%4111 1111 1111 1111%"],
            )
            if cursor.fetchone()[0]:
                hits.append((table, column))
    assert hits == []


def test_importing_the_same_file_again_changes_nothing(
    first_import, importer, team_a, messy_csv, run_import
):
    before = list(Customer.objects.order_by("pk").values_list("pk", "updated_at", "merged_into_id"))
    identities = Identity.objects.count()
    second = run_import(importer, team_a, messy_csv, chunk_size=700)
    assert (second.created_count, second.updated_count, second.merged_count) == (0, 0, 0)
    assert second.unchanged_count == 2095 - 15
    assert second.rejected_count == 15
    after = list(Customer.objects.order_by("pk").values_list("pk", "updated_at", "merged_into_id"))
    assert after == before
    assert Identity.objects.count() == identities
