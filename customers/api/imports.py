"""REST API for imports: upload a file, follow its progress, download its row report."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from customers.api.customers import owner_team_for_request
from customers.models import ImportJob
from customers.serializers import ImportJobSerializer, ImportUploadSerializer
from customers.services.csv_exports import import_report_csv_export
from customers.services.csv_files import MAX_UPLOAD_BYTES
from customers.services.imports import import_job_cancel, import_job_create, import_job_retry
from privacy.core.access import can_export_personal_data
from privacy.core.exports import csv_response
from privacy.core.rest.parsers import FormParser, JSONParser, MultiPartParser
from privacy.core.rest.reauth import reauth_check_for_session
from privacy.core.rest.viewsets import ScopedViewSetMixin


@extend_schema_view(
    list=extend_schema(summary="List imports", tags=["imports"]),
    retrieve=extend_schema(summary="One import with its progress", tags=["imports"]),
)
class ImportJobViewSet(
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = ImportJob.objects.all()
    serializer_class = ImportJobSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    # Queueing a job again or cancelling it is what starting one takes.
    access_actions = {"report": "view", "retry": "add", "cancel": "add"}

    def base_queryset(self):
        return ImportJob.objects.select_related("owner_team")

    @extend_schema(
        summary="Upload a CSV file to import",
        tags=["imports"],
        request={"multipart/form-data": ImportUploadSerializer},
        responses={201: ImportJobSerializer},
    )
    def create(self, request, *args, **kwargs):
        # Refuse an oversized upload before reading its body.
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > MAX_UPLOAD_BYTES + 1024 * 1024:
            raise exceptions.ValidationError(
                {
                    "file": f"The file is larger than the {MAX_UPLOAD_BYTES // (1024 * 1024)} MB "
                    "limit. Split it into smaller files."
                }
            )
        serializer = ImportUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        team = owner_team_for_request(request, data.get("owner_team"))
        option_names = ("default_country", "source_channel", "currency", "delimiter", "date_order")
        options = {key: data[key] for key in option_names if data.get(key)}
        if not data["has_header"]:
            options["has_header"] = False
        if data["keep_file"]:
            options["keep_file"] = True
        try:
            job = import_job_create(
                user=request.user,
                team=team,
                upload=data["file"],
                kind=data["kind"],
                mapping=data.get("mapping"),
                options=options,
                is_dry_run=data["dry_run"],
            )
        except DjangoValidationError as error:
            raise exceptions.ValidationError(error.message_dict) from error
        return Response(ImportJobSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="The row report as CSV: line, outcome, warnings, reason, customer",
        description=(
            "An export of personal data: it needs privacy.export_personal_data (403 without), "
            "and is audited (import.report_download) before it is sent."
        ),
        tags=["imports"],
        responses={(200, "text/csv"): str},
    )
    @action(detail=True, methods=["get"])
    def report(self, request, pk=None):
        job = self.get_object()
        if not can_export_personal_data(request.user):
            raise exceptions.PermissionDenied(
                "Downloading the row report needs the permission to export personal data."
            )
        reauth_check_for_session(request)
        lines = import_report_csv_export(actor=request.user, job=job)
        return csv_response(lines, filename=f"import-{job.pk}-report.csv")

    @extend_schema(
        summary="Queue again an import that is waiting to start or that failed",
        description=(
            "For a job whose queueing failed (still waiting, its error says it could not be "
            "queued) or that failed; a failed one resumes after its last committed rows and "
            "needs its file (kept at upload). Audited (import.retry). A job in another state, "
            "or without its file, is a 400 naming status or file. Needs the permission to "
            "create imports."
        ),
        tags=["imports"],
        request=None,
        responses={200: ImportJobSerializer},
    )
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        return self._restart(request, import_job_retry)

    @extend_schema(
        summary="Cancel an import that is waiting to start or that failed",
        description=(
            "No worker runs it afterwards and its file is deleted; rows a failed run imported "
            "stay. Audited (import.cancel). A job in another state is a 400 naming status. "
            "Needs the permission to create imports."
        ),
        tags=["imports"],
        request=None,
        responses={200: ImportJobSerializer},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._restart(request, import_job_cancel)

    def _restart(self, request, service) -> Response:
        job = self.get_object()
        try:
            service(user=request.user, job=job)
        except DjangoValidationError as error:
            raise exceptions.ValidationError(error.message_dict) from error
        # A retry queues the job after its commit: read again what queueing made of it.
        return Response(ImportJobSerializer(self.base_queryset().get(pk=job.pk)).data)
