"""How imports read numeric dates such as 07/12/1946: the chosen order, or the file's evidence.

A date whose day and month could be swapped is a guess unless the import says its order or
its file proves it; a guess is stored with a warning naming the column.
"""

import datetime as dt
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.models import Customer, Event, ImportJob, ImportRow, ImportTemplate, Purchase
from customers.normalisation import ambiguous_date_reason
from customers.services.customers import customers_upsert_items
from customers.services.imports import import_job_run
from privacy.core import roles


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def importer(make_user, team_a):
    return make_user(roles.MARKETER, team_a)


@pytest.fixture
def administrator(make_user, team_a):
    """Imports and sees the values the preview shows (a marketer sees them masked)."""
    return make_user(roles.ADMINISTRATOR, team_a)


def customers_by_email(job) -> dict[str, Customer]:
    customers = Customer.objects.filter(owner_team=job.owner_team).active()
    return {customer.email: customer for customer in customers}


def birth_dates(job) -> dict[str, dt.date | None]:
    return {email: customer.birth_date for email, customer in customers_by_email(job).items()}


def warnings_by_line(job) -> dict[int, list[str]]:
    return dict(ImportRow.objects.filter(job=job).values_list("line_number", "warnings"))


# The Birthday column proves nothing (every value fits both ways); only the country can say.
UNPROVEN = (
    b"Mail,Land,Geburtstag\n"
    b"vinzenz@example.com,US,07/12/1946\n"
    b"anna@example.com,DE,07.12.1946\n"
    b"ida@example.com,,1946-12-07\n"
    b"ole@example.com,DE,06/06/1950\n"
)
UNPROVEN_MAPPING = {"Mail": "email", "Land": "country", "Geburtstag": "birth_date"}


def test_an_ambiguous_date_is_stored_with_a_warning_naming_its_column(importer, team_a, run_import):
    # Given a file whose date column proves no order, imported with the default ("auto")
    job = run_import(importer, team_a, UNPROVEN, mapping=UNPROVEN_MAPPING)

    # Then each ambiguous date is read by its row's country, and warned about by column
    assert birth_dates(job) == {
        "vinzenz@example.com": dt.date(1946, 7, 12),
        "anna@example.com": dt.date(1946, 12, 7),
        "ida@example.com": dt.date(1946, 12, 7),
        "ole@example.com": dt.date(1950, 6, 6),
    }
    assert warnings_by_line(job) == {
        2: [
            "ambiguous date in column “Geburtstag”: read month first; choose the date order of "
            "the import"
        ],
        3: [
            "ambiguous date in column “Geburtstag”: read day first; choose the date order of "
            "the import"
        ],
        4: [],
        5: [],
    }
    assert job.warning_count == 2
    assert job.options["date_orders"] == {}


@pytest.mark.parametrize(
    ("date_order", "expected"),
    [
        pytest.param("day_first", dt.date(1946, 12, 7), id="day-first"),
        pytest.param("month_first", dt.date(1946, 7, 12), id="month-first"),
    ],
)
def test_the_chosen_order_reads_every_row_without_a_guess(
    importer, team_a, run_import, date_order, expected
):
    # When the same file is imported with a chosen date order
    job = run_import(
        importer, team_a, UNPROVEN, mapping=UNPROVEN_MAPPING, options={"date_order": date_order}
    )

    # Then the US row and the German row are both read that way, and nothing is a guess
    dates = birth_dates(job)
    assert dates["vinzenz@example.com"] == dates["anna@example.com"] == expected
    assert dates["ole@example.com"] == dt.date(1950, 6, 6)
    assert job.warning_count == 0
    assert job.options["date_orders"] == {"birth_date": date_order}


@pytest.mark.parametrize(
    ("proof", "order", "expected"),
    [
        pytest.param("25/03/1980", "day_first", dt.date(1946, 12, 7), id="day-above-12-first"),
        pytest.param("03/25/1980", "month_first", dt.date(1946, 7, 12), id="month-above-12-2nd"),
    ],
)
def test_auto_infers_the_order_from_the_rows_that_prove_it(
    importer, team_a, run_import, proof, order, expected
):
    # Given a US file whose last row alone proves the order of its date column
    content = (
        f"email,country,birth_date\nfirst@example.com,US,07/12/1946\nproof@example.com,US,{proof}\n"
    ).encode()

    # When it is imported in chunks of one row, so the proof comes after the ambiguous date
    job = run_import(importer, team_a, content, chunk_size=1)

    # Then the whole column is read that way, from the first row on, with no warning
    assert birth_dates(job)["first@example.com"] == expected
    assert birth_dates(job)["proof@example.com"] == dt.date(1980, 3, 25)
    assert job.options["date_orders"] == {"birth_date": order}
    assert job.warning_count == 0


