"""API of the integrations app: API tokens, webhooks, the audit trail and
background exports."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from integrations import exports, services
from integrations.audit.api import AuditRecordViewSet
from integrations.models import (
    ApiToken,
    Export,
    ExportFormat,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from integrations.webhooks import services as webhooks
from spm.api.base import TenantGenericViewSet
from spm.api.csv import CsvListModelMixin
from spm.api.registry import tenant_router
from spm.api.scopes import Scope
from spm.api.tokens import request_token
from spm.permissions import ADMIN


class ApiTokenSerializer(serializers.ModelSerializer):
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=Scope.choices))
    is_active = serializers.BooleanField(read_only=True)
    created_by = serializers.IntegerField(source="created_by_id", read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "scopes",
            "expires_at",
            "created_by",
            "created_at",
            "last_used_at",
            "revoked_at",
            "is_active",
        ]
        read_only_fields = ["id", "prefix", "created_at", "last_used_at", "revoked_at"]


class ApiTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=Scope.choices), allow_empty=False
    )
    expires_at = serializers.DateTimeField()


class IssuedTokenSerializer(ApiTokenSerializer):
    key = serializers.CharField(
        read_only=True, help_text="The secret token; shown in this answer only, never again."
    )

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "key"]


class ApiTokenViewSet(CsvListModelMixin, mixins.RetrieveModelMixin, TenantGenericViewSet):
    """The tenant's API tokens. Admins create them (the key is in the create
    answer only), list them with their last use, and revoke them
    (``POST tokens/{id}/revoke/``, effective at once). Tokens cannot manage
    tokens."""

    model = ApiToken
    serializer_class = ApiTokenSerializer
    read_roles = ADMIN
    write_roles = ADMIN
    token_read_scope = None
    ordering = ["-created_at", "-id"]
    filterset_fields = ["name"]

    @extend_schema(request=ApiTokenCreateSerializer, responses={201: IssuedTokenSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = ApiTokenCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        issued = services.api_token_create(
            self.tenant, actor=self.membership, **data.validated_data
        )
        body = IssuedTokenSerializer(issued.token).data
        body["key"] = issued.key
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ApiTokenSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        token = services.api_token_revoke(
            self.tenant, token=self.get_object(), actor=self.membership
        )
        return Response(ApiTokenSerializer(token).data)


# Webhooks ---------------------------------------------------------------------------------


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEvent.choices), allow_empty=False
    )
    secret = serializers.CharField(
        read_only=True, help_text="Signing secret (whsec_...): verify each delivery with it."
    )

    class Meta:
        model = WebhookSubscription
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "secret",
            "status",
            "status_reason",
            "consecutive_failures",
            "created_at",
        ]
        read_only_fields = [
            "id",
            "secret",
            "status",
            "status_reason",
            "consecutive_failures",
            "created_at",
        ]


class WebhookSubscriptionViewSet(
    CsvListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    TenantGenericViewSet,
):
    """Webhook subscriptions (admins): an HTTPS URL and the event types it
    receives; ``resume`` after a pause."""

    model = WebhookSubscription
    serializer_class = WebhookSubscriptionSerializer
    read_roles = ADMIN
    write_roles = ADMIN
    filterset_fields = ["status"]
    ordering = ["created_at", "id"]

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = webhooks.webhook_subscribe(
            self.tenant, actor=self.membership, **data.validated_data
        )
        return Response(self.get_serializer(subscription).data, status=201)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        subscription = self.get_object()
        data = self.get_serializer(subscription, data=request.data, partial=kwargs.get("partial"))
        data.is_valid(raise_exception=True)
        fields = {
            "url": subscription.url,
            "event_types": subscription.event_types,
            "description": subscription.description,
            **data.validated_data,
        }
        updated = webhooks.webhook_update(
            self.tenant, subscription=subscription, actor=self.membership, **fields
        )
        return Response(self.get_serializer(updated).data)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def perform_destroy(self, instance: WebhookSubscription) -> None:
        webhooks.webhook_delete(self.tenant, subscription=instance, actor=self.membership)

    @extend_schema(request=None, responses=WebhookSubscriptionSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Make a paused subscription active again."""
        subscription = webhooks.webhook_resume(
            self.tenant, subscription=self.get_object(), actor=self.membership
        )
        return Response(self.get_serializer(subscription).data)


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = [
            "number",
            "trigger",
            "requested_at",
            "status_code",
            "duration_ms",
            "response_excerpt",
            "error",
        ]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    log = WebhookAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "subscription",
            "message_id",
            "event_type",
            "payload",
            "status",
            "attempts",
            "last_status_code",
            "created_at",
            "last_attempt_at",
            "next_attempt_at",
            "log",
        ]
        read_only_fields = fields


