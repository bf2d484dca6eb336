"""REST API for data-subject requests: ``/api/v1/privacy/requests/``.

Intake, the queue (filter by status, kind, overdue), one request, and one action per step:
``verify``, ``extend``, ``subjects``, ``fulfil`` (carry it out), ``answer`` (record the answer
sent, which closes the request and stops its clock), ``reject``, ``lift-restriction`` and the
``download`` of an access package. Views parse input, reach the request through the access layer
(another team's request is a 404, like a missing one) and call one service; a ``RequestError``
becomes a 400 naming its field.

The person's email, phone, name and words, and the staff's notes (``verification_note``,
``extension_reason``, ``outcome_note``, ``answer_note``: they may say what was corrected), are
masked in every answer except ``GET /privacy/requests/{id}/`` by a user who may view personal
data; each such read is audited as ``request.view_personal_data``.
"""

from __future__ import annotations

import functools
from contextlib import contextmanager

import django_filters
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from privacy.core.access import can_export_personal_data, can_view_personal_data, team_for_user
from privacy.core.filters import MAX_ID, FilterSet
from privacy.core.masking import masks_for
from privacy.core.rest.fields import BlankChoicesAsNullMixin
from privacy.core.rest.reauth import reauth_check_for_session
from privacy.core.rest.viewsets import ScopedViewSetMixin
from privacy.core.services.audit import audit_record
from privacy.models import (
    AnswerChannel,
    DataSubjectRequest,
    RequestChannel,
    RequestKind,
    RequestStatus,
    VerificationMethod,
)
from privacy.requests.selectors import requests_with_overdue
from privacy.requests.services.lifecycle import (
    MAX_EXTENSION_MONTHS,
    RequestError,
    intake_fields,
    request_answer_record,
    request_create,
    request_extend,
    request_fulfil,
    request_reject,
    request_restriction_lift,
    request_subjects_set,
    request_verify,
)
from privacy.requests.services.package import request_package_open

MAX_CUSTOMERS = 100
TAG = "privacy"


def _invalid(error: RequestError) -> exceptions.ValidationError:
    return exceptions.ValidationError({error.field: [error.message]})


@contextmanager
def _request_errors():
    """A step the service refuses is a 400 naming the field at fault."""
    try:
        yield
    except RequestError as error:
        raise _invalid(error) from error


# --- Serializers --------------------------------------------------------------------------------


# The person's details, and the staff's notes (they may repeat personal data: what was
# corrected, how the identity was checked), as the record of processing masks them.
_masks = functools.partial(masks_for, DataSubjectRequest)


