"""API of statements reps trust: acknowledge, disputes (open, comment,
resolve, reject, attachment), notifications and email choices.

A rep acts only on their own statements: the acknowledge and dispute actions
look the statement up among the member's own, so anyone else's answers 404.
Disputing after the window closed answers 409 naming the day it closed.
Resolving and rejecting are finance's (``spm.reach.Reach.settles_pay``)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import fields
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from incentives import selectors, selectors_trust, services
from incentives.diffs import statement_changes
from incentives.engine.diff import CATEGORIES
from incentives.engine.estimator import Estimate
from incentives.engine.frames import ZERO
from incentives.estimates import commission_estimate, current_month
from incentives.models import (
    AckState,
    Dispute,
    DisputeStep,
    Notification,
    NotificationKind,
    PayrollExport,
    Statement,
    StatementLine,
)
from spm.api.base import TenantGenericViewSet, TenantPrimaryKeyRelatedField
from spm.api.csv import CsvListModelMixin
from spm.api.idempotency import idempotent
from spm.api.registry import tenant_router
from spm.api.scopes import Scope
from spm.models import FiscalPeriod
from spm.money import MONEY_KWARGS
from spm.permissions import ALL_ROLES, FINANCE, READ_ALL


class WindowClosedConflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The dispute window of this statement has closed."
    default_code = "window_closed"


def own_statement(view: Any, pk: Any) -> Statement:
    """The member's own visible statement ``pk``; anyone else's is 404."""
    try:
        number = int(pk)
    except (TypeError, ValueError) as exc:
        raise NotFound() from exc
    statement = (
        selectors.statements_visible(view.tenant, reach=view.reach)
        .filter(membership=view.membership, pk=number)
        .select_related("period", "membership")
        .first()
    )
    if statement is None:
        raise NotFound()
    return statement


class AcknowledgementSerializer(serializers.Serializer):
    statement = serializers.IntegerField(read_only=True)
    state = serializers.CharField(read_only=True)
    published_at = serializers.DateTimeField(read_only=True)
    window_closes_at = serializers.DateTimeField(read_only=True)
    answered_at = serializers.DateTimeField(read_only=True, allow_null=True)


class AcknowledgementFieldsMixin(serializers.Serializer):
    """A statement's acknowledgement, from ``selectors_trust.with_acknowledgement``
    (null while the statement is a preview's)."""

    ACK_FIELDS = ("ack_state", "ack_published_at", "ack_closes_at", "ack_answered_at")
    ack_state = serializers.ChoiceField(choices=AckState.choices, read_only=True, allow_null=True)
    ack_published_at = serializers.DateTimeField(read_only=True, allow_null=True)
    ack_closes_at = serializers.DateTimeField(read_only=True, allow_null=True)
    ack_answered_at = serializers.DateTimeField(read_only=True, allow_null=True)


def _ack_data(ack: Any) -> dict[str, Any]:
    return {
        "statement": ack.statement_id,
        "state": ack.state,
        "published_at": ack.published_at,
        "window_closes_at": ack.window_closes_at,
        "answered_at": ack.answered_at,
    }


class ChangeSerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=[(c, c) for c in CATEGORIES])
    subject = serializers.CharField()
    effect = serializers.DecimalField(**MONEY_KWARGS)
    text = serializers.CharField()


class StatementChangesSerializer(serializers.Serializer):
    base_run = serializers.IntegerField(allow_null=True, help_text="The run compared with")
    base_total = serializers.DecimalField(**MONEY_KWARGS, allow_null=True)
    total = serializers.DecimalField(**MONEY_KWARGS)
    difference = serializers.DecimalField(**MONEY_KWARGS)
    changes = ChangeSerializer(many=True)


class EstimateQuerySerializer(serializers.Serializer):
    period = serializers.IntegerField(
        required=False, help_text="A fiscal period id (a month or quarter); default: this month"
    )
    deals = serializers.RegexField(
        r"^\d+(,\d+)*$", required=False, help_text="Ids of your open deals, comma-separated"
    )
    amount = serializers.DecimalField(
        **MONEY_KWARGS, required=False, min_value=Decimal("0"), help_text="An amount to add"
    )


class EstimateLineSerializer(serializers.Serializer):
    component = serializers.CharField()
    kind = serializers.CharField()
    explanation = serializers.CharField()
    amount = serializers.DecimalField(**MONEY_KWARGS)


