"""REST API for consent: ``/api/v1/consents/`` (record, list by customer, send a double opt-in)
and ``/api/v1/privacy/notices/`` (list, read, publish a version).

Views parse input, reach the customer through the access layer (a customer of another team is
a 404, like a missing one) and call one service; a ``ConsentError`` becomes a 400 naming its
field.
"""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from privacy.consent.services.double_opt_in import double_opt_in_send
from privacy.consent.services.notices import notice_publish
from privacy.consent.services.records import EVIDENCE_FIELDS, ConsentError, consent_record
from privacy.core.access import can_view_personal_data, get_for_user
from privacy.core.filters import FilterSet, IdFilter
from privacy.core.masking import MASK
from privacy.core.rest.viewsets import ScopedViewSetMixin
from privacy.core.subjects import subject_directory
from privacy.models import (
    ConsentChannel,
    ConsentEvent,
    ConsentPurpose,
    ConsentSource,
    ConsentStatus,
    LawfulBasis,
    PrivacyNotice,
)

# Sources an API client may claim; the others belong to their own paths (imports, the
# preference centre, one-click unsubscribe, double opt-in).
API_SOURCES = (ConsentSource.FORM, ConsentSource.API, ConsentSource.STAFF)


def _invalid(error: ConsentError) -> exceptions.ValidationError:
    return exceptions.ValidationError({error.field: [error.message]})


def _customer_to_change(request, pk: int):
    """The active customer the user may change; a missing or forbidden one is a 404."""
    return get_for_user(request.user, subject_directory().active(), pk=pk, action="change")


# --- Consents -----------------------------------------------------------------------------------


class ConsentEventSerializer(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id", read_only=True)
    purpose = serializers.SlugRelatedField(slug_field="code", read_only=True)
    notice_version = serializers.CharField(
        source="notice.version", default=None, read_only=True, allow_null=True
    )
    recorded_by = serializers.SerializerMethodField()
    evidence = serializers.SerializerMethodField()

    class Meta:
        model = ConsentEvent
        fields = [
            "id",
            "customer",
            "purpose",
            "channel",
            "status",
            "lawful_basis",
            "source",
            "source_reference",
            "evidence",
            "notice",
            "notice_version",
            "recorded_by",
            "occurred_at",
            "expires_at",
        ]
        read_only_fields = fields

    def get_recorded_by(self, event: ConsentEvent) -> str | None:
        return event.recorded_by.get_username() if event.recorded_by_id else None

    def get_evidence(self, event: ConsentEvent) -> dict:
        # Evidence holds addresses and browsers: masked for roles without personal data.
        if self.context.get("can_view_personal_data"):
            return event.evidence
        return dict.fromkeys(event.evidence, MASK)


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            name: {"type": "string" if kind is str else "integer", "nullable": True}
            for name, kind in EVIDENCE_FIELDS.items()
        },
        "additionalProperties": False,
    }
)
class EvidenceField(serializers.DictField):
    """The evidence of a consent event (``privacy.consent.services.records.EVIDENCE_FIELDS``); the
    service refuses any other field, naming it."""


