"""The import wizard of the staff UI: upload, columns, preview, run, progress and report.

Over 600 lines: one test module per screen family, every step of the wizard.
"""

import re

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.models import Customer, ImportJob, ImportRow, ImportTemplate
from customers.services.csv_files import HEADER_SYNONYMS
from customers.services.import_files import import_file_open
from customers.services.imports import import_job_create, import_job_run
from customers.views.imports import DRAFT_SESSION_KEY
from privacy.core import roles
from privacy.models import AuditEntry
from tests.factories import TeamFactory

# Three rows: one clean, one rejected (invalid email, nothing else identifies it), one imported
# with a warning (a birth date that does not exist).
THREE_ROWS = (
    b"Mail,Mobile,Given name,Surname,Kundennummer,Birthday,Remarks\n"
    b"ada@example.com,+44 20 7946 0958,Ada,Lovelace,K-1,1985-12-10,first customer\n"
    b"not-an-email,,Grace,Hopper,,1906-12-09,second\n"
    b"alan@example.com,07911 123456,Alan,Turing,K-3,31/02/1912,third\n"
)
HEADER = ["Mail", "Mobile", "Given name", "Surname", "Kundennummer", "Birthday", "Remarks"]
SUGGESTED = {
    "Mail": "email",
    "Mobile": "phone",
    "Given name": "first_name",
    "Surname": "last_name",
    "Kundennummer": "",
    "Birthday": "birth_date",
    "Remarks": "",
}
# What the person changes in step 2: the customer number is the external id, remarks are notes.
ADJUSTED = {**SUGGESTED, "Kundennummer": "external_id", "Remarks": "notes"}

WIZARD_URLS = ["import-start", "import-mapping", "import-preview"]


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def media(settings):
    return settings.MEDIA_ROOT


@pytest.fixture
def administrator_a(make_user, team_a):
    return make_user(roles.ADMINISTRATOR, team_a)


@pytest.fixture
def analyst_a(make_user, team_a):
    return make_user(roles.ANALYST, team_a)


def report_lines(response) -> list[str]:
    """The lines of a streamed row report, without the byte-order mark."""
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return text.removeprefix("\ufeff").splitlines()


def upload(client, content: bytes, *, name="customers.csv", **fields):
    data = {
        "file": SimpleUploadedFile(name, content, content_type="text/csv"),
        "kind": "customers",
        "default_country": "",
        "source_channel": "",
        **fields,
    }
    return client.post(reverse("import-start"), data)


def mapping_post(client, mapping: dict[str, str], *, header=HEADER, **fields):
    data = {f"column_{index}": mapping[column] for index, column in enumerate(header)}
    return client.post(reverse("import-mapping"), {**data, **fields})


def initial_mapping(response, header=HEADER) -> dict[str, str]:
    form = response.context["form"]
    return {column: form[f"column_{index}"].value() for index, column in enumerate(header)}


def draft_files(media) -> list[str]:
    folder = media / "import-drafts"
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


URL_CASES = [
    ("import-list", [], "/customers/imports/"),
    ("import-start", [], "/customers/imports/new/"),
    ("import-mapping", [], "/customers/imports/new/mapping/"),
    ("import-preview", [], "/customers/imports/new/preview/"),
    ("import-cancel", [], "/customers/imports/new/cancel/"),
    ("import-detail", [7], "/customers/imports/7/"),
    ("import-progress", [7], "/customers/imports/7/progress/"),
    ("import-report", [7], "/customers/imports/7/report.csv"),
]


@pytest.mark.parametrize(("name", "args", "path"), URL_CASES, ids=[c[0] for c in URL_CASES])
def test_url_names_lead_to_the_staff_pages(name, args, path):
    # The REST API's router names its routes "import-list", "import-detail", "import-report"
    # too; these names must still lead to the staff UI.
    assert reverse(name, args=args) == path


