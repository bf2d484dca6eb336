from drf_spectacular.utils import extend_schema, extend_schema_view

from privacy.core.filters import AuditEntryFilter
from privacy.core.rest.viewsets import ScopedReadOnlyViewSet
from privacy.core.serializers import AuditEntrySerializer
from privacy.models import AuditEntry


@extend_schema_view(
    list=extend_schema(summary="List audit entries, newest first", tags=["audit"]),
    retrieve=extend_schema(summary="One audit entry", tags=["audit"]),
)
class AuditEntryViewSet(ScopedReadOnlyViewSet):
    """The audit log, read-only: entries are only ever appended by services.

    Scoped by the access layer: a data steward reads her teams' entries, an administrator
    every entry (``team`` is the entry's team, null for entries of no team).
    """

    queryset = AuditEntry.objects.all()
    serializer_class = AuditEntrySerializer
    filterset_class = AuditEntryFilter
