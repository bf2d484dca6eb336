"""The access package: one ZIP with data.json (valid against schema.json), a CSV per category
safe to open in a spreadsheet, the Art. 15 information, nothing of anyone else, and a constant
number of queries."""

import csv
import datetime
import io
import json
import zipfile
from decimal import Decimal

import jsonschema
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.models import Event, ImportJob, ImportRow, RowOutcome
from customers.services.merge import customer_merge
from privacy.consent.services.records import consent_record
from privacy.core.exports import csv_safe
from privacy.erasure.services.erasure import subject_erase
from privacy.models import AuditEntry
from privacy.requests.package.writer import PackageSummary, subject_package_write
from tests.customers.factories import (
    CustomerFactory,
    EventFactory,
    ExternalIdentityFactory,
    PurchaseFactory,
)

CATEGORIES = [
    "profile",
    "identities",
    "attributes",
    "tags",
    "events",
    "purchases",
    "merge_history",
    "import_history",
    "consent_history",
]
EMAIL = "wang.xiuying@example.cn"
OTHER_EMAIL = "otto.other@example.com"
EVIDENCE = {"ip_address": "203.0.113.9", "user_agent": "Mozilla/5.0 (test)", "form": "signup"}


@pytest.fixture
def person(team_a):
    """A customer with something in every category, and an older profile merged into it."""
    customer = CustomerFactory(
        owner_team=team_a,
        email=EMAIL,
        phone="+8613800138000",
        given_name="秀英",
        family_name="王",
        postal_address="1 Example Road, Shanghai",
        postal_code="200000",
        country="CN",
        city="Shanghai",
        birth_date=datetime.date(1985, 3, 7),
        notes="Prefers calls after 6 pm",
        company="Old Tea Co",
        tags=["vip", "=cmd|' /C calc'!A0"],
        attributes={"favourite_tea": "oolong", "shoe_size": 38, "nickname": "@xiu"},
        provenance={"city": ["crm", "2026-01-02T03:04:05+00:00"]},
    )
    ExternalIdentityFactory(customer=customer, channel="wechat", lookup_key="wx-xiuying")
    EventFactory(customer=customer, type="page_view", properties={"path": "/pricing"})
    EventFactory(customer=customer, type="store_visit", source="store")
    PurchaseFactory(
        customer=customer,
        amount=Decimal("129.50"),
        items=[{"sku": "TEA-1", "quantity": 2}],
        quantity=2,
    )
    consent_record(
        customer=customer,
        purpose_code="email_marketing",
        channel="email",
        status="granted",
        source="form",
        evidence=EVIDENCE,
    )
    older = CustomerFactory(
        owner_team=team_a,
        email=None,
        phone=None,
        given_name=None,
        family_name=None,
        country="",
        city="",
        company="New Tea Co",
    )
    EventFactory(customer=older, type="sign_up")
    customer_merge(survivor=customer, merged=older, reason="staff")
    job = ImportJob.objects.create(
        owner_team=team_a,
        kind="customers",
        file="imports/seed.csv",
        original_filename="crm_export.csv",
        status="succeeded",
    )
    ImportRow.objects.create(job=job, line_number=2, outcome=RowOutcome.CREATED, customer=customer)
    named = ImportJob.objects.create(
        owner_team=team_a,
        kind="customers",
        file="imports/named.csv",
        original_filename="otto.other@example.com-leads.csv",
        status="succeeded",
    )
    ImportRow.objects.create(
        job=named,
        line_number=7,
        outcome=RowOutcome.UPDATED,
        customer=customer,
        warnings=["birth date in the future"],
    )
    customer.refresh_from_db()
    return customer


@pytest.fixture
def stranger(team_b):
    """Another team's customer, with data of every kind."""
    other = CustomerFactory(owner_team=team_b, email=OTHER_EMAIL, tags=["stranger-tag"])
    EventFactory(customer=other, type="stranger_event")
    PurchaseFactory(customer=other, order_reference="STRANGER-1")
    consent_record(
        customer=other, purpose_code="sms_marketing", channel="sms", status="granted", source="api"
    )
    return other


def package(team, customer_ids, **options) -> tuple[PackageSummary, zipfile.ZipFile, bytes]:
    buffer = io.BytesIO()
    summary = subject_package_write(team=team, customer_ids=customer_ids, fileobj=buffer, **options)
    content = buffer.getvalue()
    return summary, zipfile.ZipFile(io.BytesIO(content)), content


def read_json(archive: zipfile.ZipFile, name: str):
    return json.loads(archive.read(name).decode())


def read_csv(archive: zipfile.ZipFile, name: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(archive.read(name).decode("utf-8-sig"), newline="")))


