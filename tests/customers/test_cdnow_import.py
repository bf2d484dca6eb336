"""The CDNOW transaction log (whitespace-separated, no header) imported as customers, then as
purchases, through the API, and scored by the enrichment."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from rest_framework.test import APIClient

from customers.models import Customer, Purchase
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
    import datetime

    customers_enrich(team_id=team_a.pk, today=datetime.date(1998, 7, 1))
    assert not Customer.objects.active().filter(rfm_group="").exists()
