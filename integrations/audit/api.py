"""``GET /api/v1/<tenant>/audit/``: the audit trail (admins and finance; tokens
with the ``audit:read`` scope), filtered as the audit page is, with CSV and
XLSX export (``?format=csv`` / ``?format=xlsx``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from integrations.audit.selectors import (
    AuditRecordFilter,
    audit_changes,
    audit_records_with_actors,
    object_type_name,
)
from integrations.models import AuditRecord
from spm.api.base import TenantReadOnlyViewSet
from spm.api.scopes import Scope
from spm.permissions import READ_ALL


def _plain(value: Any) -> Any:
    """A recorded value for JSON: numbers of the row as decimal strings (money
    travels as strings, never floats), the rest as recorded."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


class RecordedRowField(serializers.JSONField):
    """A row as recorded (``to_jsonb``), decimals as strings."""

    def to_representation(self, value: Any) -> Any:
        return _plain(value)


class FieldChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)


class AuditRecordSerializer(serializers.ModelSerializer):
    object_name = serializers.SerializerMethodField()
    member = serializers.IntegerField(
        source="actor_member",
        allow_null=True,
        read_only=True,
        help_text="The member who made the change (null: no one signed in).",
    )
    actor_name = serializers.SerializerMethodField()
    via = serializers.SerializerMethodField()
    token = serializers.SerializerMethodField()
    changes = serializers.SerializerMethodField()
    before = RecordedRowField(allow_null=True, read_only=True)
    after = RecordedRowField(allow_null=True, read_only=True)

    class Meta:
        model = AuditRecord
        fields = [
            "id",
            "created_at",
            "action",
            "object_type",
            "object_name",
            "object_id",
            "member",
            "actor_name",
            "via",
            "token",
            "changes",
            "before",
            "after",
        ]
        read_only_fields = fields

    def get_object_name(self, record: AuditRecord) -> str:
        return object_type_name(record.object_type)

    def get_actor_name(self, record: AuditRecord) -> str | None:
        return str(record.actor) if record.actor_id and record.actor else None

    def get_via(self, record: AuditRecord) -> str | None:
        """``page``, ``api``, ``task``; null for a change made outside the app."""
        return (record.context or {}).get("via")

    def get_token(self, record: AuditRecord) -> str | None:
        """The prefix of the API token the change was made with, if any."""
        return (record.context or {}).get("token")

    @extend_schema_field(FieldChangeSerializer(many=True))
    def get_changes(self, record: AuditRecord) -> list[dict[str, Any]]:
        return [
            {"field": change.field, "before": _plain(change.before), "after": _plain(change.after)}
            for change in audit_changes(record)
        ]


class AuditRecordViewSet(TenantReadOnlyViewSet):
    """Every recorded create, change and delete of plans, plan versions and
    components, assignments, quotas, goals, objectives, statements,
    adjustments, members and teams, newest first. ``before`` and ``after``
    are the whole row; ``changes`` lists the columns that differ. Filters:
    ``object_type`` (e.g. ``goals.quota``), ``object_id``, ``member`` (who
    made the change), ``action``, ``date_from`` and ``date_to`` (days in the tenant's time
    zone, both included)."""

    model = AuditRecord
    serializer_class = AuditRecordSerializer
    filterset_class = AuditRecordFilter
    read_roles = READ_ALL
    # No write method at all: anything but a read answers 405 (tokens: 403, no write scope).
    write_roles = READ_ALL
    token_read_scope = Scope.AUDIT_READ
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at", "-id"]

    def scope_queryset(self, qs: Any) -> Any:
        return audit_records_with_actors(qs)
