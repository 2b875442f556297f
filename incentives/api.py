"""API of the incentives pillar: plans and versions (document import and
export, the published schema), assignments, calculation runs (trigger,
status, publish), statements with their lines, adjustments.

Thin: every write goes through ``incentives.services``. Who sees which
statements comes from ``incentives.selectors.statements_visible``: a rep
their own, a manager their subtree's, admins and finance all."""

from __future__ import annotations

import json
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from incentives import selectors, selectors_trust, services
from incentives.api_modelling import PlanModelViewSet
from incentives.api_trust import AcknowledgementFieldsMixin, StatementAnswerMixin
from incentives.document import (
    PlanDocumentError,
    plan_document_dump,
    plan_document_validate,
    plan_schema_json,
)
from incentives.engine import LINE_COLUMNS
from incentives.models import (
    Adjustment,
    Assignment,
    CalcRun,
    Credit,
    Plan,
    PlanVersion,
    Statement,
    StatementLine,
    VersionStatus,
)
from spm.api.base import TenantGenericViewSet, TenantPrimaryKeyRelatedField
from spm.api.csv import CsvListModelMixin
from spm.api.etag import ETagMixin
from spm.api.filters import IdFilter
from spm.api.idempotency import idempotent
from spm.api.registry import tenant_router
from spm.api.scopes import Scope
from spm.models import FiscalPeriod, Membership
from spm.money import MONEY_KWARGS
from spm.permissions import ADMIN, ALL_ROLES, READ_ALL


class PlanSerializer(serializers.ModelSerializer):
    class Meta:
        model = Plan
        fields = ["id", "name", "description", "created_at"]


class PlanViewSet(ETagMixin, CsvListModelMixin, mixins.RetrieveModelMixin, TenantGenericViewSet):
    """Commission plans (a plan is created with its first version)."""

    model = Plan
    token_read_scope = Scope.INCENTIVES_READ
    serializer_class = PlanSerializer
    read_roles = READ_ALL
    ordering = ["name"]


class PlanVersionSerializer(serializers.ModelSerializer):
    plan_name = serializers.CharField(source="plan.name", read_only=True)

    class Meta:
        model = PlanVersion
        fields = [
            "id",
            "plan",
            "plan_name",
            "number",
            "status",
            "effective_from",
            "effective_to",
            "document",
            "golden_results",
            "locked_at",
            "created_at",
        ]
        read_only_fields = fields