def all_text(archive: zipfile.ZipFile) -> str:
    return "\n".join(archive.read(name).decode("utf-8-sig") for name in archive.namelist())


def test_the_package_holds_every_category_as_json_valid_against_its_schema_and_as_csv(
    person, team_a
):
    # When the package of the person is written
    summary, archive, content = package(team_a, [person.pk], request_reference="request-42")

    # Then it has data, schema, information, a text and one CSV per category
    assert sorted(archive.namelist()) == sorted(
        ["data.json", "schema.json", "information.json", "README.txt"]
        + [f"{name}.csv" for name in CATEGORIES]
    )
    assert archive.testzip() is None
    assert summary.bytes_written == len(content)
    assert summary.customer_ids == sorted([person.pk, person.merged_customers.get().pk])

    # And data.json is valid against schema.json, itself a valid draft 2020-12 schema
    data, schema = read_json(archive, "data.json"), read_json(archive, "schema.json")
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(data)
    assert data["format"] == "marketbase-subject-export"
    assert data["version"] == 1
    assert data["team"] == team_a.slug
    assert data["request_reference"] == "request-42"
    assert list(data["categories"]) == CATEGORIES

    # And every category and column is described
    for name in CATEGORIES:
        described = schema["properties"]["categories"]["properties"][name]
        assert described["description"]
        assert all(column["description"] for column in described["items"]["properties"].values())

    # And the counts are the rows: two profiles (the survivor and the merged one), email, phone
    # and WeChat identities of the survivor, three attributes, two tags,
    # three events (one moved over by the merge), one purchase, one merge, two import lines and
    # the consent event
    expected = {
        "profile": 2,
        "identities": 3,
        "attributes": 3,
        "tags": 2,
        "events": 3,
        "purchases": 1,
        "merge_history": 1,
        "import_history": 2,
        "consent_history": 1,
    }
    assert summary.counts == expected
    assert {name: len(rows) for name, rows in data["categories"].items()} == expected

    # And each CSV has its header and the same rows
    for name in CATEGORIES:
        rows = read_csv(archive, f"{name}.csv")
        assert rows[0] == list(
            schema["properties"]["categories"]["properties"][name]["items"]["properties"]
        )
        assert len(rows) - 1 == expected[name], name


def test_personal_values_are_decrypted_in_json_and_csv(person, team_a):
    _summary, archive, _content = package(team_a, [person.pk])
    data = read_json(archive, "data.json")["categories"]

    profile = next(row for row in data["profile"] if row["id"] == person.pk)
    assert profile["email"] == EMAIL
    assert profile["given_name"] == "秀英"
    assert profile["family_name"] == "王"
    assert profile["postal_address"] == "1 Example Road, Shanghai"
    assert profile["birth_date"] == "1985-03-07"
    assert profile["notes"] == "Prefers calls after 6 pm"
    assert profile["provenance"]["city"] == ["crm", "2026-01-02T03:04:05+00:00"]
    values = {(row["kind"], row["value"]) for row in data["identities"]}
    assert {
        ("email", EMAIL),
        ("phone", "+8613800138000"),
        ("external", "wx-xiuying"),
    } == values
    assert data["purchases"][0]["amount"] == 129.5
    assert data["purchases"][0]["items"] == [{"sku": "TEA-1", "quantity": 2}]
    assert data["consent_history"][0]["evidence"] == EVIDENCE
    assert data["consent_history"][0]["purpose"] == "email_marketing"

    # The CSV holds the same values, as text
    header, *rows = read_csv(archive, "profile.csv")
    survivor = dict(zip(header, next(row for row in rows if row[0] == str(person.pk)), strict=True))
    assert survivor["email"] == EMAIL
    assert survivor["family_name"] == "王"
    assert "+8613800138000" in archive.read("identities.csv").decode("utf-8-sig")


