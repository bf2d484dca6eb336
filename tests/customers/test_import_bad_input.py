"""Bad files and bad rows get a clear message; nothing valid is lost."""

import codecs

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from customers.models import Customer, ImportJob, ImportRow
from privacy import roles
from tests.factories import api_token_for

HEADER = "email,phone,country,first_name,last_name,birth_date,company,notes\n"


@pytest.fixture
def api(make_user, team_a, django_capture_on_commit_callbacks):
    user = make_user(roles.MARKETER, team_a)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")
    return client


def upload(api, content: bytes, name="people.csv", **extra):
    return api.post(
        "/api/v1/imports/", {"file": SimpleUploadedFile(name, content), **extra}, format="multipart"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not CSV text"),
        (b"email\n" + b"\xff\xff\xff\x80" * 5, "not text in UTF-8, UTF-16 or GB18030"),
        (b"ann@example.com,+4915112345678\n", "looks like data, not column names"),
        (b"email,email\nann@example.com,x\n", "Column names must be unique"),
        (b"colour,size\nred,L\n", "Map at least one identifier column"),
    ],
    ids=["empty", "binary", "undecodable", "no-header", "repeated-header", "no-identifier"],
)
def test_unreadable_files_are_refused_with_a_reason(api, content, message):
    response = upload(api, content)
    assert response.status_code == 400
    assert message in str(response.json()["errors"])
    assert ImportJob.objects.count() == 0


def test_an_oversized_upload_is_refused_before_it_is_read(api):
    response = api.post(
        "/api/v1/imports/",
        data=b"x",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(2 * 1024**3),
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "file"
    assert "larger than the 512 MB limit" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "encoding", ["utf-8", "utf-8-sig", "utf-16", "gb18030"], ids=lambda name: name
)
def test_files_in_each_supported_encoding_import_alike(
    api, team_a, run_import, make_user, encoding
):
    text = "邮箱;手机;国家;姓名\nwang@example.com;13912345678;中国;王伟\n"
    job = run_import(make_user(roles.MARKETER, team_a), team_a, text.encode(encoding))
    assert (job.encoding, job.delimiter) == (
        {"utf-8-sig": "utf-8-sig", "utf-16": "utf-16"}.get(encoding, encoding),
        ";",
    )
    customer = Customer.objects.get()
    assert (customer.email, customer.phone, customer.country) == (
        "wang@example.com",
        "+8613912345678",
        "CN",
    )
    assert (customer.family_name, customer.given_name) == ("王", "伟")


def test_bad_rows_are_reported_by_line_and_good_rows_land(team_a, run_import, make_user):
    rows = [
        'ann@example.com,,DE,Ann,Lee,1985-03-07,=HYPERLINK("http://x"),',  # line 2: formula
        "no-email-here,,,Bob,Ray,,,",  # line 3: invalid email, no other id
        "cara@example.com,,US,Cara,Diaz,2091-01-01,,",  # line 4: future birth date
        "dan@example.com,,GB,Dan,Eve,,,card 4111 1111 1111 1111",  # line 5: card number
        "eve@example.com,,FR,Eve,Fox,,,,too,many",  # line 6: too many values
        "fay@example.com,+33 6 12 34 56 78,FR,Fay,Gil,07.03.1985,,",  # line 7: fine
    ]
    content = (HEADER + "\n".join(rows) + "\n").encode()
    job = run_import(make_user(roles.MARKETER, team_a), team_a, content)
    report = {
        row.line_number: (row.outcome, row.reason, row.warnings)
        for row in ImportRow.objects.filter(job=job)
    }
    assert report == {
        2: ("created", "", []),
        3: ("rejected", "invalid email and no other identifier", []),
        4: ("created", "", ["birth date in the future"]),
        5: ("created", "", ["payment card number in notes must not be stored"]),
        6: ("rejected", "10 values for 8 columns (too many)", []),
        7: ("created", "", []),
    }
    formula = Customer.objects.get(
        email_domain="example.com",
        given_name__isnull=False,
        pk=ImportRow.objects.get(job=job, line_number=2).customer_id,
    )
    assert formula.company == '=HYPERLINK("http://x")'  # stored verbatim, neutralised on export
    assert (
        Customer.objects.get(pk=ImportRow.objects.get(job=job, line_number=5).customer_id).notes
        is None
    )


def test_a_utf8_bom_is_not_part_of_the_first_header(team_a, run_import, make_user):
    content = codecs.BOM_UTF8 + b"email\nann@example.com\n"
    job = run_import(make_user(roles.MARKETER, team_a), team_a, content)
    assert job.mapping == {"email": "email"}
    assert job.created_count == 1