class EstimateSerializer(serializers.Serializer):
    period = serializers.IntegerField(allow_null=True)
    has_plan = serializers.BooleanField(help_text="False: no plan is assigned to you then")
    commission = serializers.DecimalField(**MONEY_KWARGS)
    bookings = serializers.DecimalField(**MONEY_KWARGS)
    quota = serializers.DecimalField(**MONEY_KWARGS, allow_null=True)
    attainment = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    band = serializers.CharField(allow_null=True)
    rate = serializers.DecimalField(max_digits=12, decimal_places=4, allow_null=True)
    accelerator_at = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    to_accelerator = serializers.DecimalField(**MONEY_KWARGS, allow_null=True)
    lines = EstimateLineSerializer(many=True)


def estimate_data(period: FiscalPeriod | None, found: Estimate | None) -> dict[str, Any]:
    """The response: the estimate, or zeros when no plan is assigned."""
    if found is None:
        empty = dict.fromkeys(EstimateSerializer().fields)
        return {
            **empty,
            "commission": ZERO,
            "bookings": ZERO,
            "lines": [],
            "has_plan": False,
            "period": period.pk if period else None,
        }
    lines = found.lines[["component", "kind", "explanation", "amount"]].to_dict("records")
    data = {f.name: getattr(found, f.name) for f in fields(found) if f.name != "lines"}
    return {**data, "lines": lines, "has_plan": True, "period": period.pk if period else None}


