"""Derived customer metrics: purchase metrics, age bands, RFM scores and groups, lifecycle."""

import datetime
from bisect import bisect_left
from collections import Counter, defaultdict
from decimal import Decimal
from fractions import Fraction

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from customers.models import Customer, LifecycleStatus, Purchase
from customers.services.enrichment import (
    RFM_GROUP_RULES,
    country_from_phone,
    customers_enrich,
    rfm_group_for,
)
from customers.services.statistics import tables_analyze
from privacy.core.crypto import name_index
from privacy.models import AuditEntry
from tests.shared_data import shared_file

TODAY = datetime.date(2024, 3, 15)
UTC = datetime.UTC


def make_customer(team, given="Ada", family="Lovelace", **fields) -> Customer:
    return Customer.objects.create(
        owner_team=team,
        given_name=given,
        family_name=family,
        name_index=name_index(given, family),
        **fields,
    )


def at(year, month, day, hour=12) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, tzinfo=UTC)


def buy(customer, reference, occurred_at, amount) -> Purchase:
    return Purchase.objects.create(
        owner_team=customer.owner_team,
        customer=customer,
        order_reference=reference,
        occurred_at=occurred_at,
        amount=Decimal(amount),
        currency="USD",
    )


def metrics(customer) -> dict:
    customer.refresh_from_db()
    return {
        "first_purchase_at": customer.first_purchase_at,
        "last_purchase_at": customer.last_purchase_at,
        "order_count": customer.order_count,
        "total_spend": customer.total_spend,
        "average_order_value": customer.average_order_value,
        "lifetime_value": customer.lifetime_value,
        "rfm": (customer.rfm_recency, customer.rfm_frequency, customer.rfm_monetary),
        "rfm_group": customer.rfm_group,
    }


NO_PURCHASES = {
    "first_purchase_at": None,
    "last_purchase_at": None,
    "order_count": 0,
    "total_spend": Decimal("0.00"),
    "average_order_value": None,
    "lifetime_value": Decimal("0.00"),
    "rfm": (None, None, None),
    "rfm_group": "",
}


def test_purchase_metrics_are_computed_exactly(team_a):
    # Given two buyers and one customer who never bought
    ada = make_customer(team_a, "Ada", "Lovelace")
    buy(ada, "A-1", at(2024, 1, 5), "10.00")
    buy(ada, "A-2", at(2024, 2, 1), "20.50")
    buy(ada, "A-3", at(2023, 12, 24), "5.25")
    bob = make_customer(team_a, "Bob", "Byte")
    buy(bob, "B-1", at(2024, 3, 1), "99.99")
    cy = make_customer(team_a, "Cy", "Cipher")

    # When the team is enriched
    updated = customers_enrich(team_id=team_a.pk, today=TODAY)

    # Then every metric is the hand-computed value
    assert updated == 3
    assert metrics(ada) == {
        "first_purchase_at": at(2023, 12, 24),
        "last_purchase_at": at(2024, 2, 1),
        "order_count": 3,
        "total_spend": Decimal("35.75"),
        "average_order_value": Decimal("11.92"),  # 35.75 / 3 = 11.9166...
        "lifetime_value": Decimal("35.75"),
        # two buyers: ceil(5 * rank / 2) gives the lower one 3 and the higher one 5
        "rfm": (3, 5, 3),
        "rfm_group": "Loyal",
    }
    assert metrics(bob) == {
        "first_purchase_at": at(2024, 3, 1),
        "last_purchase_at": at(2024, 3, 1),
        "order_count": 1,
        "total_spend": Decimal("99.99"),
        "average_order_value": Decimal("99.99"),
        "lifetime_value": Decimal("99.99"),
        "rfm": (5, 3, 5),
        "rfm_group": "Potential loyalist",
    }
    assert metrics(cy) == NO_PURCHASES
    cy.refresh_from_db()
    assert cy.metrics_updated_at is not None


