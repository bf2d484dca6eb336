"""Who a campaign may address: consent, restriction, objection and suppression, in one query."""

import datetime

import pytest
from django.utils import timezone

from customers.selectors import customers_reachable
from privacy.consent.services.records import consent_record
from privacy.core.crypto import blind_index
from privacy.erasure.services.erasure import subject_erase
from privacy.models import Suppression
from tests.customers.factories import CustomerFactory


def grant(customer, **fields):
    return consent_record(
        customer=customer,
        purpose_code="email_marketing",
        channel="email",
        status=fields.pop("status", "granted"),
        source="form",
        **fields,
    )


@pytest.fixture
def reachable(team_a):
    def ids():
        return set(
            customers_reachable(
                team=team_a, purpose_code="email_marketing", channel="email"
            ).values_list("pk", flat=True)
        )

    return ids


def test_only_customers_with_a_current_grant_are_reachable(team_a, team_b, reachable):
    granted, _never, withdrawn, expired = CustomerFactory.create_batch(4, owner_team=team_a)
    grant(granted)
    grant(withdrawn)
    grant(withdrawn, status="withdrawn")
    grant(expired, expires_at=timezone.now() + datetime.timedelta(seconds=1))
    grant(CustomerFactory(owner_team=team_b))

    in_an_hour = timezone.now() + datetime.timedelta(hours=1)
    assert reachable() == {granted.pk, expired.pk}
    assert set(
        customers_reachable(
            team=team_a, purpose_code="email_marketing", channel="email", now=in_an_hour
        ).values_list("pk", flat=True)
    ) == {granted.pk}


def test_restriction_objection_and_suppression_leave_customers_out(team_a, reachable):
    kept, restricted, objected, erased = CustomerFactory.create_batch(4, owner_team=team_a)
    for customer in (kept, restricted, objected, erased):
        grant(customer)
    restricted.processing_restricted_at = timezone.now()
    restricted.save()
    objected.marketing_objection_at = timezone.now()
    objected.save()
    subject_erase(customer_ids=[erased.pk], team=team_a, reason="staff")
    # The erased person comes back by a path that skipped the suppression check.
    returned = CustomerFactory(owner_team=team_a, email=erased.email, phone=None)
    grant(returned)

    assert Suppression.objects.filter(
        lookup_key=blind_index(erased.email, purpose="email")
    ).exists()
    assert reachable() == {kept.pk}


def test_the_audience_is_one_query(team_a, reachable, django_assert_num_queries):
    for customer in CustomerFactory.create_batch(5, owner_team=team_a):
        grant(customer)
    with django_assert_num_queries(1):
        assert len(reachable()) == 5
