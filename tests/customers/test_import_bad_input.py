"""Bad files and bad rows get a clear message; nothing valid is lost."""

import codecs
import io
import json

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from customers.models import Customer, ImportJob, ImportRow
from customers.normalisation import ambiguous_date_reason
from customers.services.csv_files import inspect_file, read_rows
from customers.tasks import import_job_run_task
from privacy.core import roles
from privacy.core.crypto import blind_index
from tests.factories import api_token_for

HEADER = "email,phone,country,first_name,last_name,birth_date,company,notes\n"
TEN_MB = 10 * 1024 * 1024
LONG_FIRST_LINE = "The first line does not end within its first 64 KB"


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
        (
            b"email\n" + b"\xff\xff\xff\x80" * 5,
            "Line 2 of the file is not text in UTF-8, UTF-16 or",
        ),
        (b"ann@example.com,+4915112345678\n", "looks like data, not column names"),
        (b"email,email\nann@example.com,x\n", "Column names must be unique"),
        (b"colour,size\nred,L\n", "Map at least one identifier column"),
        (b"email," + b"x" * TEN_MB + b"\nann@example.com,1\n", LONG_FIRST_LINE),
        (b"email," + b",".join(b"c%d" % n for n in range(TEN_MB // 8)) + b"\n", LONG_FIRST_LINE),
        (b'email,"notes\nann@example.com,1\n', LONG_FIRST_LINE),
        (b"email," + b"x" * 5_000 + b"\nann@example.com,1\n", "A column name is longer than 200"),
        (b"email," + b",".join(b"c%d" % n for n in range(300)) + b"\n", "301 columns; at most 200"),
    ],
    ids=[
        "empty",
        "binary",
        "undecodable",
        "no-header",
        "repeated-header",
        "no-identifier",
        "ten-megabyte-column-name",
        "ten-megabytes-of-columns",
        "unclosed-quote-in-header",
        "long-column-name",
        "too-many-columns",
    ],
)
def test_unreadable_files_are_refused_with_a_reason(api, content, message):
    response = upload(api, content)
    assert response.status_code == 400
    assert message in str(response.json()["errors"])
    assert ImportJob.objects.count() == 0


@pytest.mark.parametrize(
    ("kind", "content", "mapping", "column"),
    [
        pytest.param(
            "purchases",
            b"client,day,total,colour\nC-1,2024-01-05,10.00,red\n",
            {"client": "customer_external_id", "day": "occurred_at", "total": "amount"},
            "colour",
            id="purchases",
        ),
        pytest.param(
            "events",
            b"client,day,what,page\nC-1,2024-01-05,page_view,/pricing\n",
            {"client": "customer_external_id", "day": "occurred_at", "what": "type"},
            "page",
            id="events",
        ),
    ],
)
@pytest.mark.parametrize("target", ["shoe_size", "attributes.income", "properties.", "propertie.x"])
def test_an_activity_column_mapped_to_no_field_is_refused_naming_the_column(
    api, kind, content, mapping, column, target
):
    # Given a purchases or events file with one column mapped to something that is no field
    # When it is uploaded
    response = upload(api, content, kind=kind, mapping=json.dumps({**mapping, column: target}))

    # Then it is refused naming the column and the target, and no job is made
    assert response.status_code == 400, response.json()
    messages = [error["message"] for error in response.json()["errors"]]
    assert any(f"“{column}”" in message and f"“{target}”" in message for message in messages)
    assert ImportJob.objects.count() == 0


@pytest.mark.parametrize(
    ("kind", "content", "mapping"),
    [
        pytest.param(
            "purchases",
            b"client,day,total,ref,cur,n\nC-1,2024-01-05,10.00,O-1,EUR,2\n",
            {
                "client": "customer_external_id",
                "day": "occurred_at",
                "total": "amount",
                "ref": "order_reference",
                "cur": "currency",
                "n": "quantity",
            },
            id="purchases",
        ),
        pytest.param(
            "events",
            b"mail,day,what,page,id\nann@example.com,2024-01-05,page_view,/pricing,E-1\n",
            {
                "mail": "email",
                "day": "occurred_at",
                "what": "type",
                "page": "properties.path",
                "id": "client_id",
            },
            id="events",
        ),
    ],
)
def test_activity_columns_mapped_to_their_fields_are_accepted(api, kind, content, mapping):
    response = upload(api, content, kind=kind, mapping=json.dumps(mapping))
    assert response.status_code == 201, response.json()
    assert ImportJob.objects.get().mapping == mapping


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
        "fay@example.com,+33 6 12 34 56 78,FR,Fay,Gil,07.03.1985,,",  # line 7: 7 or 3 March
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
        7: ("created", "", [ambiguous_date_reason("birth_date", "day_first")]),
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


# --- Damaged rows in a large file ----------------------------------------------------------------
PEOPLE_HEADER = b"email,first_name,last_name,notes\n"
PEOPLE_ROWS = 4_400
CHUNK_SIZE = 2_000  # data lines 2-2001 are the first chunk, 2002-4001 the second


def people_file(damage: dict[int, bytes] | None = None, *, notes: dict[int, bytes] | None = None):
    """A customers file with one person per line from line 2; ``damage`` puts bytes into the
    given name of a line, ``notes`` replaces the (quoted) notes of a line."""
    damage, notes = damage or {}, notes or {}
    lines = [PEOPLE_HEADER]
    line = 2
    for number in range(PEOPLE_ROWS):
        given = b"Given%d%s" % (number, damage.get(line, b""))
        note = notes.get(line, b"")
        lines.append(b'person%d@example.com,%s,Family%d,"%s"\n' % (number, given, number, note))
        line += 1 + note.count(b"\n")
    return b"".join(lines)


def is_imported(line: int) -> bool:
    """Whether the person of ``line`` of ``people_file()`` (without quoted line breaks) landed."""
    key = blind_index(f"person{line - 2}@example.com", purpose="email")
    return Customer.objects.filter(identities__lookup_key=key, merged_into=None).exists()


def report(job) -> dict[int, tuple[str, str]]:
    """The rejected lines of ``job``'s report."""
    return {
        row.line_number: (row.outcome, row.reason)
        for row in ImportRow.objects.filter(job=job, outcome="rejected")
    }


@pytest.mark.parametrize(
    "line",
    [3000, CHUNK_SIZE + 1, CHUNK_SIZE + 2, 2 * CHUNK_SIZE + 2, PEOPLE_ROWS + 1],
    ids=["middle", "last-of-a-chunk", "first-of-a-chunk", "first-of-the-third-chunk", "last-line"],
)
def test_an_invalid_byte_sequence_rejects_its_line_only(team_a, run_import, make_user, line):
    # Given 4,400 people, one of whose lines holds bytes that are not UTF-8 (Latin-1 "é")
    content = people_file({line: b"\xe9"})

    # When the file is imported in chunks of 2,000 rows
    job = run_import(make_user(roles.MARKETER, team_a), team_a, content, chunk_size=CHUNK_SIZE)

    # Then that line alone is rejected, by its own number, and every other person is imported
    assert (job.status, job.total_rows, job.processed_rows) == ("succeeded", 4_400, 4_400)
    assert (job.created_count, job.rejected_count) == (4_399, 1)
    assert report(job) == {line: ("rejected", "not valid UTF-8 text (byte 0xE9)")}
    assert Customer.objects.active().count() == 4_399
    assert [is_imported(line + offset) for offset in (-1, 0, 1)] == [True, False, line < 4_401]


def test_a_damaged_line_near_the_start_is_rejected_alone_when_the_rest_is_text(
    team_a, run_import, make_user
):
    # Given an invalid byte on line 50, inside the part read to detect the encoding
    content = people_file({50: b"\xe9"})

    # When the file is imported, then it is read as UTF-8 and only line 50 is rejected
    job = run_import(make_user(roles.MARKETER, team_a), team_a, content, chunk_size=CHUNK_SIZE)
    assert (job.encoding, job.created_count) == ("utf-8", 4_399)
    assert report(job) == {50: ("rejected", "not valid UTF-8 text (byte 0xE9)")}


def test_a_job_whose_file_fails_the_check_records_the_reason_not_a_csv_error(team_a, make_user):
    # Given a job whose stored file has a 10 MB first line (stored before the check existed)
    job = ImportJob.objects.create(
        owner_team=team_a,
        created_by=make_user(roles.MARKETER, team_a),
        file=ContentFile(b"email," + b"x" * TEN_MB + b"\nann@example.com,1\n", name="big.csv"),
        mapping={"email": "email"},
    )

    # When the worker runs it
    import_job_run_task.apply(args=[job.pk])

    # Then it failed with the reason a person can act on, and nothing was imported
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.error == (
        "The first line does not end within its first 64 KB: it is too long, or a quote in it "
        "is not closed. The first line must name the columns."
    )
    assert Customer.objects.count() == 0


def test_lines_are_counted_across_quoted_line_breaks_up_to_the_invalid_bytes(
    team_a, run_import, make_user
):
    # Given notes with line breaks inside quotes before and at the damage: the row starting on
    # line 3002 has invalid bytes on its second line (3003)
    content = people_file(notes={10: b"two\nlines", 3002: b"first\nsecond \xff\xfe third"})

    # When it is imported
    job = run_import(make_user(roles.MARKETER, team_a), team_a, content, chunk_size=CHUNK_SIZE)

    # Then the report names the line the row starts on, and the line of the damage
    assert report(job) == {
        3002: ("rejected", "not valid UTF-8 text on line 3003 (bytes 0xFF 0xFE)")
    }
    assert (job.created_count, job.rejected_count, job.total_rows) == (4_399, 1, 4_400)


def test_a_nul_character_rejects_its_line_and_is_never_stored(team_a, run_import, make_user):
    # Given a NUL byte in a name, far enough into the file not to make it look binary
    content = people_file({3000: b"\x00x"})

    # When it is imported
    job = run_import(make_user(roles.MARKETER, team_a), team_a, content, chunk_size=CHUNK_SIZE)

    # Then the line is rejected with the column named, and no stored name holds a NUL
    assert report(job) == {3000: ("rejected", "“first_name” holds a NUL character")}
    assert job.created_count == 4_399
    assert not any("\x00" in (customer.given_name or "") for customer in Customer.objects.all())


def test_a_nul_character_in_a_utf16_file_rejects_its_line(team_a, run_import, make_user):
    text = "email,first_name\nann@example.com,An\x00n\nbob@example.com,Bob\n"
    job = run_import(make_user(roles.MARKETER, team_a), team_a, text.encode("utf-16"))
    assert report(job) == {2: ("rejected", "“first_name” holds a NUL character")}
    assert list(Customer.objects.values_list("given_name", flat=True)) == ["Bob"]


def test_an_unclosed_quote_rejects_its_line_and_the_lines_after_it_are_read(
    team_a, run_import, make_user
):
    # Given a quote opened and never closed: on line 6 of a large file (whose later notes are
    # "", an escaped quote inside the open one), and on line 4 of a small one
    large = people_file(notes={6: b'open",'})
    small = PEOPLE_HEADER + b"".join(
        b"p%d@example.com,%sGiven%d,Family%d,\n" % (line, b'"' if line == 4 else b"", line, line)
        for line in range(2, 12)
    )
    user = make_user(roles.MARKETER, team_a)

    # When both are imported
    large_job = run_import(user, team_a, large, chunk_size=CHUNK_SIZE)
    small_job = run_import(user, team_a, small)

    # Then only the line with the quote is rejected; the lines after it are imported
    reason = (
        "a quoted value that starts on this line is not closed or longer than 10,000 characters"
    )
    assert report(large_job) == {6: ("rejected", reason)}
    assert (large_job.created_count, large_job.total_rows) == (4_399, 4_400)
    assert report(small_job) == {4: ("rejected", reason)}
    assert (small_job.created_count, small_job.total_rows) == (9, 10)


def test_importing_a_damaged_file_again_changes_nothing(team_a, run_import, make_user):
    # Given a damaged file imported once
    user = make_user(roles.MARKETER, team_a)
    content = people_file({3000: b"\xe9"})
    run_import(user, team_a, content, chunk_size=CHUNK_SIZE)

    # When it is imported again
    again = run_import(user, team_a, content, chunk_size=CHUNK_SIZE)

    # Then nothing changes and the same line is reported
    assert (again.created_count, again.unchanged_count, again.rejected_count) == (0, 4_399, 1)
    assert report(again) == {3000: ("rejected", "not valid UTF-8 text (byte 0xE9)")}
    assert Customer.objects.active().count() == 4_399


def test_reading_resumes_at_any_line_as_if_it_had_not_stopped():
    # Given a damaged file with quoted line breaks and an unclosed quote
    content = people_file({2001: b"\xe9", 2003: b"\x00"}, notes={1990: b"a\nb", 2005: b'open",'})
    shape = inspect_file(io.BytesIO(content))
    everything = list(read_rows(io.BytesIO(content), shape))

    # When reading starts at each line around the damage (as a resumed import does)
    for start in range(1985, 2015):
        resumed = list(read_rows(io.BytesIO(content), shape, start_line=start))

        # Then it yields exactly the rows of a full reading from that line on
        assert resumed == [row for row in everything if row.line_number >= start]
    assert [row.line_number for row in everything if row.values is None] == [2001, 2003, 2005]