@pytest.mark.parametrize(
    ("birth_date", "today", "band"),
    [
        pytest.param(None, TODAY, "", id="no-birth-date"),
        pytest.param(datetime.date(2024, 6, 1), TODAY, "", id="born-after-today"),
        pytest.param(datetime.date(2024, 3, 15), TODAY, "<18", id="born-today"),
        pytest.param(datetime.date(2006, 3, 16), TODAY, "<18", id="18-tomorrow"),
        pytest.param(datetime.date(2006, 3, 15), TODAY, "18-24", id="18-today"),
        pytest.param(datetime.date(1999, 3, 16), TODAY, "18-24", id="24"),
        pytest.param(datetime.date(1999, 3, 15), TODAY, "25-34", id="25"),
        pytest.param(datetime.date(1989, 3, 15), TODAY, "35-44", id="35"),
        pytest.param(datetime.date(1979, 3, 15), TODAY, "45-54", id="45"),
        pytest.param(datetime.date(1969, 3, 15), TODAY, "55-64", id="55"),
        pytest.param(datetime.date(1959, 3, 16), TODAY, "55-64", id="64"),
        pytest.param(datetime.date(1959, 3, 15), TODAY, "65+", id="65"),
        pytest.param(datetime.date(1920, 1, 1), TODAY, "65+", id="104"),
        pytest.param(
            datetime.date(2000, 2, 29), datetime.date(2018, 2, 28), "<18", id="leap-day-17"
        ),
        pytest.param(
            datetime.date(2000, 2, 29), datetime.date(2018, 3, 1), "18-24", id="leap-day-18"
        ),
    ],
)
def test_age_band_from_birth_date(team_a, birth_date, today, band):
    # Given a customer with (or without) a birth date
    customer = make_customer(team_a, birth_date=birth_date)

    # When enriched as of ``today``
    customers_enrich(team_id=team_a.pk, today=today)

    # Then the age band is the band of their age in whole years on that day
    customer.refresh_from_db()
    assert customer.age_band == band


def test_age_band_is_cleared_when_the_birth_date_is_removed(team_a):
    # Given a customer whose band was derived
    customer = make_customer(team_a, birth_date=datetime.date(1990, 1, 1))
    customers_enrich(team_id=team_a.pk, today=TODAY)
    Customer.objects.filter(pk=customer.pk).update(birth_date=None)

    # When enriched again
    customers_enrich(team_id=team_a.pk, today=TODAY)

    # Then the band is empty
    customer.refresh_from_db()
    assert customer.age_band == ""


# Ten buyers with known ranks (1 = lowest of the ten), no ties. ceil(5 * rank / 10) puts
# ranks 1-2 in score 1, 3-4 in score 2, ..., 9-10 in score 5.
#   name: (recency rank, number of orders = frequency rank, total spend)
TEN_BUYERS = {
    "a": (10, 9, "300.00"),
    "b": (9, 1, "950.00"),
    "c": (7, 3, "20.00"),
    "d": (8, 5, "40.00"),
    "e": (6, 7, "700.00"),
    "f": (5, 6, "60.00"),
    "g": (4, 10, "800.00"),
    "h": (3, 4, "10.00"),
    "i": (2, 8, "500.00"),
    "j": (1, 2, "100.00"),
}
#   name: ((R, F, M), group). M from spend order: h c | d f | j a | i e | g b.
TEN_BUYERS_EXPECTED = {
    "a": ((5, 5, 3), "Champions"),
    "b": ((5, 1, 5), "New"),
    "c": ((4, 2, 1), "Potential loyalist"),
    "d": ((4, 3, 2), "Potential loyalist"),
    "e": ((3, 4, 4), "Loyal"),
    "f": ((3, 3, 2), "Needs attention"),
    "g": ((2, 5, 5), "At risk"),
    "h": ((2, 2, 1), "Hibernating"),
    "i": ((1, 4, 4), "Cannot lose them"),
    "j": ((1, 1, 3), "Lost"),
}


def create_ten_buyers(team) -> dict[str, Customer]:
    """The TEN_BUYERS: all but the last order cost 1.00 and fall in 2023; the last order
    (2024-01-01 + 10 days per recency rank) makes up the total spend."""
    customers = {}
    purchases = []
    for name, (recency_rank, orders, total) in TEN_BUYERS.items():
        customer = make_customer(team, name.upper(), "Buyer")
        customers[name] = customer
        for number in range(1, orders):
            purchases.append(
                Purchase(
                    owner_team=team,
                    customer=customer,
                    order_reference=f"{name}-{number}",
                    occurred_at=at(2023, 1, number),
                    amount=Decimal("1.00"),
                    currency="USD",
                )
            )
        purchases.append(
            Purchase(
                owner_team=team,
                customer=customer,
                order_reference=f"{name}-last",
                occurred_at=at(2024, 1, 1) + datetime.timedelta(days=10 * recency_rank),
                amount=Decimal(total) - (orders - 1),
                currency="USD",
            )
        )
    Purchase.objects.bulk_create(purchases)
    return customers