class DataSubjectRequestSerializer(BlankChoicesAsNullMixin, serializers.ModelSerializer):
    """A request as the API shows it; the person's details and the staff's notes masked unless
    the view unmasks them."""

    owner_team = serializers.PrimaryKeyRelatedField(read_only=True)
    is_overdue = serializers.BooleanField(read_only=True)
    subject_email = serializers.CharField(read_only=True, allow_null=True)
    subject_phone = serializers.CharField(read_only=True, allow_null=True)
    subject_name = serializers.CharField(read_only=True, allow_null=True)
    details = serializers.CharField(read_only=True, allow_null=True)
    customer_ids = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    verified_by = serializers.SerializerMethodField()
    answered_by = serializers.SerializerMethodField()
    created_by = serializers.SerializerMethodField()
    has_package = serializers.SerializerMethodField()

    class Meta:
        model = DataSubjectRequest
        fields = [
            "id",
            "owner_team",
            "kind",
            "status",
            "channel",
            "received_at",
            "due_on",
            "is_overdue",
            "extension_months",
            "extension_reason",
            "extended_at",
            "subject_email",
            "subject_phone",
            "subject_name",
            "details",
            "customer_ids",
            "verification_method",
            "verification_note",
            "verified_at",
            "verified_by",
            "outcome",
            "outcome_note",
            "completed_at",
            "answered_at",
            "answer_channel",
            "answer_note",
            "answered_by",
            "progress",
            "has_package",
            "package_size",
            "package_expires_at",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_verified_by(self, subject_request: DataSubjectRequest) -> str | None:
        return (
            subject_request.verified_by.get_username() if subject_request.verified_by_id else None
        )

    def get_answered_by(self, subject_request: DataSubjectRequest) -> str | None:
        return (
            subject_request.answered_by.get_username() if subject_request.answered_by_id else None
        )

    def get_created_by(self, subject_request: DataSubjectRequest) -> str | None:
        return subject_request.created_by.get_username() if subject_request.created_by_id else None

    def get_has_package(self, subject_request: DataSubjectRequest) -> bool:
        return bool(subject_request.package)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self.context.get("show_personal_data"):
            for name, mask in _masks().items():
                if name in data:
                    data[name] = mask(data[name])
        return data


class RequestCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=RequestKind.choices)
    channel = serializers.ChoiceField(
        choices=RequestChannel.choices,
        default=RequestChannel.API,
        help_text="How the request reached you.",
    )
    received_at = serializers.DateTimeField(
        required=False, help_text="When it was received; now when left out."
    )
    subject_email = serializers.CharField(
        max_length=254, required=False, allow_blank=True, default=""
    )
    subject_phone = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        default="",
        help_text="With its country code (+44 ...).",
    )
    subject_name = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )
    details = serializers.CharField(
        max_length=5000,
        required=False,
        allow_blank=True,
        default="",
        help_text="What the person asked for, in their words.",
    )
    customer_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        max_length=MAX_CUSTOMERS,
        required=False,
        default=list,
        help_text="Customer numbers staff already know the request concerns.",
    )
    team = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        help_text="The team that handles the request; needed when you are in several teams.",
    )

    def validate_received_at(self, value):
        # Local dates of far-away years overflow; no request is that old.
        if value.year < 1970:
            raise serializers.ValidationError("Give the date the request was received.")
        return value


class VerifySerializer(serializers.Serializer):
    verification_method = serializers.ChoiceField(choices=VerificationMethod.choices)
    verification_note = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        help_text="How it was checked; required for the method 'other'.",
    )


class ExtendSerializer(serializers.Serializer):
    months = serializers.IntegerField(min_value=1, max_value=MAX_EXTENSION_MONTHS)
    extension_reason = serializers.CharField(max_length=2000, allow_blank=True)


class SubjectsSerializer(serializers.Serializer):
    customer_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        max_length=MAX_CUSTOMERS,
        allow_empty=True,
    )


class FulfilSerializer(serializers.Serializer):
    outcome_note = serializers.CharField(
        max_length=5000,
        required=False,
        allow_blank=True,
        default="",
        help_text="The answer's note; for a rectification, what was corrected (required).",
    )


class AnswerSerializer(serializers.Serializer):
    answer_channel = serializers.ChoiceField(
        choices=AnswerChannel.choices, help_text="How the answer reached the person."
    )
    answered_at = serializers.DateTimeField(
        required=False, help_text="When it was sent; now when left out."
    )
    answer_note = serializers.CharField(
        max_length=5000,
        required=False,
        allow_blank=True,
        default="",
        help_text="What was sent; must be empty for an erasure (it keeps no notes).",
    )

    def validate_answered_at(self, value):
        if value.year < 1970:
            raise serializers.ValidationError("Give the date the answer was sent.")
        return value


class RejectSerializer(serializers.Serializer):
    outcome_note = serializers.CharField(
        max_length=5000, allow_blank=True, help_text="Why the request is refused."
    )


class DataSubjectRequestFilter(FilterSet):
    status = django_filters.ChoiceFilter(choices=RequestStatus.choices)
    kind = django_filters.ChoiceFilter(choices=RequestKind.choices)
    overdue = django_filters.BooleanFilter(
        field_name="is_overdue", label="Open and past the due date"
    )

    class Meta:
        model = DataSubjectRequest
        fields = ["status", "kind", "overdue"]


