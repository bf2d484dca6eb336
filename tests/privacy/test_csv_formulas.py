"""CSV formula injection: every CSV the application writes neutralises formula-like cells, also
where the formula character is a compatibility form (full-width, small, superscript) that
Unicode NFKC normalisation turns into ``= + - @`` (privacy.core.exports)."""

import csv
import io
import sys
import unicodedata

import pytest
from rest_framework.test import APIClient

from customers.models import ImportJob, ImportRow, ImportStatus, RowOutcome
from privacy.core.exports import FORMULA_LOOKALIKES, csv_safe
from privacy.core.services.audit import audit_record
from tests.customers.factories import CustomerFactory
from tests.factories import api_token_for

FULLWIDTH_FORMULA = '\uff1dHYPERLINK("http://evil.example")'  # full-width equals sign


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("\uff1d1+1", "'\uff1d1+1"),  # FULLWIDTH EQUALS SIGN
        ("\ufe661+1", "'\ufe661+1"),  # SMALL EQUALS SIGN
        ("\u207c1", "'\u207c1"),  # SUPERSCRIPT EQUALS SIGN
        ("\u2a75", "'\u2a75"),  # TWO CONSECUTIVE EQUALS SIGNS
        ("\uff0bSUM(A1)", "'\uff0bSUM(A1)"),  # FULLWIDTH PLUS SIGN
        ("\uff0d2", "'\uff0d2"),  # FULLWIDTH HYPHEN-MINUS
        ("\ufe63 2", "'\ufe63 2"),  # SMALL HYPHEN-MINUS
        ("\uff20cmd", "'\uff20cmd"),  # FULLWIDTH COMMERCIAL AT
        ("\ufe6bcmd", "'\ufe6bcmd"),  # SMALL COMMERCIAL AT
        ("=\u0338", "'=\u0338"),  # "=" that NFKC composes into "≠": a formula as written
        ("\tTAB", "'\tTAB"),
        ("\rCR", "'\rCR"),
        ("王秀英", "王秀英"),
        ("\uff21nn", "\uff21nn"),  # FULLWIDTH LATIN CAPITAL LETTER A: no formula
        ("1+1", "1+1"),
        ("", ""),
        (None, ""),
        (42, "42"),
    ],
)
def test_a_cell_is_neutralised_after_nfkc_normalisation_keeping_its_text(value, cell):
    assert csv_safe(value) == cell


def test_the_lookalike_list_is_every_character_nfkc_turns_into_a_formula_start():
    starts = ("=", "+", "-", "@", "\t", "\r")
    expected = "".join(
        character
        for character in map(chr, range(sys.maxunicode + 1))
        if not character.startswith(starts)
        and not 0xD800 <= ord(character) <= 0xDFFF
        and unicodedata.normalize("NFKC", character).startswith(starts)
    )
    assert expected == FORMULA_LOOKALIKES


def streamed_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.content
    content = b"".join(response.streaming_content).decode("utf-8")
    assert content.startswith("\ufeff")
    return list(csv.reader(io.StringIO(content.removeprefix("\ufeff"))))


def rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.content
    content = response.content.decode("utf-8")
    assert content.startswith("\ufeff")
    return list(csv.reader(io.StringIO(content.removeprefix("\ufeff"))))


def test_the_customer_export_neutralises_a_full_width_formula(verified_client, steward, team_a):
    CustomerFactory(owner_team=team_a, company=FULLWIDTH_FORMULA, city="\uff20home")

    header, row = streamed_rows(verified_client(steward).get("/customers/export/"))

    cells = dict(zip(header, row, strict=True))
    assert (cells["company"], cells["city"]) == (f"'{FULLWIDTH_FORMULA}", "'\uff20home")


def test_the_audit_export_neutralises_a_full_width_formula(verified_client, steward):
    audit_record(action="customer.update", actor=steward, object_id=FULLWIDTH_FORMULA)

    header, *lines = streamed_rows(verified_client(steward).get("/privacy/audit/export/"))

    object_ids = [dict(zip(header, line, strict=True))["object_id"] for line in lines]
    assert f"'{FULLWIDTH_FORMULA}" in object_ids
    assert FULLWIDTH_FORMULA not in object_ids


@pytest.fixture
def import_job(team_a, marketer_a):
    job = ImportJob.objects.create(
        owner_team=team_a,
        created_by=marketer_a,
        file="imports/formulas.csv",
        original_filename="formulas.csv",
        status=ImportStatus.SUCCEEDED,
    )
    ImportRow.objects.create(
        job=job,
        line_number=2,
        outcome=RowOutcome.REJECTED,
        reason=FULLWIDTH_FORMULA,
        warnings=["\uff0d1 in the city"],
    )
    return job


def test_the_import_report_neutralises_full_width_formulas_in_the_ui_and_the_api(
    verified_client, steward, import_job
):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(steward)}")

    for response in (
        verified_client(steward).get(f"/customers/imports/{import_job.pk}/report.csv"),
        api.get(f"/api/v1/imports/{import_job.pk}/report/"),
    ):
        assert streamed_rows(response) == [
            ["line", "outcome", "warnings", "reason", "customer"],
            ["2", "rejected", "'\uff0d1 in the city", f"'{FULLWIDTH_FORMULA}", ""],
        ]