def rfm_of(customers: dict[str, Customer]) -> dict[str, tuple]:
    rows = Customer.objects.filter(pk__in=[c.pk for c in customers.values()]).values_list(
        "pk", "rfm_recency", "rfm_frequency", "rfm_monetary", "rfm_group"
    )
    by_pk = {
        pk: ((recency, frequency, monetary), group)
        for pk, recency, frequency, monetary, group in rows
    }
    return {name: by_pk[customer.pk] for name, customer in customers.items()}


def test_rfm_scores_and_groups_of_ten_buyers(team_a):
    # Given ten buyers with known ranks, and a customer without purchases
    buyers = create_ten_buyers(team_a)
    never = make_customer(team_a, "Never", "Bought")

    # When the team is enriched
    updated = customers_enrich(team_id=team_a.pk, today=TODAY)

    # Then each buyer has the scores of their quintiles and the group of their (R, F) cell
    assert updated == 11
    assert rfm_of(buyers) == TEN_BUYERS_EXPECTED
    assert Customer.objects.get(pk=buyers["g"].pk).order_count == 10
    assert Customer.objects.get(pk=buyers["b"].pk).total_spend == Decimal("950.00")
    # And the customer without purchases takes no part in the ranking
    assert metrics(never) == NO_PURCHASES


def test_rfm_group_map_covers_every_cell_once():
    # Given the first-match rules, Then the 5x5 (R, F) grid reads (rows R 5..1, columns F 1..5):
    grid = [
        [rfm_group_for(recency, frequency) for frequency in range(1, 6)]
        for recency in (5, 4, 3, 2, 1)
    ]
    assert grid == [
        ["New", "Potential loyalist", "Potential loyalist", "Champions", "Champions"],
        ["Promising", "Potential loyalist", "Potential loyalist", "Champions", "Champions"],
        ["Promising", "About to sleep", "Needs attention", "Loyal", "Loyal"],
        ["Hibernating", "Hibernating", "At risk", "At risk", "At risk"],
        ["Lost", "Hibernating", "At risk", "Cannot lose them", "Cannot lose them"],
    ]
    # And every group of the map is reachable
    assert {group for row in grid for group in row} == {group for group, _r, _f in RFM_GROUP_RULES}


def test_rfm_is_ranked_within_each_team(team_a, team_b):
    # Given the ten buyers in team A and one big buyer in team B
    create_ten_buyers(team_a)
    whale = make_customer(team_b, "Wally", "Whale")
    for number in range(20):
        buy(whale, f"W-{number}", at(2024, 6, 1 + number), "1000.00")

    # When every team is enriched
    customers_enrich(today=TODAY)

    # Then team B's only buyer is alone in its ranking (top of it: score 5 everywhere)...
    whale.refresh_from_db()
    assert (whale.rfm_recency, whale.rfm_frequency, whale.rfm_monetary) == (5, 5, 5)
    assert whale.rfm_group == "Champions"
    # ...and does not shift team A's quintiles
    assert sorted(
        Customer.objects.filter(owner_team=team_a).values_list("rfm_recency", flat=True)
    ) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_enriching_one_team_leaves_another_team_untouched(team_a, team_b):
    # Given a buyer in each team
    ours = make_customer(team_a, "Our", "Buyer", birth_date=datetime.date(1990, 1, 1))
    buy(ours, "O-1", at(2024, 1, 1), "10.00")
    theirs = make_customer(team_b, "Their", "Buyer", birth_date=datetime.date(1990, 1, 1))
    buy(theirs, "T-1", at(2024, 1, 1), "10.00")

    # When only team A is enriched
    updated = customers_enrich(team_id=team_a.pk, today=TODAY)

    # Then team B's customer is as it was
    assert updated == 1
    ours.refresh_from_db()
    theirs.refresh_from_db()
    assert (ours.order_count, ours.age_band, ours.rfm_group) == (1, "25-34", "Champions")
    assert metrics(theirs) == {**NO_PURCHASES, "lifetime_value": None}
    assert (theirs.age_band, theirs.metrics_updated_at, theirs.lifecycle_status) == (
        "",
        None,
        LifecycleStatus.LEAD,
    )