def test_wizard_imports_the_file_with_the_adjusted_mapping(
    marketer_a, steward, team_a, verified_client, media, django_capture_on_commit_callbacks
):
    # Given a marketer of team A in the wizard
    client = verified_client(marketer_a)
    assert client.get(reverse("import-start")).status_code == 200

    # When the file is uploaded
    response = upload(client, THREE_ROWS, team=team_a.pk, default_country="United Kingdom")

    # Then it is kept under a generated name, and the choices in the session
    assert response.status_code == 302
    assert response["Location"] == reverse("import-mapping")
    [stored] = draft_files(media)
    assert re.fullmatch(r"[0-9a-f]{32}\.csv", stored)
    # sealed: the bytes on disk are not the file, reading it back through the keys gives it
    assert THREE_ROWS[:40] not in (media / "import-drafts" / stored).read_bytes()
    with import_file_open(default_storage, f"import-drafts/{stored}") as handle:
        assert handle.read() == THREE_ROWS
    draft = client.session[DRAFT_SESSION_KEY]
    assert (draft["original_filename"], draft["team_id"], draft["default_country"]) == (
        "customers.csv",
        team_a.pk,
        "GB",
    )

    # When the columns page is shown, then each column has the suggestion from its name
    response = client.get(reverse("import-mapping"))
    assert response.status_code == 200
    assert initial_mapping(response) == SUGGESTED

    # When the person adjusts the mapping, then the preview follows
    response = mapping_post(client, ADJUSTED)
    assert response.status_code == 302
    assert response["Location"] == reverse("import-preview")

    response = client.get(reverse("import-preview"))
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [(row["line_number"], row["is_rejected"], row["rejection"]) for row in rows] == [
        (2, False, ""),
        (3, True, "invalid email and no other identifier"),
        (4, False, ""),
    ]
    assert [row["warnings"] for row in rows] == [[], [], ["Birth date: unparseable date"]]
    assert [column["key"] for column in response.context["columns"]] == [
        "given_name",
        "family_name",
        "email",
        "phone",
        "external_ids",
        "birth_date",
        "notes",
        "source",
    ]
    assert ImportJob.objects.count() == 0

    # When the import is confirmed
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("import-preview"), {"action": "import"})

    # Then the job holds the adjusted mapping, its run is queued, and the draft is gone
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("import-detail", args=[job.pk])
    assert len(callbacks) == 1
    assert (job.owner_team, job.created_by, job.kind, job.is_dry_run) == (
        team_a,
        marketer_a,
        "customers",
        False,
    )
    assert job.mapping == ADJUSTED
    assert job.options == {"default_country": "GB", "date_order": "auto"}
    assert job.original_filename == "customers.csv"
    assert job.file.name != "customers.csv"
    assert draft_files(media) == []
    assert DRAFT_SESSION_KEY not in client.session

    # When the worker runs it
    import_job_run(job_id=job.pk)

    # Then the progress partial shows 100 % and the counts, and stops polling
    response = client.get(reverse("import-progress", args=[job.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'max="100" value="100"' in html
    assert "hx-trigger" not in html
    counts = dict(re.findall(r'data-count="(\w+)">([\d,]+)<', html))
    assert counts == {
        "created": "2",
        "updated": "0",
        "merged": "0",
        "unchanged": "0",
        "rejected": "1",
        "warnings": "1",
    }
    assert [row.line_number for row in response.context["problem_rows"]] == [3, 4]
    # ...without the row report, an export of personal data the marketer may not take away
    assert reverse("import-report", args=[job.pk]) not in html
    assert client.get(reverse("import-report", args=[job.pk])).status_code == 404
    client.logout()

    # And the row report, for a data steward of the team, says what happened to each line
    response = verified_client(steward).get(reverse("import-report", args=[job.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    ada, alan = (ImportRow.objects.get(job=job, line_number=line).customer_id for line in (2, 4))
    assert report_lines(response) == [
        "line,outcome,warnings,reason,customer",
        f"2,created,,,{ada}",
        "3,rejected,,invalid email and no other identifier,",
        f"4,created,unparseable date,,{alan}",
    ]
    assert Customer.objects.filter(owner_team=team_a).count() == 2
    download = AuditEntry.objects.get(action="import.report_download")
    assert (download.actor, download.metadata) == (steward, {"row_count": 3})


def test_progress_polls_every_two_seconds_until_the_import_has_finished(
    marketer_a, steward, team_a, verified_client, run_import, django_capture_on_commit_callbacks
):
    # Given an import that no worker has started, followed by a data steward of the team
    with django_capture_on_commit_callbacks(execute=False):
        job = import_job_create(
            user=marketer_a, team=team_a, upload=SimpleUploadedFile("a.csv", THREE_ROWS)
        )
    client = verified_client(steward)

    # When its page is shown
    response = client.get(reverse("import-detail", args=[job.pk]))

    # Then the progress section asks for itself every two seconds
    html = response.content.decode()
    assert response.status_code == 200
    assert f'hx-get="{reverse("import-progress", args=[job.pk])}" hx-trigger="every 2s"' in html
    assert 'max="100" value="0"' in html
    assert "Download row report" not in html

    # When the job finishes, the partial comes back without the trigger
    import_job_run(job_id=job.pk)
    html = client.get(reverse("import-progress", args=[job.pk])).content.decode()
    assert "hx-trigger" not in html
    assert "Download row report" in html


def test_failed_import_shows_its_error(marketer_a, team_a, verified_client, run_import):
    # Given an import that failed
    job = run_import(marketer_a, team_a, THREE_ROWS)
    ImportJob.objects.filter(pk=job.pk).update(status="failed", error="OSError: disk full")

    # When its page is shown, then the error is there and nothing polls
    html = verified_client(marketer_a).get(reverse("import-detail", args=[job.pk])).content
    assert b"The import stopped with an error." in html
    assert b"OSError: disk full" in html
    assert b"hx-trigger" not in html


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (
            b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00binary",
            "This looks like a binary file (a spreadsheet?), not CSV text.",
        ),
        (
            b"ada@example.com,+4915112345678\nbob@example.com,+4915112345679\n",
            "The first line looks like data, not column names. Add a header line.",
        ),
        (b"\nemail\nada@example.com\n", "The first line must name the columns; it is empty."),
    ],
    ids=["empty", "binary", "no-header", "blank-first-line"],
)
def test_upload_refuses_a_file_that_cannot_be_imported(
    marketer_a, verified_client, media, content, message
):
    # Given a marketer in step 1
    client = verified_client(marketer_a)

    # When the file is uploaded
    response = upload(client, content)

    # Then the form says why, and nothing is kept
    assert response.status_code == 200
    assert response.context["form"].errors == {"file": [message]}
    assert message in response.content.decode()
    assert draft_files(media) == []
    assert DRAFT_SESSION_KEY not in client.session


TEN_MB_HEADER = b"Mail,Remarks" + b"x" * 10 * 1024 * 1024 + b"\nada@example.com,first\n"
LONG_FIRST_LINE = (
    "The first line does not end within its first 64 KB: it is too long, or a quote in it is "
    "not closed. The first line must name the columns."
)


def test_upload_refuses_a_ten_megabyte_header_line(marketer_a, verified_client, media):
    # Given a marketer in step 1, when a file whose first line is 10 MB long is uploaded
    client = verified_client(marketer_a)
    response = upload(client, TEN_MB_HEADER)

    # Then the form says why, and nothing is kept
    assert response.status_code == 200
    assert response.context["form"].errors == {"file": [LONG_FIRST_LINE]}
    assert draft_files(media) == []


@pytest.mark.parametrize("url_name", ["import-mapping", "import-preview"])
def test_a_draft_that_fails_the_check_goes_back_to_step_one_with_the_reason(
    marketer_a, verified_client, media, url_name
):
    # Given a draft whose file has a 10 MB first line (kept before the check was made)
    client = verified_client(marketer_a)
    upload(client, THREE_ROWS)
    mapping_post(client, ADJUSTED)
    [name] = draft_files(media)
    (media / "import-drafts" / name).write_bytes(TEN_MB_HEADER)

    # When a later step is shown
    response = client.get(reverse(url_name), follow=True)

    # Then it is step one again, saying why, and the draft is gone
    assert response.redirect_chain == [(reverse("import-start"), 302)]
    assert [str(message) for message in response.context["messages"]] == [LONG_FIRST_LINE]
    assert draft_files(media) == []


def test_upload_without_a_file_asks_for_one(marketer_a, verified_client):
    response = verified_client(marketer_a).post(reverse("import-start"), {"kind": "customers"})
    assert response.context["form"].errors == {"file": ["Choose a CSV file to upload."]}


@pytest.mark.parametrize("kind", ["purchases", "events"])
def test_upload_refuses_kinds_the_importer_cannot_read_yet(marketer_a, verified_client, kind):
    # Given the kinds are listed, disabled
    client = verified_client(marketer_a)
    html = client.get(reverse("import-start")).content.decode()
    assert re.search(rf'<option value="{kind}" disabled>', html)

    # When a request asks for one anyway, then it is refused
    response = upload(client, THREE_ROWS, kind=kind)
    assert response.context["form"].errors == {
        "kind": [
            "Only customer files can be imported for now; purchases and events are coming with "
            "purchase import."
        ]
    }


def test_upload_refuses_an_unknown_default_country(marketer_a, verified_client):
    response = upload(verified_client(marketer_a), THREE_ROWS, default_country="Atlantis")
    assert response.context["form"].errors == {
        "default_country": [
            "“Atlantis” is not a country we know. Use a two-letter code such as CN or US."
        ]
    }


def test_team_is_chosen_among_the_users_teams_only(
    make_user, team_a, team_b, verified_client, media
):
    # Given a marketer of team A only, and one of both teams
    single = make_user(roles.MARKETER, team_a)
    both = make_user(roles.MARKETER, team_a, team_b)

    # Then the single-team user gets no choice, the other a select of their two teams
    html = verified_client(single).get(reverse("import-start")).content.decode()
    assert f'<input type="hidden" name="team" value="{team_a.pk}"' in html
    client = verified_client(both)
    form = client.get(reverse("import-start")).context["form"]
    assert list(form.fields["team"].queryset) == [team_a, team_b]

    # When a team the user is not in is posted, then it is refused
    team_c = TeamFactory(group__name="Team C")
    response = upload(client, THREE_ROWS, team=team_c.pk)
    assert response.context["form"].errors == {"team": ["Choose one of your teams."]}
    assert draft_files(media) == []


def test_a_marketer_without_a_team_is_told_why_nothing_can_be_imported(
    make_user, verified_client, media
):
    response = upload(verified_client(make_user(roles.MARKETER)), THREE_ROWS)
    assert response.context["form"].errors == {
        "team": [
            "You are not in any team, so there is no team to own the customers. Ask an "
            "administrator to add you to one."
        ]
    }
    assert draft_files(media) == []


def test_mapping_without_an_identifier_is_refused(marketer_a, verified_client):
    # Given a file in step 2
    client = verified_client(marketer_a)
    upload(client, THREE_ROWS)

    # When only names and dates are mapped
    response = mapping_post(
        client, {**SUGGESTED, "Mail": "", "Mobile": "", "Kundennummer": "", "Remarks": ""}
    )

    # Then the page explains it and the draft has no mapping yet
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "Map at least one identifier column: email, phone or external id. Customers are "
        "recognised by these; a row without any is rejected."
    ]
    assert client.session[DRAFT_SESSION_KEY]["mapping"] is None
    assert client.get(reverse("import-preview"))["Location"] == reverse("import-mapping")


def test_mapping_a_field_twice_is_refused(marketer_a, verified_client):
    client = verified_client(marketer_a)
    upload(client, THREE_ROWS)

    response = mapping_post(client, {**ADJUSTED, "Remarks": "email"})

    form = response.context["form"]
    assert form.non_field_errors() == [
        "Email is chosen for more than one column (“Mail”, “Remarks”). Choose it for one "
        "column and set the others to (ignore)."
    ]
    assert form.errors["column_0"] == form.errors["column_6"] == ["Chosen for another column too."]
    assert client.session[DRAFT_SESSION_KEY]["mapping"] is None


def test_every_canonical_field_can_be_chosen(marketer_a, verified_client):
    client = verified_client(marketer_a)
    upload(client, THREE_ROWS)
    form = client.get(reverse("import-mapping")).context["form"]
    assert [value for value, _label in form.fields["column_0"].choices] == [
        "",
        *HEADER_SYNONYMS,
    ]


def test_template_saved_in_step_two_is_offered_next_time(marketer_a, team_a, verified_client):
    # Given a mapping saved as a template in step 2
    client = verified_client(marketer_a)
    upload(client, THREE_ROWS)
    mapping_post(client, ADJUSTED, template_name="  Shop   export ")
    template = ImportTemplate.objects.get()
    assert (template.owner_team, template.name, template.kind, template.mapping) == (
        team_a,
        "Shop export",
        "customers",
        ADJUSTED,
    )
    assert AuditEntry.objects.filter(action="import_template.save").count() == 1

    # When the next file of that shape reaches step 2
    client.post(reverse("import-cancel"))
    upload(client, THREE_ROWS, name="next-week.csv")
    response = client.get(reverse("import-mapping"))

    # Then the template is offered, and applying it fills in its columns
    assert list(response.context["template_form"].fields["template"].queryset) == [template]
    assert initial_mapping(response) == SUGGESTED
    response = client.get(reverse("import-mapping"), {"template": template.pk})
    assert initial_mapping(response) == ADJUSTED
    assert "Template “Shop export” applied." in response.content.decode()


def test_templates_of_other_teams_are_not_offered(marketer_a, team_b, verified_client, make_user):
    # Given a template of team B
    other = ImportTemplate.objects.create(owner_team=team_b, name="B's", mapping=ADJUSTED)
    client = verified_client(marketer_a)
    upload(client, THREE_ROWS)

    # Then team A's marketer is not offered it, and cannot apply it by its id
    response = client.get(reverse("import-mapping"), {"template": other.pk})
    assert list(response.context["template_form"].fields["template"].queryset) == []
    assert response.context["template_form"].errors == {
        "template": ["That template is not available."]
    }
    assert initial_mapping(response) == SUGGESTED


def test_preview_masks_contact_details_without_the_personal_data_permission(
    marketer_a, administrator_a, verified_client
):
    def first_row(user):
        client = verified_client(user)
        upload(client, THREE_ROWS, default_country="GB")
        mapping_post(client, ADJUSTED)
        response = client.get(reverse("import-preview"))
        client.logout()
        return {cell["key"]: cell["value"] for cell in response.context["rows"][0]["cells"]}

    assert first_row(marketer_a) == {
        "given_name": "A•••",
        "family_name": "L•••",
        "email": "a•••@example.com",
        "phone": "+44•••58",
        "external_ids": "import: K-1",
        "birth_date": "•••",
        "notes": "•••",
        "source": "import",
    }
    assert first_row(administrator_a) == {
        "given_name": "Ada",
        "family_name": "Lovelace",
        "email": "ada@example.com",
        "phone": "+442079460958",
        "external_ids": "import: K-1",
        "birth_date": "1985-12-10",
        "notes": "first customer",
        "source": "import",
    }


def test_messy_file_preview_numbers_rows_by_their_line_in_the_file(
    marketer_a, verified_client, messy_csv
):
    # Given the multi-channel export, whose notes hold line breaks inside quotes
    client = verified_client(marketer_a)
    upload(client, messy_csv, name="customers_messy.csv")
    response = client.get(reverse("import-mapping"))
    header = response.context["form"].header
    assert initial_mapping(response, header) == {column: column for column in header}
    mapping_post(client, {column: column for column in header}, header=header)

    # When the preview is shown
    response = client.get(reverse("import-preview"))

    # Then the first ten data rows carry the line on which each starts (the header is line 1)
    assert [row["line_number"] for row in response.context["rows"]] == [
        2,
        4,
        5,
        6,
        7,
        9,
        10,
        11,
        13,
        14,
    ]
    html = response.content.decode()
    assert '<tr class="" data-line="2">' in html
    assert 'data-line="3"' not in html


def test_dry_run_reports_without_saving_customers(
    marketer_a, team_a, verified_client, django_capture_on_commit_callbacks
):
    # Given the wizard with "dry run" ticked in step 1
    client = verified_client(marketer_a)
    upload(client, THREE_ROWS, is_dry_run="on")
    mapping_post(client, ADJUSTED)
    html = client.get(reverse("import-preview")).content.decode()
    assert '<button type="submit" name="action" value="dry-run" class="primary">' in html

    # When the dry run is confirmed and run
    with django_capture_on_commit_callbacks(execute=False):
        client.post(reverse("import-preview"), {"action": "dry-run"})
    job = ImportJob.objects.get()
    import_job_run(job_id=job.pk)

    # Then the counts are there but no customer
    job.refresh_from_db()
    assert (job.is_dry_run, job.created_count, job.rejected_count) == (True, 2, 1)
    assert Customer.objects.count() == 0


def test_cancel_deletes_the_draft(marketer_a, verified_client, media):
    client = verified_client(marketer_a)
    upload(client, THREE_ROWS)
    assert len(draft_files(media)) == 1

    response = client.post(reverse("import-cancel"))

    assert response["Location"] == reverse("import-list")
    assert draft_files(media) == []
    assert DRAFT_SESSION_KEY not in client.session


def test_a_new_upload_replaces_the_previous_draft(marketer_a, verified_client, media):
    client = verified_client(marketer_a)
    upload(client, THREE_ROWS)
    [first] = draft_files(media)

    upload(client, THREE_ROWS, name="again.csv")

    [second] = draft_files(media)
    assert second != first
    assert client.session[DRAFT_SESSION_KEY]["original_filename"] == "again.csv"


@pytest.mark.parametrize("url_name", ["import-mapping", "import-preview"])
def test_later_steps_without_an_upload_go_back_to_step_one(marketer_a, verified_client, url_name):
    response = verified_client(marketer_a).get(reverse(url_name))
    assert response.status_code == 302
    assert response["Location"] == reverse("import-start")


@pytest.mark.parametrize("url_name", WIZARD_URLS)
def test_wizard_is_not_found_without_the_permission_to_import(analyst_a, verified_client, url_name):
    # Given an analyst (may view imports, may not start one)
    client = verified_client(analyst_a)

    # Then every wizard page is missing, and an upload changes nothing
    assert client.get(reverse(url_name)).status_code == 404
    assert client.post(reverse(url_name), {"action": "import"}).status_code == 404
    assert upload(client, THREE_ROWS).status_code == 404
    assert client.post(reverse("import-cancel")).status_code == 404
    assert ImportJob.objects.count() == 0
    assert DRAFT_SESSION_KEY not in client.session


def test_anonymous_visitors_are_sent_to_sign_in(client, marketer_a, team_a, run_import):
    job = run_import(marketer_a, team_a, THREE_ROWS)
    for url in [
        reverse("import-list"),
        reverse("import-start"),
        reverse("import-detail", args=[job.pk]),
        reverse("import-report", args=[job.pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    assert upload(client, THREE_ROWS).status_code == 302
    assert ImportJob.objects.count() == 1


@pytest.mark.parametrize("url_name", ["import-detail", "import-progress", "import-report"])
def test_another_teams_import_is_not_found(
    make_user, team_a, team_b, marketer_a, verified_client, run_import, url_name
):
    # Given an import of team B
    job = run_import(make_user(roles.MARKETER, team_b), team_b, THREE_ROWS)

    # Then team A's marketer cannot reach it, nor a number that does not exist
    client = verified_client(marketer_a)
    assert client.get(reverse(url_name, args=[job.pk])).status_code == 404
    assert client.get(reverse(url_name, args=[job.pk + 1000])).status_code == 404
    assert AuditEntry.objects.filter(action="import.report_download").count() == 0


def test_analyst_follows_the_imports_of_their_team(
    analyst_a, marketer_a, team_a, verified_client, run_import
):
    job = run_import(marketer_a, team_a, THREE_ROWS)
    client = verified_client(analyst_a)

    list_html = client.get(reverse("import-list")).content.decode()
    assert reverse("import-detail", args=[job.pk]) in list_html
    assert reverse("import-start") not in list_html
    assert client.get(reverse("import-detail", args=[job.pk])).status_code == 200
    # The row report says which customer each line became: an export of personal data
    assert client.get(reverse("import-report", args=[job.pk])).status_code == 404


def test_list_shows_the_users_imports_newest_first_in_a_fixed_number_of_queries(
    marketer_a, team_a, team_b, make_user, verified_client, run_import
):
    # Given one import of team A, and one of team B
    first = run_import(marketer_a, team_a, THREE_ROWS, name="first.csv")
    run_import(make_user(roles.MARKETER, team_b), team_b, THREE_ROWS, name="other.csv")
    client = verified_client(marketer_a)
    with CaptureQueriesContext(connection) as one_job:
        client.get(reverse("import-list"))

    # When two more imports of team A exist
    second = run_import(marketer_a, team_a, THREE_ROWS, name="second.csv")
    third = run_import(marketer_a, team_a, THREE_ROWS, name="third.csv")
    with CaptureQueriesContext(connection) as three_jobs:
        response = client.get(reverse("import-list"))

    # Then the list shows team A's imports, newest first, for the same number of queries
    assert list(response.context["page"].object_list) == [third, second, first]
    assert len(three_jobs) == len(one_job)
    html = response.content.decode()
    assert "other.csv" not in html
    assert 'max="100" value="100"' in html


def test_empty_list_offers_to_start_an_import(marketer_a, verified_client):
    response = verified_client(marketer_a).get(reverse("import-list"))
    html = response.content.decode()
    assert "No imports yet" in html
    assert f'<a class="button" href="{reverse("import-start")}">Import a file</a>' in html


def test_chinese_headers_in_gbk_are_suggested_their_fields(marketer_a, verified_client):
    # Given a GBK file with Chinese column names
    content = "邮箱,手机号,姓名,城市\nwang@example.cn,13812345678,王小明,上海\n".encode("gb18030")
    client = verified_client(marketer_a)

    # When it is uploaded
    upload(client, content, name="会员.csv", default_country="CN")
    response = client.get(reverse("import-mapping"))

    # Then each column is suggested its field, and the preview reads the row (the name masked
    # whole for a marketer: no character of a Chinese name is shown)
    header = ["邮箱", "手机号", "姓名", "城市"]
    assert initial_mapping(response, header) == {
        "邮箱": "email",
        "手机号": "phone",
        "姓名": "full_name",
        "城市": "city",
    }
    mapping_post(client, initial_mapping(response, header), header=header)
    [row] = client.get(reverse("import-preview")).context["rows"]
    cells = {cell["key"]: cell["value"] for cell in row["cells"]}
    assert (row["line_number"], cells["given_name"], cells["family_name"], cells["city"]) == (
        2,
        "•••",
        "•••",
        "上海",
    )