def test_formula_looking_values_are_neutralised_in_csv_only(person, team_a):
    # Given values that a spreadsheet would run, in Python-written and SQL-streamed categories
    for kind in (
        "=1+1",
        "+SUM(A1)",
        "-2",
        "@cmd",
        "\tTAB",
        "\rCR",
        "\uff1d1+1",
        "\ufe62SUM(A1)",
        'plain, "quoted"',
        "two\nlines",
    ):
        EventFactory(customer=person, type=kind, source="web")

    _summary, archive, _content = package(team_a, [person.pk])

    # Then each CSV cell is what csv_safe makes of the value
    tags = [row[1] for row in read_csv(archive, "tags.csv")[1:]]
    assert tags == ["vip", "'=cmd|' /C calc'!A0"]
    header, *rows = read_csv(archive, "attributes.csv")
    attributes = {row[header.index("key")]: row[header.index("value")] for row in rows}
    assert attributes == {"favourite_tea": "oolong", "nickname": "'@xiu", "shoe_size": "38"}
    header, *rows = read_csv(archive, "events.csv")
    types = [dict(zip(header, row, strict=True))["type"] for row in rows]
    for kind in (
        "=1+1",
        "+SUM(A1)",
        "-2",
        "@cmd",
        "\tTAB",
        "\rCR",
        "\uff1d1+1",
        "\ufe62SUM(A1)",
        'plain, "quoted"',
        "two\nlines",
    ):
        assert csv_safe(kind) in types
    assert types.count("'=1+1") == 1
    assert types.count("'\uff1d1+1") == 1

    # And data.json keeps the values as they are
    data = read_json(archive, "data.json")["categories"]
    assert "=cmd|' /C calc'!A0" in [row["tag"] for row in data["tags"]]
    assert {"=1+1", "\rCR", "two\nlines", 'plain, "quoted"'} <= {
        row["type"] for row in data["events"]
    }


def test_another_teams_customer_contributes_nothing(person, stranger, team_a):
    # When team A asks for its person and, by mistake, for team B's customer number too
    summary, archive, _content = package(team_a, [person.pk, stranger.pk])

    # Then nothing of team B's customer is in the package
    text = all_text(archive)
    for leaked in (OTHER_EMAIL, "stranger-tag", "stranger_event", "STRANGER-1"):
        assert leaked not in text
    assert stranger.pk not in summary.customer_ids
    consents = read_json(archive, "data.json")["categories"]["consent_history"]
    assert {consent["purpose"] for consent in consents} == {"email_marketing"}
    profile_ids = {row["id"] for row in read_json(archive, "data.json")["categories"]["profile"]}
    assert stranger.pk not in profile_ids


def test_a_file_name_that_may_name_people_is_withheld(person, team_a):
    _summary, archive, _content = package(team_a, [person.pk])
    lines = read_json(archive, "data.json")["categories"]["import_history"]
    assert [(line["file_name"], line["line_number"]) for line in lines] == [
        ("crm_export.csv", 2),
        (None, 7),
    ]
    assert lines[1]["warnings"] == ["birth date in the future"]
    assert OTHER_EMAIL not in all_text(archive)


def test_merge_history_names_the_profiles_and_the_replaced_values_only(person, team_a):
    _summary, archive, _content = package(team_a, [person.pk])
    (merge,) = read_json(archive, "data.json")["categories"]["merge_history"]
    merged_id = person.merged_customers.get().pk
    assert (merge["survivor_id"], merge["merged_id"]) == (person.pk, merged_id)
    assert merge["overwritten_fields"] == ["company"]
    assert merge["previous_values"] == {"company": "Old Tea Co"}
    assert merge["moved"]["event"] == 1
    assert "survivor_before" not in json.dumps(merge)


def test_unknown_or_erased_customers_give_a_package_with_every_category_empty(
    person, team_a, steward
):
    # Given the person was erased
    subject_erase(customer_ids=[person.pk], team=team_a, actor=steward, reason="request")

    # When the package is asked for them and for a number that never existed
    summary, archive, _content = package(team_a, [person.pk, 999_999_999])

    # Then it builds, valid, with every category empty
    assert summary.customer_ids == []
    assert summary.counts == dict.fromkeys(CATEGORIES, 0)
    assert not summary.holds_data
    data = read_json(archive, "data.json")
    jsonschema.validate(data, read_json(archive, "schema.json"))
    assert all(rows == [] for rows in data["categories"].values())
    for name in CATEGORIES:
        assert len(read_csv(archive, f"{name}.csv")) == 1
    assert "We hold no personal data about you" in archive.read("README.txt").decode()
    assert read_json(archive, "information.json")["holds_data"] is False


def test_information_tells_purposes_recipients_retention_sources_and_rights(
    person, team_a, settings
):
    settings.PRIVACY_RECIPIENTS = []
    _summary, archive, _content = package(team_a, [person.pk])
    information = read_json(archive, "information.json")
    readme = archive.read("README.txt").decode()

    assert "email_marketing" in {purpose["code"] for purpose in information["purposes"]}
    assert information["recipients"] == []
    assert "not disclosed to any recipient outside the company" in readme
    assert {"customer_lifetime", "events_2y", "consent_proof"} <= {
        retention["class"] for retention in information["retention"]
    }
    assert {"rectification", "erasure", "restriction", "objection", "complaint"} <= {
        right["right"] for right in information["rights"]
    }
    assert "supervisory authority" in readme
    sources = {(source["category"], source["source"]) for source in information["sources"]}
    assert {
        ("profile", "crm"),
        ("events", "web"),
        ("events", "store"),
        ("purchases", "shop"),
    } <= sources
    assert "Profile fields last set by CRM (crm): city, company." in readme
    assert "Segment memberships" in readme and "Campaign messages" in readme
    assert [category["rows"] for category in information["categories"]][:2] == [2, 3]

    # With recipients configured, they are named
    settings.PRIVACY_RECIPIENTS = ["Mailjet SAS (email delivery, EU)"]
    _summary, archive, _content = package(team_a, [person.pk])
    assert "Mailjet SAS (email delivery, EU)" in archive.read("README.txt").decode()
    assert read_json(archive, "information.json")["recipients"] == [
        "Mailjet SAS (email delivery, EU)"
    ]