def test_enriching_some_customers_ranks_them_against_their_whole_team(team_a):
    # Given the ten buyers
    buyers = create_ten_buyers(team_a)

    # When only buyer "a" is enriched
    updated = customers_enrich(customer_ids=[buyers["a"].pk], today=TODAY)

    # Then "a" has its team-wide scores and nobody else was written
    assert updated == 1
    assert rfm_of({"a": buyers["a"]}) == {"a": TEN_BUYERS_EXPECTED["a"]}
    assert Customer.objects.filter(metrics_updated_at__isnull=False).count() == 1


def test_enriching_some_customers_with_their_team_reranks_the_other_buyers(team_a):
    # Given the ten buyers, enriched, and a new buyer whose one small, old order is the
    # lowest of every ranking (its one order ties with buyer "b"'s)
    buyers = create_ten_buyers(team_a)
    customers_enrich(team_id=team_a.pk, today=TODAY)
    newcomer = make_customer(team_a, "New", "Comer")
    buy(newcomer, "N-1", at(2023, 6, 1), "5.00")

    # When only the newcomer is enriched, re-ranking the team
    customers_enrich(customer_ids=[newcomer.pk], rerank_team=True, today=TODAY)

    # Then everyone is ranked among eleven buyers: the others moved up one rank
    # (ceil(5 * rank / 11): ranks 1-2 -> 1, 3-4 -> 2, 5-6 -> 3, 7-8 -> 4, 9-11 -> 5)
    assert rfm_of({"new": newcomer}) == {"new": ((1, 1, 1), "Lost")}
    scores = rfm_of(buyers)
    assert scores["d"] == ((5, 3, 2), "Potential loyalist")  # was (4, 3, 2)
    assert scores["j"] == ((1, 2, 3), "Hibernating")  # was (1, 1, 3), Lost
    assert scores["b"] == TEN_BUYERS_EXPECTED["b"]  # tied with the newcomer on frequency
    assert sorted(
        Customer.objects.filter(owner_team=team_a).values_list("rfm_recency", flat=True)
    ) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 5]


# --- Ties: equal inputs, equal scores ---------------------------------------------------


def reference_scores(values: dict) -> dict:
    """The documented rule written independently of the SQL: pandas'
    ``rank(method="min", pct=True)`` (1 + how many values are lower, over their number),
    then the quintile that fraction falls in, (0, 1/5] -> 1 ... (4/5, 1] -> 5."""
    ordered = sorted(values.values())
    scores = {}
    for key, value in values.items():
        percentile = Fraction(bisect_left(ordered, value) + 1, len(ordered))
        scores[key] = next(q for q in range(1, 6) if percentile <= Fraction(q, 5))
    return scores


def test_identical_one_time_buyers_share_scores_and_group(team_a):
    # Given twelve one-time buyers in three sets of identical buyers (same day, same amount),
    # created in an interleaved order so their ids do not follow their values
    buyers = {}
    for number in range(4):
        for day, amount in ((1, "10.00"), (2, "20.00"), (3, "10.00")):
            customer = make_customer(team_a, f"B{day}", f"N{number}")
            buy(customer, f"T-{day}-{number}", at(2024, 1, day, hour=8 + number), amount)
            buyers[customer.pk] = (day, amount)

    # When the team is enriched
    customers_enrich(team_id=team_a.pk, today=TODAY)

    # Then buyers with equal inputs have equal scores and the same group, ties ranked low:
    # ranks 1, 5 and 9 of twelve -> ceil(5 * rank / 12) = 1, 3 and 4
    rows = Customer.objects.filter(owner_team=team_a).values_list(
        "pk", "rfm_recency", "rfm_frequency", "rfm_monetary", "rfm_group"
    )
    by_inputs = defaultdict(set)
    for pk, *scores in rows:
        by_inputs[buyers[pk]].add(tuple(scores))
    assert by_inputs == {
        (1, "10.00"): {(1, 1, 1, "Lost")},
        (2, "20.00"): {(3, 1, 4, "Promising")},
        (3, "10.00"): {(4, 1, 1, "Promising")},
    }


