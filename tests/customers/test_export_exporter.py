"""The customers app's part of the access package: who it is about and where the data came
from."""

from customers.services.export import customers_export_collect, customers_export_sources
from customers.services.merge import customer_merge
from tests.customers.factories import CustomerFactory, EventFactory, PurchaseFactory


def test_collect_follows_merges_and_stays_in_the_team(team_a, team_b):
    # Given a survivor with a profile merged into it, which had itself absorbed another one
    survivor, middle, oldest = (CustomerFactory(owner_team=team_a) for _ in range(3))
    customer_merge(survivor=middle, merged=oldest)
    customer_merge(survivor=survivor, merged=middle)
    elsewhere = CustomerFactory(owner_team=team_b)

    # When the package is asked for the survivor, another team's customer and a number that
    # never existed
    found = customers_export_collect(
        team=team_a, customer_ids=[survivor.pk, elsewhere.pk, 999_999_999]
    )

    # Then it is about the survivor and both merged profiles, nothing else
    assert found == sorted([survivor.pk, middle.pk, oldest.pk])


def test_sources_name_channels_fields_and_counts(team_a):
    customer = CustomerFactory(
        owner_team=team_a,
        source_channel="wechat",
        provenance={"city": ["crm", "2026-01-02T03:04:05+00:00"], "email": ["web", ""]},
    )
    EventFactory.create_batch(3, customer=customer, source="app")
    PurchaseFactory(customer=customer, source="store")

    sources = customers_export_sources(team=team_a, customer_ids=[customer.pk])

    assert sorted(source.description for source in sources) == [
        "Customer record created through: WeChat (wechat).",
        "Events from App (app): 3.",
        "Identities from WeChat (wechat): 2.",
        "Profile fields last set by CRM (crm): city.",
        "Profile fields last set by Web (web): email.",
        "Purchases from Store (store): 1.",
    ]
    assert customers_export_sources(team=team_a, customer_ids=[]) == []
