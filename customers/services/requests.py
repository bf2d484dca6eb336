"""The customers app's side of privacy code: the subject directory registered into the core.

``CustomerDirectory`` finds the customers a person means by the email or phone they gave (the
blind index of the normalised value, through the identity table), sets the restriction and
objection marks that keep a customer out of segments and campaigns, and gives consent code the
customers its events and signed links are about.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer, Identity, IdentityKind
from customers.normalisation import NormalisationError, normalise_email, normalise_phone
from privacy.core.crypto import blind_index
from privacy.models import Team
from privacy.requests.services.lifecycle import RequestError


@dataclass(frozen=True)
class CustomerDirectory:
    """``privacy.core.subjects.SubjectDirectory`` over the customers table (stateless)."""

    def find(self, *, team: Team, email: str | None, phone: str | None) -> list[int]:
        keys: list[tuple[str, str]] = []
        try:
            if email and (normalised := normalise_email(email)):
                keys.append((IdentityKind.EMAIL, blind_index(normalised, purpose="email")))
        except NormalisationError:
            raise RequestError("subject_email", _("This is not an email address.")) from None
        try:
            if phone and (normalised := normalise_phone(phone, region=None)):
                keys.append((IdentityKind.PHONE, blind_index(normalised, purpose="phone")))
        except NormalisationError:
            raise RequestError(
                "subject_phone",
                _("This is not a phone number; write it with its country code (+44 …)."),
            ) from None
        if not keys:
            return []
        holders = Identity.objects.none()
        for kind, key in keys:
            holders |= Identity.objects.filter(
                owner_team=team, kind=kind, channel="", lookup_key=key
            )
        customers = Customer.objects.active().filter(
            owner_team=team, pk__in=holders.values("customer_id")
        )
        return sorted(customers.values_list("pk", flat=True))

    def existing(self, *, team: Team, customer_ids: Iterable[int]) -> list[int]:
        wanted = [int(pk) for pk in customer_ids]
        if not wanted:
            return []
        return sorted(
            Customer.objects.active()
            .filter(owner_team=team, pk__in=wanted)
            .values_list("pk", flat=True)
        )

    def restrict(self, *, team: Team, customer_ids: list[int], restricted: bool) -> int:
        customers = Customer.objects.filter(owner_team=team, pk__in=customer_ids)
        if restricted:
            return customers.filter(processing_restricted_at__isnull=True).update(
                processing_restricted_at=timezone.now()
            )
        return customers.filter(processing_restricted_at__isnull=False).update(
            processing_restricted_at=None
        )

    def object_to_marketing(self, *, team: Team, customer_ids: list[int]) -> int:
        return (
            Customer.objects.filter(owner_team=team, pk__in=customer_ids)
            .filter(marketing_objection_at__isnull=True)
            .update(marketing_objection_at=timezone.now())
        )

    def emails(self, *, team: Team, customer_ids: Iterable[int]) -> dict[int, str | None]:
        return dict(
            Customer.objects.filter(pk__in=list(customer_ids), owner_team=team).values_list(
                "pk", "email"
            )
        )

    def get(self, customer_id: int, *, for_update: bool = False) -> Customer | None:
        customers = Customer.objects.select_for_update() if for_update else Customer.objects.all()
        return customers.filter(pk=customer_id).first()

    def active(self) -> QuerySet[Customer]:
        return Customer.objects.active()