BUYER_PROFILES = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=6),  # day of the last order
        st.integers(min_value=1, max_value=3),  # orders
        st.sampled_from(["5.00", "9.99", "20.00", "120.00"]),  # amount of each order
        st.integers(min_value=1, max_value=4),  # identical buyers with this profile
    ),
    min_size=1,
    max_size=8,
)


@hypothesis_settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(profiles=BUYER_PROFILES)
def test_identical_buyers_always_share_scores_and_group(team_a, profiles):
    with transaction.atomic():
        # Given buyers, some of them identical (same orders on the same days, same amounts)
        inputs = {}
        purchases = []
        for copies_index, (day, orders, amount, copies) in enumerate(profiles):
            for copy in range(copies):
                customer = make_customer(team_a, f"P{copies_index}", f"C{copy}")
                inputs[customer.pk] = (day, orders, Decimal(amount) * orders)
                purchases += [
                    Purchase(
                        owner_team=team_a,
                        customer=customer,
                        order_reference=f"H-{customer.pk}-{number}",
                        occurred_at=at(2024, 1, 2 + day - number % 2, hour=1 + copy),
                        amount=Decimal(amount),
                        currency="USD",
                    )
                    for number in range(orders)
                ]
        Purchase.objects.bulk_create(purchases)

        # When the team is enriched
        customers_enrich(team_id=team_a.pk, today=TODAY)

        # Then the scores are the reference's, so equal inputs get equal scores and groups
        recency = reference_scores({pk: day for pk, (day, _o, _m) in inputs.items()})
        frequency = reference_scores({pk: orders for pk, (_d, orders, _m) in inputs.items()})
        monetary = reference_scores({pk: spend for pk, (_d, _o, spend) in inputs.items()})
        stored = Customer.objects.filter(pk__in=inputs).values_list(
            "pk", "rfm_recency", "rfm_frequency", "rfm_monetary", "rfm_group"
        )
        assert {pk: tuple(scores) for pk, *scores in stored} == {
            pk: (
                recency[pk],
                frequency[pk],
                monetary[pk],
                rfm_group_for(recency[pk], frequency[pk]),
            )
            for pk in inputs
        }
        transaction.set_rollback(True)


def test_merged_customers_are_not_enriched(team_a):
    # Given a customer merged into another (a tombstone)
    survivor = make_customer(team_a, "Ada", "Lovelace")
    tombstone = make_customer(team_a, "Ada", "Lovelace", merged_into=survivor)
    buy(tombstone, "M-1", at(2024, 1, 1), "10.00")

    # When the team is enriched
    customers_enrich(team_id=team_a.pk, today=TODAY)

    # Then the tombstone is not written, nor counted among the team's buyers
    tombstone.refresh_from_db()
    assert tombstone.metrics_updated_at is None
    assert tombstone.order_count == 0
    assert metrics(survivor) == NO_PURCHASES


@pytest.mark.parametrize(
    ("status", "has_purchase", "expected"),
    [
        pytest.param(LifecycleStatus.LEAD, True, LifecycleStatus.CUSTOMER, id="lead-buys"),
        pytest.param(LifecycleStatus.PROSPECT, True, LifecycleStatus.CUSTOMER, id="prospect-buys"),
        pytest.param(LifecycleStatus.INACTIVE, True, LifecycleStatus.INACTIVE, id="inactive-kept"),
        pytest.param(LifecycleStatus.LEAD, False, LifecycleStatus.LEAD, id="lead-without-order"),
    ],
)
def test_lifecycle_becomes_customer_after_a_first_order(team_a, status, has_purchase, expected):
    # Given a customer in some lifecycle status, with or without an order
    customer = make_customer(team_a, lifecycle_status=status)
    if has_purchase:
        buy(customer, "L-1", at(2024, 1, 1), "10.00")

    # When enriched
    customers_enrich(team_id=team_a.pk, today=TODAY)

    # Then only a lead or prospect with an order became a customer
    customer.refresh_from_db()
    assert customer.lifecycle_status == expected


