"""factory_boy factories of the customers app.

Encrypted fields are plain strings on the model; the name search tokens, the email domain and
the email/phone identities are derived the way the services derive them, so search works.
"""

from decimal import Decimal

import factory
from django.utils import timezone

from customers.models import (
    Customer,
    DuplicateCandidate,
    Event,
    Identity,
    IdentityKind,
    Purchase,
)
from customers.search_tokens import customer_search_prefixes
from customers.services.duplicates import REASON_BIRTH_DATE
from privacy.core.crypto import blind_index, name_index
from privacy.models import ConsentEvent, ConsentPurpose
from tests.factories import TeamFactory


class CustomerFactory(factory.django.DjangoModelFactory):
    """A customer with an email and a phone identity; ``identities=False`` skips them."""

    class Meta:
        model = Customer
        skip_postgeneration_save = True

    owner_team = factory.SubFactory(TeamFactory)
    given_name = "Jane"
    family_name = factory.Sequence(lambda n: f"Doe{n}")
    email = factory.Sequence(lambda n: f"jane{n}@example.com")
    phone = factory.Sequence(lambda n: f"+4930{n:07d}")
    country = "DE"
    city = "Berlin"
    source_channel = "crm"
    email_domain = factory.LazyAttribute(
        lambda customer: customer.email.rsplit("@", 1)[-1] if customer.email else ""
    )
    name_index = factory.LazyAttribute(
        lambda customer: name_index(customer.given_name or "", customer.family_name or "")
    )
    search_prefixes = factory.LazyAttribute(customer_search_prefixes)

    @factory.post_generation
    def identities(self, create, extracted, **kwargs):
        if not create or extracted is False:
            return
        for kind, value in ((IdentityKind.EMAIL, self.email), (IdentityKind.PHONE, self.phone)):
            if value:
                Identity.objects.create(
                    owner_team=self.owner_team,
                    customer=self,
                    kind=kind,
                    lookup_key=blind_index(value, purpose=kind),
                    value=value,
                    source=self.source_channel,
                )


class ExternalIdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Identity

    customer = factory.SubFactory(CustomerFactory)
    owner_team = factory.SelfAttribute("customer.owner_team")
    kind = IdentityKind.EXTERNAL
    channel = "wechat"
    lookup_key = factory.Sequence(lambda n: f"wx-{n:06d}")
    source = "wechat"


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    customer = factory.SubFactory(CustomerFactory)
    owner_team = factory.SelfAttribute("customer.owner_team")
    type = "page_view"
    occurred_at = factory.LazyFunction(timezone.now)
    properties = factory.LazyFunction(lambda: {"path": "/pricing"})
    source = "web"


class PurchaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Purchase

    customer = factory.SubFactory(CustomerFactory)
    owner_team = factory.SelfAttribute("customer.owner_team")
    source = "shop"
    order_reference = factory.Sequence(lambda n: f"SO-{n:05d}")
    occurred_at = factory.LazyFunction(timezone.now)
    amount = Decimal("49.90")
    currency = "EUR"


class DuplicateCandidateFactory(factory.django.DjangoModelFactory):
    """A pair of customers of one team; ``first`` always has the lower id, as the table demands."""

    class Meta:
        model = DuplicateCandidate

    owner_team = factory.SubFactory(TeamFactory)
    first = factory.SubFactory(CustomerFactory, owner_team=factory.SelfAttribute("..owner_team"))
    second = factory.SubFactory(CustomerFactory, owner_team=factory.SelfAttribute("..owner_team"))
    reason = REASON_BIRTH_DATE
    score = 70
    reasons = factory.LazyFunction(lambda: ["name", "birth_date"])


def consent_event(customer, code, status, *, occurred_at, expires_at=None) -> ConsentEvent:
    """A consent event of ``customer`` on the first channel of purpose ``code``, at a chosen
    time (``consent_record`` always records now)."""
    purpose = ConsentPurpose.objects.get(code=code)
    return ConsentEvent.objects.create(
        owner_team=customer.owner_team,
        customer_id=customer.pk,
        purpose=purpose,
        channel=purpose.channels[0],
        status=status,
        source="staff",
        occurred_at=occurred_at,
        expires_at=expires_at,
    )
