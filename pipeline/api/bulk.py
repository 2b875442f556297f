"""Bulk upsert by external_id: the item serializers, the result shape and the viewset mixin."""

from __future__ import annotations

from typing import Any, ClassVar

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from pipeline import sync
from pipeline.api.common import MAX_BULK_ITEMS
from pipeline.models import (
    ChangeSource,
    ImportKind,
)
from spm.api.errors import problem
from spm.api.idempotency import idempotent
from spm.money import PERCENT_KWARGS
from spm.reach import Reach


def _bulk_item_serializer(kind: str) -> type[serializers.Serializer]:
    """A schema-only serializer listing the sync fields of ``kind`` (the engine
    parses the items itself, exactly as it parses CSV rows)."""
    fields: dict[str, serializers.Field] = {}
    for spec in sync.FIELDS[kind].values():
        help_text = spec.help or spec.label
        if spec.name == "splits":
            fields[spec.name] = serializers.ListField(
                child=inline_serializer(
                    "DealSyncSplit",
                    {
                        "member": serializers.CharField(help_text="Member id, email or full name."),
                        "percent": serializers.DecimalField(**PERCENT_KWARGS),
                    },
                ),
                required=False,
                help_text="Credit splits adding up to exactly 100.",
            )
        else:
            fields[spec.name] = serializers.CharField(
                required=spec.required, allow_blank=not spec.required, help_text=help_text
            )
    name = f"{kind.title()[:-1] if kind != ImportKind.ACTIVITIES else 'Activity'}SyncItem"
    return type(name, (serializers.Serializer,), fields)


BulkResultSerializer = inline_serializer(
    "BulkUpsertResult",
    {
        "created": serializers.IntegerField(),
        "updated": serializers.IntegerField(),
        "unchanged": serializers.IntegerField(),
        "accounts_created": serializers.IntegerField(),
        "stage_changes": serializers.IntegerField(),
    },
)


class BulkUpsertMixin:
    """``POST <resource>/bulk/`` with ``{"items": [...]}`` (admin): upsert by
    ``external_id``, all or nothing; a rejected batch answers 400 with one
    error per bad field of every bad item (``items[3].amount``)."""

    bulk_kind: ClassVar[str]
    tenant: Any
    membership: Any
    reach: Reach

    def bulk_upsert(self, request: Request) -> Response:
        if not self.reach.is_admin:
            return problem(403, "Forbidden", "This action needs one of these roles: admin.")
        items = request.data.get("items") if isinstance(request.data, dict) else None
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            return problem(
                400,
                "Invalid input",
                "items: Send a list of objects.",
                [{"field": "items", "message": "Send a list of objects."}],
            )
        if len(items) > MAX_BULK_ITEMS:
            message = f"Send at most {MAX_BULK_ITEMS} items per request (got {len(items)})."
            return problem(
                400, "Invalid input", f"items: {message}", [{"field": "items", "message": message}]
            )
        rows = list(enumerate(items))
        try:
            result = sync.upsert(
                self.tenant, self.bulk_kind, rows, actor=self.membership, via=ChangeSource.SYNC
            )
        except sync.BatchInvalid as exc:
            errors = [
                {"field": f"items[{e.row}].{e.field}", "message": e.message, "index": e.row}
                for e in exc.errors
            ]
            bad = len({e.row for e in exc.errors})
            return problem(
                400,
                "Invalid input",
                f"{bad} of {len(items)} items are invalid; nothing was written.",
                errors,
            )
        data = result.as_dict()
        data.pop("skipped")
        return Response(data)


def bulk_action(kind: str) -> Any:
    item = _bulk_item_serializer(kind)

    @extend_schema(
        request=inline_serializer(f"{item.__name__}Batch", {"items": item(many=True)}),
        responses={200: BulkResultSerializer},
        description=(
            "Create or update records by external_id, all or nothing. Sending the same batch "
            "twice changes nothing the second time. Admin only."
        ),
    )
    @action(detail=False, methods=["post"], url_path="bulk")
    @idempotent
    def bulk(self: BulkUpsertMixin, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.bulk_upsert(request)

    return bulk