def test_a_column_proving_both_orders_is_read_row_by_row_with_warnings(
    importer, team_a, run_import
):
    # Given a file merged from a day-first and a month-first export
    content = (
        b"email,country,birth_date,signup_date\n"
        b"us@example.com,US,07/12/1946,13/01/2020\n"
        b"de@example.com,DE,13/01/1950,01/02/2020\n"
        b"us2@example.com,US,01/13/1950,\n"
    )

    # When it is imported
    job = run_import(importer, team_a, content)

    # Then birth dates follow each row's country, sign-up dates the order their column proves
    assert birth_dates(job)["us@example.com"] == dt.date(1946, 7, 12)
    assert job.options["date_orders"] == {"signup_date": "day_first"}
    de = customers_by_email(job)["de@example.com"]
    assert de.signup_date == dt.date(2020, 2, 1)
    assert warnings_by_line(job)[2] == [ambiguous_date_reason("birth_date", "month_first")]
    assert warnings_by_line(job)[3] == []


def test_an_unknown_date_order_is_refused(importer, team_a, run_import):
    with pytest.raises(ValidationError) as refused:
        run_import(importer, team_a, UNPROVEN, options={"date_order": "year_first"})
    assert list(refused.value.message_dict) == ["date_order"]


# --- Purchases and events: the same rule for occurred_at ---------------------------------------
@pytest.fixture
def shop_customer(team_a) -> int:
    [result] = customers_upsert_items(
        actor=None,
        team=team_a,
        items=[{"external_ids": [{"channel": "import", "id": "C-1"}]}],
        source="import",
    )
    return result.customer_id


PURCHASES = b"Kunde,Bestellung,Datum,Betrag\nC-1,O-1,07/12/2024,10.00\nC-1,O-2,2024-12-08,20.00\n"
PURCHASE_MAPPING = {
    "Kunde": "customer_external_id",
    "Bestellung": "order_reference",
    "Datum": "occurred_at",
    "Betrag": "amount",
}


def purchase_days(job) -> dict[str, dt.date]:
    purchases = Purchase.objects.filter(customer__owner_team=job.owner_team)
    return {purchase.order_reference: purchase.occurred_at.date() for purchase in purchases}


@pytest.mark.parametrize(
    ("options", "expected", "warnings"),
    [
        pytest.param(
            {"currency": "EUR"},
            dt.date(2024, 12, 7),
            [ambiguous_date_reason("Datum", "day_first")],
            id="auto-unproven-day-first-default",
        ),
        pytest.param(
            {"currency": "USD", "default_country": "US"},
            dt.date(2024, 7, 12),
            [ambiguous_date_reason("Datum", "month_first")],
            id="auto-unproven-us-default-country",
        ),
        pytest.param(
            {"currency": "USD", "date_order": "month_first"},
            dt.date(2024, 7, 12),
            [],
            id="month-first",
        ),
    ],
)
def test_purchase_dates_follow_the_same_rule(
    importer, team_a, run_import, shop_customer, options, expected, warnings
):
    # When a purchases file with a numeric date is imported
    job = run_import(
        importer,
        team_a,
        PURCHASES,
        kind="purchases",
        mapping=PURCHASE_MAPPING,
        options=options,
    )

    # Then the date is read by the same rule as customer dates, and a guess is warned about
    assert job.created_count == 2
    assert purchase_days(job) == {"O-1": expected, "O-2": dt.date(2024, 12, 8)}
    assert warnings_by_line(job) == {2: warnings, 3: []}
    assert job.warning_count == len(warnings)


