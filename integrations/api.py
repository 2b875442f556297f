"""API of the integrations app: the tenant's API tokens (admins, signed in)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from integrations import services
from integrations.models import ApiToken
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


tenant_router.register("tokens", ApiTokenViewSet, basename="api-token")
