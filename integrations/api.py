"""API of the integrations app: the tenant's API tokens (admins, signed in)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from integrations import services
from integrations.audit.api import AuditRecordViewSet
from integrations.models import (
    ApiToken,
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


tenant_router.register("tokens", ApiTokenViewSet, basename="api-token")
tenant_router.register("webhooks", WebhookSubscriptionViewSet, basename="webhook")
tenant_router.register("webhook-deliveries", WebhookDeliveryViewSet, basename="webhook-delivery")
tenant_router.register("audit", AuditRecordViewSet, basename="audit-record")