def test_the_export_is_audited_with_ids_and_counts_only(person, team_a, steward):
    summary, _archive, _content = package(
        team_a, [person.pk], request_reference="request-7", actor=steward
    )
    entry = AuditEntry.objects.get(action="subject.export")
    assert entry.actor == steward
    assert entry.metadata["customer_ids"] == [person.pk]
    assert entry.metadata["counts"] == summary.counts
    assert entry.metadata["request_reference"] == "request-7"
    assert EMAIL not in json.dumps(entry.metadata)


def test_a_stream_that_cannot_seek_gets_the_same_package(person, team_a):
    class Stream:
        def __init__(self) -> None:
            self.parts: list[bytes] = []

        def write(self, data: bytes) -> int:
            self.parts.append(bytes(data))
            return len(data)

        def flush(self) -> None:
            pass

    stream = Stream()
    summary = subject_package_write(team=team_a, customer_ids=[person.pk], fileobj=stream)
    content = b"".join(stream.parts)
    assert summary.bytes_written == len(content)
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert archive.testzip() is None
    assert len(read_json(archive, "data.json")["categories"]["events"]) == 3


def _events_add(customer, count: int) -> None:
    now = timezone.now()
    Event.objects.bulk_create(
        Event(
            owner_team=customer.owner_team,
            customer=customer,
            type="page_view",
            occurred_at=now - datetime.timedelta(minutes=number),
            properties={"path": f"/p/{number}"},
            source="web",
        )
        for number in range(count)
    )


def test_the_package_runs_the_same_queries_for_5_and_for_500_events(
    team_a, django_assert_max_num_queries
):
    # Given two customers, one with 5 events and one with 500
    small, large = CustomerFactory(owner_team=team_a), CustomerFactory(owner_team=team_a)
    _events_add(small, 5)
    _events_add(large, 500)

    # When each package is written
    counted = {}
    for customer in (small, large):
        with CaptureQueriesContext(connection) as queries:
            summary, _archive, _content = package(team_a, [customer.pk])
        counted[summary.counts["events"]] = [query["sql"] for query in queries]

    # Then both ran the same statements, the COPY of the events among them
    assert set(counted) == {5, 500}
    assert len(counted[5]) == len(counted[500])
    assert any(sql.startswith("COPY (") and "customers_event" in sql for sql in counted[500])
    with django_assert_max_num_queries(len(counted[500])):
        package(team_a, [large.pk])


@pytest.mark.parametrize("block_bytes", [1, 1 << 18], ids=["a-block-per-row", "default-blocks"])
def test_streamed_values_survive_any_content_and_block_size(
    person, team_a, monkeypatch, block_bytes
):
    # Given events whose values hold the characters the streaming relies on
    awkward = [
        'quote " and }", inside',
        "control \x01 and \x02 characters",
        "backslash \\ and unicode 王秀英 ✓",
        "comma, and\r\nline break",
    ]
    for number, text in enumerate(awkward):
        EventFactory(
            customer=person,
            type=f"awkward_{number}",
            source=text[:32],
            properties={"text": text, "nested": {"list": [text, None, 1.5]}},
        )
    monkeypatch.setattr("privacy.requests.package.writer._BLOCK_BYTES", block_bytes)

    _summary, archive, _content = package(team_a, [person.pk])

    # Then data.json holds the values exactly, and so does the CSV (as text)
    events = read_json(archive, "data.json")["categories"]["events"]
    stored = {
        event.pk: event
        for event in Event.objects.filter(customer__in=[person, *person.merged_customers.all()])
    }
    assert {row["id"] for row in events} == set(stored)
    for row in events:
        assert row["properties"] == stored[row["id"]].properties
        assert row["source"] == stored[row["id"]].source
    header, *lines = read_csv(archive, "events.csv")
    assert len(lines) == len(stored)
    for line in lines:
        cells = dict(zip(header, line, strict=True))
        event = stored[int(cells["id"])]
        assert cells["source"] == csv_safe(event.source)
        assert json.loads(cells["properties"]) == event.properties