class PlanVersionWriteSerializer(serializers.Serializer):
    plan = TenantPrimaryKeyRelatedField(model=Plan, required=False, allow_null=True)
    status = serializers.ChoiceField(choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    document = serializers.JSONField(required=False, help_text="The plan document as a JSON object")
    document_text = serializers.CharField(
        required=False, trim_whitespace=False, help_text="Or the document as YAML or JSON text"
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("document" in attrs) == ("document_text" in attrs):
            raise serializers.ValidationError(
                {"document": "Give the plan document as document (JSON) or document_text."}
            )
        if attrs.get("status") == VersionStatus.ACTIVE:
            raise serializers.ValidationError(
                {
                    "status": "A new version starts as a draft; ask for its activation "
                    "(POST approvals/ with this version), which an admin approves."
                }
            )
        return attrs


class PlanVersionUpdateSerializer(PlanVersionWriteSerializer):
    plan = None  # type: ignore[assignment]
    status = None  # type: ignore[assignment]


def _source(data: dict[str, Any]) -> Any:
    return data["document_text"] if "document_text" in data else data["document"]


class PlanVersionViewSet(
    ETagMixin, CsvListModelMixin, mixins.RetrieveModelMixin, TenantGenericViewSet
):
    """Plan versions as documents: import (create, update while unlocked),
    export as YAML or JSON, and the JSON Schema every document follows.
    Errors name the document path (``components[2].rate_table[1].from``)."""

    model = PlanVersion
    token_read_scope = Scope.INCENTIVES_READ
    serializer_class = PlanVersionSerializer
    read_roles = READ_ALL
    write_roles = ADMIN
    filterset_fields = ["plan", "status"]
    ordering = ["plan_id", "number"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.select_related("plan")

    @extend_schema(request=PlanVersionWriteSerializer, responses={201: PlanVersionSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = PlanVersionWriteSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        version = services.plan_version_create(
            self.tenant,
            source=_source(data.validated_data),
            actor=self.membership,
            plan=data.validated_data.get("plan"),
            status=data.validated_data["status"],
        )
        return Response(self.get_serializer(version).data, status=201)

    @extend_schema(request=PlanVersionUpdateSerializer, responses=PlanVersionSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        version = self.get_object()
        data = PlanVersionUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        updated = services.plan_version_update(
            self.tenant,
            version=version,
            source=_source(data.validated_data),
            actor=self.membership,
        )
        return Response(self.get_serializer(updated).data)

    @extend_schema(
        parameters=[OpenApiParameter("as", str, enum=["yaml", "json"], default="yaml")],
        responses={(200, "application/yaml"): OpenApiTypes.STR},
    )
    @action(detail=True, methods=["get"])
    def export(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        """The version's document as YAML (default) or JSON text."""
        version = self.get_object()
        fmt = request.query_params.get("as", "yaml")
        if fmt not in ("yaml", "json"):
            raise serializers.ValidationError({"as": "yaml or json"})
        try:
            document = plan_document_validate(version.document)
        except PlanDocumentError as exc:  # stored documents were validated on save
            raise serializers.ValidationError({"document": str(exc)}) from exc
        content_type = "application/yaml" if fmt == "yaml" else "application/json"
        response = HttpResponse(plan_document_dump(document, fmt=fmt), content_type=content_type)
        name = f"{version.plan.name}-v{version.number}.{fmt}".replace(" ", "-")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["get"], url_path="schema")
    def document_schema(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The JSON Schema of a plan version document."""
        return Response(json.loads(plan_schema_json()))


class AssignmentSerializer(serializers.ModelSerializer):
    membership = TenantPrimaryKeyRelatedField(model=Membership)
    version = TenantPrimaryKeyRelatedField(model=PlanVersion)
    target_incentive = serializers.DecimalField(**MONEY_KWARGS, min_value=0)
    accepted_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When the member accepted it (null: not yet)"
    )

    class Meta:
        model = Assignment
        fields = [
            "id",
            "membership",
            "version",
            "start_date",
            "end_date",
            "target_incentive",
            "payout_currency",
            "accepted_at",
        ]


class AssignmentFilter(filters.FilterSet):
    membership = IdFilter(field_name="membership_id")
    version = IdFilter(field_name="version_id")
    accepted = filters.BooleanFilter(
        field_name="accepted_at",
        lookup_expr="isnull",
        exclude=True,
        label="true: accepted by the member; false: not yet",
    )

    class Meta:
        model = Assignment
        fields = ["membership", "version", "accepted"]


class AssignmentViewSet(
    CsvListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, TenantGenericViewSet
):
    """Members on plan versions for date ranges; an overlap is refused. The
    member is asked to accept the plan (``accepted_at``, ``?accepted=false``
    for who has not)."""

    model = Assignment
    token_read_scope = Scope.INCENTIVES_READ
    serializer_class = AssignmentSerializer
    read_roles = READ_ALL
    write_roles = ADMIN
    filterset_class = AssignmentFilter
    ordering = ["membership_id", "start_date"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors_trust.with_acceptance(self.tenant, qs)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.assignment_create(
            self.tenant, actor=self.membership, **serializer.validated_data
        )


class CalcRunSerializer(serializers.ModelSerializer):
    period = TenantPrimaryKeyRelatedField(model=FiscalPeriod)
    period_label = serializers.CharField(source="period.label", read_only=True)
    progress_done = serializers.IntegerField(source="task_run.progress_done", read_only=True)
    progress_total = serializers.IntegerField(source="task_run.progress_total", read_only=True)
    task_status = serializers.CharField(source="task_run.status", read_only=True)
    task_message = serializers.CharField(source="task_run.message", read_only=True)

    class Meta:
        model = CalcRun
        fields = [
            "id",
            "period",
            "period_label",
            "status",
            "task_status",
            "task_message",
            "progress_done",
            "progress_total",
            "inputs_hash",
            "output_hash",
            "lines_written",
            "created_at",
            "published_at",
        ]
        read_only_fields = [f for f in fields if f != "period"]


class CalcRunViewSet(
    CsvListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, TenantGenericViewSet
):
    """Calculation runs: POST a period to start a preview (queued), GET for
    its progress, ``publish`` to make it the period's statements."""

    model = CalcRun
    token_read_scope = Scope.INCENTIVES_READ
    serializer_class = CalcRunSerializer
    read_roles = READ_ALL
    write_roles = READ_ALL
    filterset_fields = ["period", "status"]
    ordering = ["-created_at", "-id"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.select_related("period", "task_run")

    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Start a preview run of a period (queued)."""
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.calc_run_start(
            self.tenant, period=serializer.validated_data["period"], actor=self.membership
        )

    @extend_schema(request=None, responses=CalcRunSerializer)
    @action(detail=True, methods=["post"])
    @idempotent
    def publish(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        run = services.calc_run_publish(self.tenant, run=self.get_object(), actor=self.membership)
        return Response(self.get_serializer(run).data)


class StatementLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = StatementLine
        # The engine's line columns (one list), less those the statement holds.
        fields = [
            "id",
            "statement",
            "position",
            *(c for c in LINE_COLUMNS if c not in ("member_id", "line_key")),
            "base_amount",
            "fx_rate",
        ]
        read_only_fields = fields


class StatementSerializer(AcknowledgementFieldsMixin, serializers.ModelSerializer):
    period_label = serializers.CharField(source="period.label", read_only=True)
    member_name = serializers.CharField(source="membership.user.get_full_name", read_only=True)
    run_status = serializers.CharField(source="run.status", read_only=True)

    class Meta:
        model = Statement
        fields = [
            "id",
            "run",
            "run_status",
            "period",
            "period_label",
            "membership",
            "member_name",
            "version",
            "currency",
            "total",
            "draw_owed",
            *AcknowledgementFieldsMixin.ACK_FIELDS,
        ]
        read_only_fields = fields


class StatementViewSet(
    StatementAnswerMixin, CsvListModelMixin, mixins.RetrieveModelMixin, TenantGenericViewSet
):
    """Statements of current previews and published runs (``?run_status=``);
    a rep sees their own, a manager their subtree's, admins and finance all."""

    model = Statement
    token_read_scope = Scope.INCENTIVES_READ
    serializer_class = StatementSerializer
    read_roles = ALL_ROLES
    filterset_fields = ["period", "membership", "run", "run__status"]
    ordering = ["period_id", "membership_id"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        visible = selectors.statements_visible(self.tenant, reach=self.reach).select_related(
            "period", "membership__user", "run"
        )
        return selectors_trust.with_acknowledgement(self.tenant, visible)


class StatementLineViewSet(CsvListModelMixin, mixins.RetrieveModelMixin, TenantGenericViewSet):
    """Statement lines with their explanation (``?statement=`` for one statement)."""

    model = StatementLine
    token_read_scope = Scope.INCENTIVES_READ
    serializer_class = StatementLineSerializer
    read_roles = ALL_ROLES
    filterset_fields = ["statement", "period", "component", "kind"]
    ordering = ["statement_id", "position"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        visible = selectors.statements_visible(self.tenant, reach=self.reach)
        return qs.filter(statement__in=visible.values("pk"))


class CreditSerializer(serializers.ModelSerializer):
    class Meta:
        model = Credit
        fields = ["id", "deal_id", "recipient", "role", "amount", "credit_date"]
        read_only_fields = fields


class CreditViewSet(CsvListModelMixin, mixins.RetrieveModelMixin, TenantGenericViewSet):
    """Credits of won deals (direct, split, overlay) as the last run derived
    them; a rep sees their own, a manager their subtree's, admins and finance
    all."""

    model = Credit
    serializer_class = CreditSerializer
    read_roles = ALL_ROLES
    token_read_scope = Scope.INCENTIVES_READ
    filterset_fields = ["deal_id", "recipient", "role", "credit_date"]
    ordering = ["credit_date", "deal_id", "id"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.filter(self.reach.own("recipient"))


class AdjustmentSerializer(serializers.ModelSerializer):
    membership = TenantPrimaryKeyRelatedField(model=Membership)
    period = TenantPrimaryKeyRelatedField(model=FiscalPeriod)
    amount = serializers.DecimalField(**MONEY_KWARGS)

    class Meta:
        model = Adjustment
        fields = ["id", "membership", "period", "amount", "reason", "created_at"]
        read_only_fields = ["id", "created_at"]


class AdjustmentViewSet(
    CsvListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, TenantGenericViewSet
):
    """Manual adjustments (admin or finance, with a reason) for the next run."""

    model = Adjustment
    token_read_scope = Scope.INCENTIVES_READ
    serializer_class = AdjustmentSerializer
    read_roles = READ_ALL
    write_roles = READ_ALL
    filterset_fields = ["membership", "period"]
    ordering = ["period_id", "membership_id", "id"]

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.adjustment_create(
            self.tenant, actor=self.membership, **serializer.validated_data
        )


tenant_router.register("plans", PlanViewSet, basename="plan")
tenant_router.register("plan-versions", PlanVersionViewSet, basename="plan-version")
tenant_router.register("assignments", AssignmentViewSet, basename="assignment")
tenant_router.register("calc-runs", CalcRunViewSet, basename="calc-run")
tenant_router.register("statements", StatementViewSet, basename="statement")
tenant_router.register("statement-lines", StatementLineViewSet, basename="statement-line")
tenant_router.register("adjustments", AdjustmentViewSet, basename="adjustment")
tenant_router.register("credits", CreditViewSet, basename="credit")
tenant_router.register("plan-models", PlanModelViewSet, basename="plan-model")

# Approvals and plan acceptance register their routes on import.
import incentives.api_approvals  # noqa: E402, F401