def test_second_run_changes_nothing(team_a):
    # Given an enriched team
    buyers = create_ten_buyers(team_a)
    customers_enrich(team_id=team_a.pk, today=TODAY)
    stamps = dict(Customer.objects.values_list("pk", "metrics_updated_at"))

    # When enriched again with the same data
    updated = customers_enrich(team_id=team_a.pk, today=TODAY)

    # Then no row was written
    assert updated == 0
    assert dict(Customer.objects.values_list("pk", "metrics_updated_at")) == stamps
    assert rfm_of(buyers) == TEN_BUYERS_EXPECTED


def test_metrics_follow_purchases_that_went_away(team_a):
    # Given an enriched buyer whose purchases are then removed (an erasure, an undone merge)
    customer = make_customer(team_a)
    buy(customer, "G-1", at(2024, 1, 1), "10.00")
    customers_enrich(team_id=team_a.pk, today=TODAY)
    Purchase.objects.filter(customer=customer).delete()

    # When enriched again
    updated = customers_enrich(team_id=team_a.pk, today=TODAY)

    # Then the derived values are those of a customer who never bought
    assert updated == 1
    assert metrics(customer) == NO_PURCHASES


def test_enrich_writes_one_audit_entry_with_counts(team_a):
    # Given three buyers, one of them already a customer, and one lead without purchases
    for number, status in enumerate(
        [LifecycleStatus.LEAD, LifecycleStatus.PROSPECT, LifecycleStatus.CUSTOMER]
    ):
        buy(make_customer(team_a, lifecycle_status=status), f"C-{number}", at(2024, 1, 1), "5")
    make_customer(team_a)

    # When enriched
    customers_enrich(team_id=team_a.pk, today=TODAY)

    # Then one audit entry records what was done, without personal data
    entry = AuditEntry.objects.get(action="customers.enrich")
    assert entry.metadata == {
        "team": team_a.pk,
        "requested_customers": None,
        "rerank_team": False,
        "as_of": "2024-03-15",
        "customers": 4,
        "with_purchases": 3,
        "updated": 4,
        "became_customers": 2,
    }


@pytest.mark.parametrize("customer_count", [2, 30], ids=["2-customers", "30-customers"])
def test_query_count_does_not_depend_on_the_number_of_customers(
    team_a, customer_count, django_assert_num_queries
):
    # Given some buyers
    for number in range(customer_count):
        buy(make_customer(team_a), f"Q-{number}", at(2024, 1, 1 + number % 28), "10.00")

    # When enriched, Then it takes: savepoint, the statement, the audit row, release
    with django_assert_num_queries(4):
        assert customers_enrich(team_id=team_a.pk, today=TODAY) == customer_count


@pytest.mark.parametrize(
    ("phone", "country"),
    [
        pytest.param("+4915112345678", "DE", id="germany"),
        pytest.param("+12125550123", "US", id="nanp-us"),
        pytest.param("+14165550123", "CA", id="nanp-canada"),
        pytest.param("+8613800138000", "CN", id="china"),
        pytest.param("+447406018159", "GB", id="uk"),
        pytest.param("+80012345678", "", id="non-geographic"),
        pytest.param("not a phone", "", id="unparseable"),
        pytest.param("", "", id="empty"),
    ],
)
def test_country_from_phone(phone, country):
    assert country_from_phone(phone) == country


# --- Real data: the CDNOW purchases (Fader, Hardie & Lee) --------------------------------


def read_cdnow() -> list[tuple[str, datetime.date, Decimal]]:
    rows = []
    for line in shared_file("cdnow_sample.txt").read_text().splitlines():
        if line.strip():
            _full_id, sample_id, day, _cds, dollars = line.split()
            rows.append(
                (sample_id, datetime.datetime.strptime(day, "%Y%m%d").date(), Decimal(dollars))
            )
    return rows