class StatementAnswerMixin:
    """The member's answer to their own published statement (on the
    statements endpoint)."""

    @extend_schema(request=None, responses=AcknowledgementSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Accept your own published statement within its dispute window
        (someone else's: 404; after the window: 409 naming the day it closed)."""
        statement = own_statement(self, kwargs["pk"])
        try:
            ack = services.statement_acknowledge(
                self.tenant,  # type: ignore[attr-defined]
                statement=statement,
                actor=self.membership,  # type: ignore[attr-defined]
            )
        except services.WindowClosed as exc:
            raise WindowClosedConflict(str(exc)) from exc
        return Response(_ack_data(ack))

    @extend_schema(parameters=[EstimateQuerySerializer], responses=EstimateSerializer)
    @action(detail=False, methods=["get"])
    def estimate(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Your commission in ``period`` if the picked open deals and the typed
        amount were won on its last day: the engine's own run, with the band
        reached and what is still needed for the accelerator."""
        query = EstimateQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        values = query.validated_data
        tenant = self.tenant  # type: ignore[attr-defined]
        if "period" in values:
            period = FiscalPeriod.objects.filter(tenant=tenant, pk=values["period"]).first()
            if period is None:
                raise serializers.ValidationError({"period": "No such period."})
        else:
            period = current_month(tenant)
        found = (
            None
            if period is None
            else commission_estimate(
                tenant,
                membership=self.membership,  # type: ignore[attr-defined]
                period=period,
                deal_ids=[int(d) for d in values.get("deals", "").split(",") if d],
                amount=values.get("amount"),
            )
        )
        return Response(EstimateSerializer(estimate_data(period, found)).data)

    @extend_schema(request=None, responses=StatementChangesSerializer)
    @action(detail=True, methods=["get"])
    def changes(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """What changed on this statement since the period's previous
        published run, in words, each change with its effect; the effects add
        up to the difference of the totals. No earlier run: no changes."""
        statement = self.get_object()  # type: ignore[attr-defined]
        found = statement_changes(self.tenant, statement=statement)  # type: ignore[attr-defined]
        data = {
            "base_run": found.base_run.pk if found else None,
            "base_total": found.base_total if found else None,
            "total": statement.total,
            "difference": found.difference if found else Decimal("0.00"),
            "changes": found.changes if found else [],
        }
        return Response(StatementChangesSerializer(data).data)


class DisputeStepSerializer(serializers.ModelSerializer):
    actor_name = serializers.CharField(source="actor.display_name", read_only=True, default="")

    class Meta:
        model = DisputeStep
        fields = ["id", "kind", "actor", "actor_name", "text", "created_at"]
        read_only_fields = fields


class DisputeSerializer(serializers.ModelSerializer):
    member_name = serializers.CharField(source="membership.display_name", read_only=True)
    period_label = serializers.CharField(source="statement.period.label", read_only=True)
    age_days = serializers.SerializerMethodField()
    has_attachment = serializers.SerializerMethodField()
    steps = DisputeStepSerializer(many=True, read_only=True)

    class Meta:
        model = Dispute
        fields = [
            "id",
            "statement",
            "line",
            "membership",
            "member_name",
            "period_label",
            "reason",
            "status",
            "answer",
            "adjustment",
            "attachment_name",
            "has_attachment",
            "created_at",
            "closed_at",
            "closed_by",
            "age_days",
            "steps",
        ]
        read_only_fields = fields

    def get_age_days(self, obj: Dispute) -> int:
        return selectors_trust.dispute_age_days(obj)

    def get_has_attachment(self, obj: Dispute) -> bool:
        return bool(obj.attachment_name)


class DisputeCreateSerializer(serializers.Serializer):
    statement = serializers.IntegerField(help_text="One of your own published statements")
    line = serializers.IntegerField(
        required=False, allow_null=True, help_text="A line of that statement (else the whole)"
    )
    reason = serializers.CharField(max_length=5000)
    attachment_name = serializers.CharField(max_length=200, required=False)
    attachment_type = serializers.CharField(max_length=100, required=False)
    attachment_base64 = serializers.CharField(required=False, help_text="The file, base64")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "attachment_base64" in attrs:
            if not attrs.get("attachment_name") or not attrs.get("attachment_type"):
                raise serializers.ValidationError(
                    {"attachment_name": "Name the file and its type with the attachment."}
                )
            try:
                attrs["attachment"] = base64.b64decode(attrs["attachment_base64"], validate=True)
            except (binascii.Error, ValueError) as exc:
                raise serializers.ValidationError(
                    {"attachment_base64": "This is not base64."}
                ) from exc
        return attrs


class DisputeCommentSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=5000)


class DisputeResolveSerializer(serializers.Serializer):
    amount = serializers.DecimalField(**MONEY_KWARGS)
    answer = serializers.CharField(max_length=5000)


class DisputeRejectSerializer(serializers.Serializer):
    answer = serializers.CharField(max_length=5000)


class DisputeViewSet(CsvListModelMixin, mixins.RetrieveModelMixin, TenantGenericViewSet):
    """Disputes of published statements. A rep opens them on their own
    statements and sees their own; managers their subtree's (the queue, with
    age); finance all, and finance resolves (with an adjustment) or rejects."""

    model = Dispute
    serializer_class = DisputeSerializer
    read_roles = ALL_ROLES
    write_roles = ALL_ROLES
    filterset_fields = ["status", "membership", "statement"]
    ordering = ["created_at", "id"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        visible = selectors_trust.disputes_visible(self.tenant, reach=self.reach)
        return visible.select_related("membership__user", "statement__period").prefetch_related(
            "steps__actor__user"
        )

    @extend_schema(request=DisputeCreateSerializer, responses={201: DisputeSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = DisputeCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        statement = own_statement(self, values["statement"])
        line = None
        if values.get("line") is not None:
            line = StatementLine.objects.filter(
                tenant=self.tenant, statement=statement, pk=values["line"]
            ).first()
            if line is None:
                raise serializers.ValidationError({"line": "This line is not on the statement."})
        attachment = (
            (values["attachment_name"], values["attachment_type"], values["attachment"])
            if "attachment" in values
            else None
        )
        try:
            dispute = services.dispute_open(
                self.tenant,
                statement=statement,
                actor=self.membership,
                reason=values["reason"],
                line=line,
                attachment=attachment,
            )
        except services.WindowClosed as exc:
            raise WindowClosedConflict(str(exc)) from exc
        return Response(self.get_serializer(self._reload(dispute)).data, status=201)

    def _reload(self, dispute: Dispute) -> Dispute:
        return self.tenant_queryset().get(pk=dispute.pk)

    @extend_schema(request=DisputeCommentSerializer, responses=DisputeSerializer)
    @action(detail=True, methods=["post"])
    def comment(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A comment by anyone who reaches the dispute; the member is told."""
        dispute = self.get_object()
        data = DisputeCommentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.dispute_comment(
            self.tenant, dispute=dispute, actor=self.membership, text=data.validated_data["text"]
        )
        return Response(self.get_serializer(self._reload(dispute)).data)

    def _finance_only(self) -> None:
        if not self.reach.settles_pay:
            raise PermissionDenied("Finance resolves and rejects disputes.")

    @extend_schema(request=DisputeResolveSerializer, responses=DisputeSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Finance upholds the dispute with an adjustment posted by the next run."""
        dispute = self.get_object()
        self._finance_only()
        data = DisputeResolveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.dispute_resolve(
            self.tenant, dispute=dispute, actor=self.membership, **data.validated_data
        )
        return Response(self.get_serializer(self._reload(dispute)).data)

    @extend_schema(request=DisputeRejectSerializer, responses=DisputeSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Finance rejects the dispute with an answer."""
        dispute = self.get_object()
        self._finance_only()
        data = DisputeRejectSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.dispute_reject(
            self.tenant, dispute=dispute, actor=self.membership, **data.validated_data
        )
        return Response(self.get_serializer(self._reload(dispute)).data)

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    @action(detail=True, methods=["get"])
    def attachment(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        """The file attached to the dispute (404 when there is none)."""
        dispute = self.get_object()
        if not dispute.attachment_name:
            raise NotFound("This dispute has no attachment.")
        response = HttpResponse(bytes(dispute.attachment), content_type=dispute.attachment_type)
        response["Content-Disposition"] = f'attachment; filename="{dispute.attachment_name}"'
        return response


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "link", "emailed", "created_at", "read_at"]
        read_only_fields = fields


class PreferencesSerializer(serializers.Serializer):
    email_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=NotificationKind.choices),
        help_text="The kinds you receive by email; the others stay in the app only",
    )


class NotificationViewSet(CsvListModelMixin, mixins.RetrieveModelMixin, TenantGenericViewSet):
    """The member's own notifications, newest first, and which kinds they
    receive by email."""

    model = Notification
    serializer_class = NotificationSerializer
    read_roles = ALL_ROLES
    write_roles = ALL_ROLES
    filterset_fields = ["kind"]
    ordering = ["-created_at", "-id"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.filter(recipient=self.membership)

    @extend_schema(
        request=None,
        responses=inline_serializer("NotificationsRead", {"read": serializers.IntegerField()}),
    )
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Mark every notification read."""
        count = services.notifications_read(self.tenant, membership=self.membership)
        return Response({"read": count})

    @extend_schema(methods=["GET"], request=None, responses=PreferencesSerializer)
    @extend_schema(methods=["PUT"], request=PreferencesSerializer, responses=PreferencesSerializer)
    @action(detail=False, methods=["get", "put"])
    def preferences(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Which kinds of notification you receive by email."""
        if request.method == "PUT":
            data = PreferencesSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            chosen = services.notification_preferences_set(
                self.tenant,
                membership=self.membership,
                email_kinds=data.validated_data["email_kinds"],
            )
        else:
            chosen = services.notification_preferences(self.tenant, membership=self.membership)
        return Response({"email_kinds": [kind for kind, on in chosen.items() if on]})


class CurrencyTotalSerializer(serializers.Serializer):
    currency = serializers.CharField()
    amount = serializers.DecimalField(**MONEY_KWARGS)


class PayrollExportSerializer(serializers.ModelSerializer):
    period_label = serializers.CharField(source="period.label", read_only=True)
    totals = CurrencyTotalSerializer(
        many=True, read_only=True, help_text="One total per currency (never added across)"
    )

    class Meta:
        model = PayrollExport
        fields = [
            "id",
            "period",
            "period_label",
            "sequence",
            "line_count",
            "totals",
            "created_by",
            "created_at",
        ]
        read_only_fields = [f for f in fields if f != "period"]


class PayrollExportCreateSerializer(serializers.Serializer):
    period = TenantPrimaryKeyRelatedField(model=FiscalPeriod)


class PayrollExportViewSet(CsvListModelMixin, mixins.RetrieveModelMixin, TenantGenericViewSet):
    """Payroll exports per pay period (finance creates them): the first pays
    every published line, a later one only what changed since; a period
    with unpublished statements is refused, naming whose. ``download`` gives
    the file as CSV or XLSX."""

    model = PayrollExport
    serializer_class = PayrollExportSerializer
    # Payroll figures go to tokens holding payroll:export only (read and create).
    token_read_scope = Scope.PAYROLL_EXPORT
    token_write_scope = Scope.PAYROLL_EXPORT
    read_roles = READ_ALL
    write_roles = FINANCE
    filterset_fields = ["period"]
    ordering = ["-created_at", "-id"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.select_related("period")

    @extend_schema(request=PayrollExportCreateSerializer, responses={201: PayrollExportSerializer})
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = PayrollExportCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        data.is_valid(raise_exception=True)
        export = services.payroll_export_create(
            self.tenant, period=data.validated_data["period"], actor=self.membership
        )
        return Response(self.get_serializer(export).data, status=201)

    @extend_schema(
        parameters=[OpenApiParameter("as", str, enum=["csv", "xlsx"], default="csv")],
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    @action(detail=True, methods=["get"])
    def download(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        """The export's file: employee id, earning code, amount, currency per line."""
        export = self.get_object()
        fmt = request.query_params.get("as", "csv")
        if fmt not in ("csv", "xlsx"):
            raise serializers.ValidationError({"as": "csv or xlsx"})
        return payroll_file_response(self.tenant, export, fmt)


def payroll_file_response(tenant: Any, export: PayrollExport, fmt: str) -> HttpResponse:
    name = f"payroll-{export.period.label}-{export.sequence}".replace(" ", "-")
    if fmt == "xlsx":
        response = HttpResponse(
            services.payroll_xlsx(tenant, export=export),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        response = HttpResponse(
            services.payroll_csv(tenant, export=export), content_type="text/csv; charset=utf-8"
        )
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


tenant_router.register("payroll-exports", PayrollExportViewSet, basename="payroll-export")
tenant_router.register("disputes", DisputeViewSet, basename="dispute")
tenant_router.register("notifications", NotificationViewSet, basename="notification")
