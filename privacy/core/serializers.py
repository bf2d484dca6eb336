from rest_framework import serializers

from privacy.models import AuditEntry


class AuditEntrySerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label", read_only=True)

    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "occurred_at",
            "actor",
            "team",
            "action",
            "object_type",
            "object_id",
            "ip_address",
            "request_id",
            "metadata",
        ]
        read_only_fields = fields