class ConsentRecordSerializer(serializers.Serializer):
    customer = serializers.IntegerField(min_value=1)
    purpose = serializers.CharField(max_length=64, help_text="Code of an active purpose.")
    channel = serializers.CharField(
        max_length=16,
        required=False,
        help_text="Optional when the purpose is asked on one channel only.",
    )
    status = serializers.ChoiceField(choices=ConsentStatus.choices)
    lawful_basis = serializers.ChoiceField(choices=LawfulBasis.choices, default=LawfulBasis.CONSENT)
    source = serializers.ChoiceField(
        choices=[(value, ConsentSource(value).label) for value in API_SOURCES],
        default=ConsentSource.API,
    )
    source_reference = serializers.CharField(
        max_length=128, required=False, allow_blank=True, default=""
    )
    evidence = EvidenceField(
        required=False,
        default=dict,
        help_text=(
            "Proof of how the choice was made, with these fields only; an email address or "
            "phone number inside a value is replaced with [removed]."
        ),
    )
    notice = serializers.PrimaryKeyRelatedField(
        queryset=PrivacyNotice.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="Id of the privacy-notice version the person was shown.",
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class DoubleOptInSerializer(serializers.Serializer):
    customer = serializers.IntegerField(min_value=1)
    purpose = serializers.CharField(max_length=64, default="email_marketing")


class ConsentEventFilter(FilterSet):
    customer = IdFilter(field_name="customer_id")
    purpose = django_filters.CharFilter(field_name="purpose__code")
    channel = django_filters.ChoiceFilter(choices=ConsentChannel.choices)
    status = django_filters.ChoiceFilter(choices=ConsentStatus.choices)
    source = django_filters.ChoiceFilter(choices=ConsentSource.choices)

    class Meta:
        model = ConsentEvent
        fields = ["customer", "purpose", "channel", "status", "source"]


def _channel_for(data: dict) -> str:
    """The requested channel, or the purpose's only channel when none was given."""
    if data.get("channel"):
        return data["channel"]
    purpose = ConsentPurpose.objects.filter(code=data["purpose"], is_active=True).first()
    if purpose is None:
        return ""  # the service names the unknown purpose
    if len(purpose.channels) != 1:
        raise exceptions.ValidationError(
            {"channel": [_("Name the channel: this purpose is asked on several.")]}
        )
    return purpose.channels[0]


@extend_schema_view(
    list=extend_schema(
        summary="Consent events, newest first (filter by customer, purpose, channel, status)",
        tags=["consents"],
    ),
    retrieve=extend_schema(summary="One consent event", tags=["consents"]),
    create=extend_schema(
        summary="Record a consent event",
        description=(
            "Appends an event; events are never changed. The current state of a purpose on a "
            "channel is its latest event."
        ),
        tags=["consents"],
        request=ConsentRecordSerializer,
        responses={201: ConsentEventSerializer},
    ),
)
class ConsentEventViewSet(
    ScopedViewSetMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Consent events of the user's teams: append and read, never change."""

    queryset = ConsentEvent.objects.all()
    serializer_class = ConsentEventSerializer
    filterset_class = ConsentEventFilter
    access_actions = {"double_opt_in": "add"}

    def base_queryset(self):
        return ConsentEvent.objects.select_related("purpose", "notice", "recorded_by")

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["can_view_personal_data"] = can_view_personal_data(self.request.user)
        return context

    def create(self, request, *args, **kwargs):
        data = self.validated_input(ConsentRecordSerializer)
        customer = _customer_to_change(request, data["customer"])
        try:
            event = consent_record(
                customer=customer,
                purpose_code=data["purpose"],
                channel=_channel_for(data),
                status=data["status"],
                source=data["source"],
                lawful_basis=data["lawful_basis"],
                actor=request.user,
                evidence=data["evidence"],
                notice=data["notice"],
                source_reference=data["source_reference"],
                expires_at=data["expires_at"],
            )
        except ConsentError as error:
            raise _invalid(error) from error
        event = self.base_queryset().get(pk=event.pk)
        return Response(self.get_serializer(event).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Email the customer a double opt-in confirmation link (valid 7 days)",
        tags=["consents"],
        request=DoubleOptInSerializer,
        responses={202: inline_serializer("DoubleOptInSent", {"detail": serializers.CharField()})},
    )
    @action(detail=False, methods=["post"], url_path="double-opt-in")
    def double_opt_in(self, request, *args, **kwargs):
        data = self.validated_input(DoubleOptInSerializer)
        customer = _customer_to_change(request, data["customer"])
        try:
            double_opt_in_send(
                customer=customer,
                purpose_code=data["purpose"],
                actor=request.user,
                base_url=request.build_absolute_uri("/"),
            )
        except ConsentError as error:
            raise _invalid(error) from error
        return Response(
            {"detail": _("The confirmation email was sent.")}, status=status.HTTP_202_ACCEPTED
        )


# --- Privacy notices ----------------------------------------------------------------------------


class PrivacyNoticeSerializer(serializers.ModelSerializer):
    class Meta:
        model = PrivacyNotice
        fields = ["id", "version", "language", "text", "text_sha256", "published_at"]
        read_only_fields = fields


class NoticePublishSerializer(serializers.Serializer):
    version = serializers.CharField(max_length=32)
    language = serializers.RegexField(
        r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$",
        max_length=16,
        default="en",
        help_text="A language code: en, zh-hans.",
    )
    text = serializers.CharField(trim_whitespace=False)


@extend_schema_view(
    list=extend_schema(summary="Published privacy-notice versions", tags=["consents"]),
    retrieve=extend_schema(summary="One privacy-notice version", tags=["consents"]),
    create=extend_schema(
        summary="Publish a privacy-notice version",
        description=(
            "The text of a published version never changes: publishing it again with the same "
            "text returns it (200), with another text is refused (400 on version)."
        ),
        tags=["consents"],
        request=NoticePublishSerializer,
        responses={200: PrivacyNoticeSerializer, 201: PrivacyNoticeSerializer},
    ),
)
class PrivacyNoticeViewSet(
    ScopedViewSetMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Versions of the privacy notice, each with the SHA-256 of its text."""

    queryset = PrivacyNotice.objects.all()
    serializer_class = PrivacyNoticeSerializer
    filterset_fields = ["version", "language"]

    def create(self, request, *args, **kwargs):
        data = self.validated_input(NoticePublishSerializer)
        was_published = PrivacyNotice.objects.filter(
            version=data["version"].strip(), language=data["language"].strip().lower()
        ).exists()
        try:
            notice = notice_publish(
                version=data["version"],
                language=data["language"],
                text=data["text"],
                actor=request.user,
            )
        except ConsentError as error:
            raise _invalid(error) from error
        return Response(
            self.get_serializer(notice).data,
            status=status.HTTP_200_OK if was_published else status.HTTP_201_CREATED,
        )