def test_cdnow_purchases_enrich_to_the_facts_of_the_file(team_a):
    # Given one customer per CDNOW sample id and their 6,919 purchases
    rows = read_cdnow()
    sample_ids = sorted({sample_id for sample_id, _day, _dollars in rows})
    customers = Customer.objects.bulk_create(
        [
            Customer(owner_team=team_a, attributes={"cdnow_id": sample_id}, source_channel="shop")
            for sample_id in sample_ids
        ]
    )
    customer_of = {sample_id: c.pk for sample_id, c in zip(sample_ids, customers, strict=True)}
    Purchase.objects.bulk_create(
        [
            Purchase(
                owner_team=team_a,
                customer_id=customer_of[sample_id],
                source="cdnow",
                order_reference=f"cdnow-{line_number}",
                occurred_at=datetime.datetime.combine(day, datetime.time(), tzinfo=UTC),
                amount=dollars,
                currency="USD",
            )
            for line_number, (sample_id, day, dollars) in enumerate(rows, start=1)
        ],
        batch_size=2000,
    )
    # (statistics for the planner, as every bulk load takes them)
    tables_analyze(models=[Customer, Purchase])
    expected_orders = Counter(sample_id for sample_id, _day, _dollars in rows)
    expected_spend: dict[str, Decimal] = defaultdict(Decimal)
    expected_last: dict[str, datetime.date] = {}
    for sample_id, day, dollars in rows:
        expected_spend[sample_id] += dollars
        expected_last[sample_id] = max(day, expected_last.get(sample_id, day))

    # When the team is enriched as of 1 July 1998
    updated = customers_enrich(team_id=team_a.pk, today=datetime.date(1998, 7, 1))

    # Then the metrics agree with the file
    assert updated == len(sample_ids) == 2357
    enriched = list(
        Customer.objects.filter(owner_team=team_a).values(
            "pk",
            "order_count",
            "total_spend",
            "last_purchase_at",
            "rfm_recency",
            "rfm_frequency",
            "rfm_monetary",
            "rfm_group",
            "lifecycle_status",
        )
    )
    sample_of = {pk: sample_id for sample_id, pk in customer_of.items()}
    assert sum(1 for row in enriched if row["order_count"] > 0) == 2357
    assert sum(row["total_spend"] for row in enriched) == sum(
        dollars for _id, _day, dollars in rows
    ).quantize(Decimal("0.01"))
    assert {sample_of[row["pk"]]: row["order_count"] for row in enriched} == expected_orders
    assert {sample_of[row["pk"]]: row["total_spend"] for row in enriched} == expected_spend
    assert {
        sample_of[row["pk"]]: row["last_purchase_at"].date() for row in enriched
    } == expected_last
    # And every score is the reference's: the quintile of pandas' rank(method="min", pct=True)
    expected = {
        "rfm_recency": reference_scores(expected_last),
        "rfm_frequency": reference_scores(expected_orders),
        "rfm_monetary": reference_scores(expected_spend),
    }
    for score, reference in expected.items():
        assert {sample_of[row["pk"]]: row[score] for row in enriched} == reference, score
    # And the group is that of the (R, F) cell, so buyers with equal inputs share it
    groups = {sample_of[row["pk"]]: row["rfm_group"] for row in enriched}
    assert groups == {
        sample_id: rfm_group_for(
            expected["rfm_recency"][sample_id], expected["rfm_frequency"][sample_id]
        )
        for sample_id in sample_ids
    }
    inputs = defaultdict(set)
    for sample_id in sample_ids:
        facts = (expected_last[sample_id], expected_orders[sample_id], expected_spend[sample_id])
        inputs[facts].add(groups[sample_id])
    assert sum(1 for found in inputs.values() if len(found) > 1) == 0
    # And the scores spread as far as the ties allow: almost every spend is distinct, so the
    # monetary quintiles are full; 1,205 of the 2,357 bought once, all with frequency 1
    assert Counter(row["rfm_monetary"] for row in enriched) == Counter(
        expected["rfm_monetary"].values()
    )
    assert set(expected["rfm_monetary"].values()) == {1, 2, 3, 4, 5}
    assert Counter(row["rfm_frequency"] for row in enriched)[1] == sum(
        1 for orders in expected_orders.values() if orders == 1
    )
    # And every buyer has a group and is a customer
    assert all(row["rfm_group"] for row in enriched)
    assert {row["lifecycle_status"] for row in enriched} == {LifecycleStatus.CUSTOMER}
