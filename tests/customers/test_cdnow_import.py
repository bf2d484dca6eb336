"""The CDNOW transaction log (whitespace-separated, no header) imported as customers, then as
purchases, through the API, and scored by the enrichment."""

import datetime
from decimal import Decimal

import numpy
import pandas
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from rest_framework.test import APIClient

from customers.models import Customer, Identity, IdentityKind, Purchase
from customers.services.enrichment import customers_enrich
from customers.services.imports import import_job_run
from privacy.core import roles
from tests.factories import api_token_for
from tests.shared_data import shared_file

FORMAT = {"delimiter": "whitespace", "has_header": False, "source_channel": "cdnow"}


@pytest.fixture
def api(make_user, team_a):
    client = APIClient()
    user = make_user(roles.MARKETER, team_a)
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")
    return client


def upload(api, content, *, kind, mapping, django_capture_on_commit_callbacks, **options):
    with django_capture_on_commit_callbacks(execute=False):
        response = api.post(
            "/api/v1/imports/",
            {
                "file": SimpleUploadedFile("cdnow.txt", content),
                "kind": kind,
                "mapping": __import__("json").dumps(mapping),
                **FORMAT,
                **options,
            },
            format="multipart",
        )
    assert response.status_code == 201, response.json()
    return import_job_run(job_id=response.json()["id"])


def planner_statistics(table: str) -> tuple[int, float]:
    """How many times ``table`` was analysed by hand (not by autovacuum), and the row count
    the planner believes."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # no cached figures
        cursor.execute(
            "SELECT s.analyze_count, c.reltuples FROM pg_stat_user_tables AS s"
            " JOIN pg_class AS c ON c.oid = s.relid WHERE s.relname = %s",
            [table],
        )
        return cursor.fetchone()


def test_cdnow_log_becomes_customers_purchases_and_rfm_scores(
    api, team_a, django_capture_on_commit_callbacks
):
    content = shared_file("cdnow_sample.txt").read_bytes()
    lines = [line.split() for line in content.decode().splitlines() if line.strip()]

    # When the log is imported as customers (the sample id is the external id), then as purchases
    customers_job = upload(
        api,
        content,
        kind="customers",
        mapping={"column_2": "external_id"},
        django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
    )
    customers_analysed, _rows = planner_statistics("customers_customer")
    purchases_analysed, _rows = planner_statistics("customers_purchase")
    purchases_job = upload(
        api,
        content,
        kind="purchases",
        mapping={
            "column_2": "customer_external_id",
            "column_3": "occurred_at",
            "column_4": "quantity",
            "column_5": "amount",
        },
        currency="USD",
        django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
    )

    # Then every customer and transaction of the file is there exactly once
    assert customers_job.rejected_count == 0
    assert Customer.objects.active().count() == len({line[1] for line in lines}) == 2357
    assert purchases_job.rejected_count == 0
    assert Purchase.objects.count() == len(lines) == 6919
    total = sum(Decimal(line[4]) for line in lines)
    assert sum(Purchase.objects.values_list("amount", flat=True)) == total

    # And each job analysed the tables it filled before its enrichment plans on them: the
    # planner knows the purchases (and the customers the first job created)
    assert planner_statistics("customers_purchase") == (purchases_analysed + 1, 6919)
    customers_now, customer_rows = planner_statistics("customers_customer")
    assert customers_now == customers_analysed  # a purchases job leaves customers alone
    assert customer_rows == Customer.objects.count()

    # And the enrichment scores every buyer
    customers_enrich(team_id=team_a.pk, today=datetime.date(1998, 7, 1))
    assert not Customer.objects.active().filter(rfm_group="").exists()


def test_rfm_scores_of_imported_cdnow_buyers_match_pandas_per_team(
    api, make_user, team_a, team_b, django_capture_on_commit_callbacks
):
    """The documented rule, checked against pandas rather than against our own reading of it:
    score = ceil(5 * rank(method="min", pct=True)) within each team."""
    path = shared_file("cdnow_sample.txt")
    content = path.read_bytes()
    lines = content.decode().splitlines(keepends=True)
    # Team A gets the whole file; team B the buyers with an odd sample id, so a buyer of both
    # teams is ranked against two different sets of buyers.
    team_b_lines = [line for line in lines if int(line.split()[1]) % 2]
    client_b = APIClient()
    client_b.credentials(
        HTTP_AUTHORIZATION=f"Token {api_token_for(make_user(roles.MARKETER, team_b))}"
    )
    purchases_mapping = {
        "column_2": "customer_external_id",
        "column_3": "occurred_at",
        "column_4": "quantity",
        "column_5": "amount",
    }
    for client, team_content in ((api, content), (client_b, "".join(team_b_lines).encode())):
        for kind, mapping in (
            ("customers", {"column_2": "external_id"}),
            ("purchases", purchases_mapping),
        ):
            job = upload(
                client,
                team_content,
                kind=kind,
                mapping=mapping,
                django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
                **({"currency": "USD"} if kind == "purchases" else {}),
            )
            assert job.rejected_count == 0

    # When both teams are enriched
    for team in (team_a, team_b):
        customers_enrich(team_id=team.pk, today=datetime.date(1998, 7, 1))

    # Then every buyer's R, F and M scores are pandas' quintiles of its team's percentile ranks
    transactions = pandas.read_csv(
        path,
        sep=r"\s+",
        header=None,
        names=["full_id", "sample_id", "day", "cds", "dollars"],
        dtype={"full_id": str, "sample_id": str, "day": str, "dollars": str},
    )
    transactions["day"] = pandas.to_datetime(transactions["day"], format="%Y%m%d")
    # Cents as integers: float sums of the same amounts could differ in their last bit.
    transactions["cents"] = transactions["dollars"].map(lambda text: int(Decimal(text) * 100))
    transactions["team"] = team_a.pk
    odd = transactions[transactions["sample_id"].astype(int) % 2 == 1].assign(team=team_b.pk)
    buyers = (
        pandas.concat([transactions, odd])
        .groupby(["team", "sample_id"])
        .agg(recency=("day", "max"), frequency=("day", "size"), monetary=("cents", "sum"))
        .reset_index()
    )
    for metric in ("recency", "frequency", "monetary"):
        percentile = buyers.groupby("team")[metric].rank(method="min", pct=True)
        buyers[f"rfm_{metric}"] = numpy.ceil(5 * percentile).astype(int)
    expected = {
        (row.team, row.sample_id): (row.rfm_recency, row.rfm_frequency, row.rfm_monetary)
        for row in buyers.itertuples()
    }
    sample_id_of = dict(
        Identity.objects.filter(kind=IdentityKind.EXTERNAL, channel="cdnow").values_list(
            "customer_id", "lookup_key"
        )
    )
    stored = {
        (team_id, sample_id_of[pk]): (recency, frequency, monetary)
        for pk, team_id, recency, frequency, monetary in Customer.objects.active().values_list(
            "pk", "owner_team_id", "rfm_recency", "rfm_frequency", "rfm_monetary"
        )
    }
    assert len(expected) == 2357 + len({line.split()[1] for line in team_b_lines})
    assert stored == expected
    # And the comparison is not vacuous: each team's scores use all five quintiles
    for team in (team_a, team_b):
        scores = buyers[buyers["team"] == team.pk]
        assert set(scores["rfm_recency"]) == set(scores["rfm_monetary"]) == {1, 2, 3, 4, 5}