def test_event_dates_are_inferred_from_the_file(importer, team_a, run_import, shop_customer):
    content = b"customer,type,when\nC-1,visit,07/12/2024\nC-1,visit,13/12/2024\n"
    job = run_import(
        importer,
        team_a,
        content,
        kind="events",
        mapping={"customer": "customer_external_id", "type": "type", "when": "occurred_at"},
    )
    days = sorted(event.occurred_at.date() for event in Event.objects.filter(type="visit"))
    assert days == [dt.date(2024, 12, 7), dt.date(2024, 12, 13)]
    assert job.options["date_orders"] == {"occurred_at": "day_first"}
    assert job.warning_count == 0


# --- The doors: the API and the wizard's templates ----------------------------------------------
def test_api_upload_takes_the_date_order_and_shows_what_was_settled(
    importer, team_a, token_client, django_capture_on_commit_callbacks
):
    # Given an upload through the API that chooses the order, run as the worker would
    client = token_client(importer)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            "/api/v1/imports/",
            {
                "file": SimpleUploadedFile("c.csv", UNPROVEN, content_type="text/csv"),
                "mapping": json.dumps(UNPROVEN_MAPPING),
                "date_order": "month_first",
            },
            format="multipart",
        )
    assert response.status_code == 201, response.content
    job_id = response.json()["id"]
    import_job_run(job_id=job_id)

    # Then the job shows the chosen order and the order it settled for each date column
    shown = client.get(f"/api/v1/imports/{job_id}/").json()
    assert (shown["date_order"], shown["date_orders"]) == (
        "month_first",
        {"birth_date": "month_first"},
    )

    # And an order the importer does not know is refused, naming the field
    refused = client.post(
        "/api/v1/imports/",
        {
            "file": SimpleUploadedFile("c.csv", UNPROVEN, content_type="text/csv"),
            "date_order": "backwards",
        },
        format="multipart",
    )
    assert refused.status_code == 400
    assert [error["field"] for error in refused.json()["errors"]] == ["date_order"]


WIZARD_FILE = b"Mail,Geburtstag\nvinzenz@example.com,07/12/1946\n"
WIZARD_MAPPING = {"column_0": "email", "column_1": "birth_date"}


def wizard_upload(client, content=WIZARD_FILE):
    return client.post(
        reverse("import-start"),
        {
            "file": SimpleUploadedFile("c.csv", content, content_type="text/csv"),
            "kind": "customers",
            "default_country": "US",
            "source_channel": "",
        },
    )


def test_a_template_saves_the_date_order_and_applies_it_again(
    administrator, team_a, verified_client
):
    # Given a mapping saved as a template with the order "day first"
    client = verified_client(administrator)
    wizard_upload(client)
    client.post(
        reverse("import-mapping"),
        {**WIZARD_MAPPING, "date_order": "day_first", "template_name": "CRM"},
    )
    template = ImportTemplate.objects.get(name="CRM")
    assert template.date_order == "day_first"

    # And the preview reads the US-country file day first, as chosen, without a warning
    preview = client.get(reverse("import-preview"))
    [row] = preview.context["rows"]
    cells = {cell["key"]: cell for cell in row["cells"]}
    assert cells["birth_date"]["value"] == "1946-12-07"
    assert row["warnings"] == []

    # When the next file reaches step 2, the order is "auto" until the template is applied
    client.post(reverse("import-cancel"))
    wizard_upload(client)
    assert client.get(reverse("import-mapping")).context["form"]["date_order"].value() == "auto"
    applied = client.get(reverse("import-mapping"), {"template": template.pk})
    assert applied.context["form"]["date_order"].value() == "day_first"

    # Then the import started from the wizard reads its dates that way
    client.post(reverse("import-mapping"), {**WIZARD_MAPPING, "date_order": "day_first"})
    client.post(reverse("import-preview"), {"action": "import"})
    job = ImportJob.objects.get()
    assert job.options["date_order"] == "day_first"


def test_the_preview_warns_about_a_guessed_date(administrator, team_a, verified_client):
    client = verified_client(administrator)
    wizard_upload(client)
    client.post(reverse("import-mapping"), {**WIZARD_MAPPING, "date_order": "auto"})
    [row] = client.get(reverse("import-preview")).context["rows"]
    cells = {cell["key"]: cell for cell in row["cells"]}
    assert cells["birth_date"]["value"] == "1946-07-12"
    expected = ambiguous_date_reason("Geburtstag", "month_first")
    assert cells["birth_date"]["warning"] == expected