class WebhookDeliveryViewSet(CsvListModelMixin, mixins.RetrieveModelMixin, TenantGenericViewSet):
    """The delivery log (admins): each message with its attempts; ``replay``
    sends one again."""

    model = WebhookDelivery
    serializer_class = WebhookDeliverySerializer
    read_roles = ADMIN
    write_roles = ADMIN
    filterset_fields = ["subscription", "status", "event_type"]
    ordering = ["-created_at", "-id"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.prefetch_related("log")

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"])
    def replay(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Send this message again (same ``webhook-id``, new signature)."""
        delivery = webhooks.webhook_delivery_replay(
            self.tenant, delivery=self.get_object(), actor=self.membership
        )
        return Response(self.get_serializer(delivery).data, status=202)


# Exports in the background ----------------------------------------------------------------


class ExportSerializer(serializers.ModelSerializer):
    status = serializers.CharField(source="task_run.status", read_only=True)
    message = serializers.CharField(source="task_run.message", read_only=True)
    finished_at = serializers.DateTimeField(source="task_run.finished_at", read_only=True)
    download = serializers.SerializerMethodField()

    class Meta:
        model = Export
        fields = [
            "id",
            "path",
            "format",
            "status",
            "message",
            "size",
            "created_at",
            "finished_at",
            "expires_at",
            "download",
        ]
        read_only_fields = fields

    def get_download(self, export: Export) -> str | None:
        """Where the finished file is downloaded (None until it is written)."""
        if not export.file:
            return None
        return reverse(
            "export-download", kwargs={"tenant_slug": self.context["tenant"].slug, "pk": export.pk}
        )


class ExportCreateSerializer(serializers.Serializer):
    path = serializers.CharField(
        max_length=2000,
        help_text="An API read of this tenant, relative to its API root "
        "(deals/?status=won) or absolute (/api/v1/<tenant>/deals/?status=won).",
    )
    format = serializers.ChoiceField(choices=ExportFormat.choices, default=ExportFormat.CSV)


class ExportNotReady(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This export has no file to download."
    default_code = "export_not_ready"


class ExportViewSet(CsvListModelMixin, mixins.RetrieveModelMixin, TenantGenericViewSet):
    """Exports in the background: ``POST exports/`` with an API read of this
    tenant (a list with its filters, or a report) answers 202 at once; a worker
    writes the file as the caller, with the caller's reach; ``GET
    exports/{id}/`` says when it is ready and ``exports/{id}/download/`` hands
    it out. Each member sees only their own exports; files are kept for
    ``SPM_EXPORT_DAYS`` days. A token may export what it may read."""

    model = Export
    serializer_class = ExportSerializer
    ordering = ["-created_at", "-id"]
    filterset_fields = ["format"]

    def check_token(self, request: Request, *, tenant_id: int, safe: bool) -> None:
        # Asking for an export reads its target: ``create`` checks the target's scope.
        token = request_token(request)
        if token is not None and token.tenant_id != tenant_id:
            raise NotFound()

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.filter(self.reach.exports()).select_related("task_run")

    @extend_schema(request=ExportCreateSerializer, responses={202: ExportSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = ExportCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token = request_token(request)
        export = exports.export_request(
            self.tenant,
            path=data.validated_data["path"],
            export_format=data.validated_data["format"],
            requested_by=self.membership,
            scopes=frozenset(token.scopes) if token is not None else None,
        )
        body = self.get_serializer(export).data
        return Response(
            body,
            status=status.HTTP_202_ACCEPTED,
            headers={
                "Location": reverse(
                    "export-detail", kwargs={"tenant_slug": self.tenant.slug, "pk": export.pk}
                )
            },
        )

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    @action(detail=True, methods=["get"])
    def download(self, request: Request, *args: Any, **kwargs: Any) -> FileResponse:
        """The export's file (409 while it is being written, or when it failed)."""
        export = self.get_object()
        if not export.file:
            raise ExportNotReady(
                f"Export {export.pk} is {export.task_run.get_status_display().lower()}: "
                "there is no file to download."
            )
        return FileResponse(
            exports.export_open(export),
            as_attachment=True,
            filename=exports.export_filename(export),
            content_type=exports.MEDIA_TYPES[export.format],
        )


tenant_router.register("exports", ExportViewSet, basename="export")
tenant_router.register("tokens", ApiTokenViewSet, basename="api-token")
tenant_router.register("webhooks", WebhookSubscriptionViewSet, basename="webhook")
tenant_router.register("webhook-deliveries", WebhookDeliveryViewSet, basename="webhook-delivery")
tenant_router.register("audit", AuditRecordViewSet, basename="audit-record")