# --- The viewset --------------------------------------------------------------------------------


def _step(summary: str, request_serializer=None, **extra):
    return extend_schema(
        summary=summary,
        tags=[TAG],
        request=request_serializer,
        responses={200: DataSubjectRequestSerializer},
        **extra,
    )


@extend_schema_view(
    list=extend_schema(
        summary="Data-subject requests, filter by status, kind and overdue",
        description=(
            "The person's details and the staff's notes are masked in lists; read one request "
            "to see them."
        ),
        tags=[TAG],
    ),
    retrieve=extend_schema(
        summary="One data-subject request",
        description=(
            "Shows the person's email, phone, name and words, and the staff's notes, unmasked "
            "to users who may view personal data; each such read is audited "
            "(request.view_personal_data)."
        ),
        tags=[TAG],
    ),
    create=extend_schema(
        summary="Record a data-subject request and find the customers it concerns",
        description=(
            "The person is found by the email and phone given (and by known customer numbers). "
            "Finding nobody is not an error: the request will be answered 'no data held'. "
            "Due one calendar month from receipt."
        ),
        tags=[TAG],
        request=RequestCreateSerializer,
        responses={201: DataSubjectRequestSerializer},
    ),
)
class DataSubjectRequestViewSet(
    ScopedViewSetMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Data-subject requests of the user's teams: intake, the queue and each step."""

    queryset = DataSubjectRequest.objects.all()
    serializer_class = DataSubjectRequestSerializer
    filterset_class = DataSubjectRequestFilter
    access_actions = {
        "verify": "change",
        "extend": "change",
        "subjects": "change",
        "fulfil": "change",
        "answer": "change",
        "reject": "change",
        "lift_restriction": "change",
        # Handing out the package is a step of answering the request.
        "download": "change",
    }

    def base_queryset(self):
        return requests_with_overdue()

    def _answer(
        self, subject_request: DataSubjectRequest, *, status_code: int = status.HTTP_200_OK
    ):
        fresh = self.base_queryset().get(pk=subject_request.pk)
        return Response(self.get_serializer(fresh).data, status=status_code)

    def retrieve(self, request, *args, **kwargs):
        subject_request = self.get_object()
        show = can_view_personal_data(request.user)
        if show:
            audit_record(
                action="request.view_personal_data", actor=request.user, target=subject_request
            )
        serializer = self.get_serializer(
            subject_request, context={**self.get_serializer_context(), "show_personal_data": show}
        )
        return Response(serializer.data)

    def create(self, request, *args, **kwargs):
        data = self.validated_input(RequestCreateSerializer)
        try:
            team = team_for_user(request.user, data.get("team"))
        except ValueError as error:
            raise exceptions.ValidationError({"team": [str(error)]}) from error
        with _request_errors():
            subject_request = request_create(
                team=team,
                actor=request.user,
                **intake_fields(data),
            )
        return self._answer(subject_request, status_code=status.HTTP_201_CREATED)

    @_step("Record how the person's identity was verified", VerifySerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        subject_request = self.get_object()
        data = self.validated_input(VerifySerializer)
        with _request_errors():
            subject_request = request_verify(
                subject_request=subject_request,
                method=data["verification_method"],
                note=data["verification_note"],
                actor=request.user,
            )
        return self._answer(subject_request)

    @_step(
        "Extend the deadline by one or two months, with a reason",
        ExtendSerializer,
        description="Two months at most in all, and only within the first month.",
    )
    @action(detail=True, methods=["post"])
    def extend(self, request, pk=None):
        subject_request = self.get_object()
        data = self.validated_input(ExtendSerializer)
        with _request_errors():
            subject_request = request_extend(
                subject_request=subject_request,
                months=data["months"],
                reason=data["extension_reason"],
                actor=request.user,
            )
        return self._answer(subject_request)

    @_step("Confirm which customers of the team the request concerns", SubjectsSerializer)
    @action(detail=True, methods=["post"])
    def subjects(self, request, pk=None):
        subject_request = self.get_object()
        data = self.validated_input(SubjectsSerializer)
        with _request_errors():
            subject_request = request_subjects_set(
                subject_request=subject_request,
                customer_ids=data["customer_ids"],
                actor=request.user,
            )
        return self._answer(subject_request)

    @_step(
        "Answer the request as its kind says",
        FulfilSerializer,
        description=(
            "The identity must be verified first. Nobody found: outcome 'no data held'. "
            "access: the package is built in the background (status 'processing', then "
            "'package_ready' with has_package; follow progress); erasure: the customers and "
            "everything about them are erased; restriction: they are left out of segments and "
            "campaigns; objection: marketing consents are withdrawn; rectification: records "
            "what was corrected (outcome_note). Nothing reaches the person here: the request "
            "stays open ('package_ready' or 'carried_out') until the answer is recorded."
        ),
    )
    @action(detail=True, methods=["post"])
    def fulfil(self, request, pk=None):
        subject_request = self.get_object()
        reauth_check_for_session(request)
        data = self.validated_input(FulfilSerializer)
        with _request_errors():
            subject_request = request_fulfil(
                subject_request=subject_request, note=data["outcome_note"], actor=request.user
            )
        return self._answer(subject_request)

    @_step(
        "Record how and when the answer was sent to the person",
        AnswerSerializer,
        description=(
            "Only for a request carried out ('package_ready' or 'carried_out'). Closes it "
            "('completed') and stops the deadline's clock at answered_at: it is no longer "
            "overdue."
        ),
    )
    @action(detail=True, methods=["post"])
    def answer(self, request, pk=None):
        subject_request = self.get_object()
        data = self.validated_input(AnswerSerializer)
        with _request_errors():
            subject_request = request_answer_record(
                subject_request=subject_request,
                channel=data["answer_channel"],
                sent_at=data.get("answered_at"),
                note=data["answer_note"],
                actor=request.user,
            )
        return self._answer(subject_request)

    @_step("Refuse the request, saying why", RejectSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        subject_request = self.get_object()
        data = self.validated_input(RejectSerializer)
        with _request_errors():
            subject_request = request_reject(
                subject_request=subject_request, reason=data["outcome_note"], actor=request.user
            )
        return self._answer(subject_request)

    @_step("Lift the restriction a completed restriction request set", None)
    @action(detail=True, methods=["post"], url_path="lift-restriction")
    def lift_restriction(self, request, pk=None):
        subject_request = self.get_object()
        with _request_errors():
            subject_request = request_restriction_lift(
                subject_request=subject_request, actor=request.user
            )
        return self._answer(subject_request)

    @extend_schema(
        summary="Download the access package (a ZIP), until its link expires",
        description=(
            "Needs privacy.export_personal_data (403 without). Audited "
            "(request.package_download). A request without a package, or whose link "
            "has expired, is a 400 naming 'package' (an expired download is audited as "
            "request.package_download_refused)."
        ),
        tags=[TAG],
        responses={
            (200, "application/zip"): OpenApiResponse(
                response=OpenApiTypes.BINARY, description="The package."
            ),
        },
    )
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        subject_request = self.get_object()
        if not can_export_personal_data(request.user):
            raise exceptions.PermissionDenied(
                "Downloading the package needs the permission to export personal data."
            )
        reauth_check_for_session(request)
        with _request_errors():
            handle = request_package_open(subject_request=subject_request, actor=request.user)
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=f"request-{subject_request.pk}-package.zip",
            content_type="application/zip",
        )
        response["Cache-Control"] = "no-store"
        return response
