"""Report endpoints of the KPI pillar under /api/v1/<tenant>/, reading snapshots.

- ``kpi-values/``: snapshot rows with filters (period, period_kind,
  fiscal_year, subject_kind, subject_id, kpi); ``{id}/`` for one row.
- ``kpi-reports/series/``: one subject's KPIs over periods of a kind.
- ``kpi-reports/leaderboard/``: reps ranked on a KPI in a period.
- ``kpi-reports/scorecard/``: a subject's KPIs in a period with RAG colours.

Every endpoint answers JSON, or CSV with ``?format=csv`` (or ``Accept:
text/csv``). Scope: admins and finance read every subject; a manager the
members and teams of their subtree and themselves; a rep their own member
figures, plus the leaderboard (ranked KPI only). Outside it: 404.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.http.response import HttpResponseBase
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from kpis import selectors
from kpis.definitions import kpi_def, normalise
from kpis.models import KpiValue, SubjectKind
from spm.api.base import TenantGenericViewSet, TenantReadOnlyViewSet
from spm.api.csv import RENDERERS, csv_or_json
from spm.api.filters import IdFilter, IntegerFilter
from spm.api.registry import tenant_router
from spm.models import FiscalPeriod, Role, Team
from spm.selectors import managed_team_ids


def subject_scope(viewer: Any, tenant: Any) -> Q | None:
    """The snapshot rows ``viewer`` may read, as a condition (None: all)."""
    if viewer.role in (Role.ADMIN, Role.FINANCE):
        return None
    if viewer.role == Role.MANAGER:
        teams = managed_team_ids(tenant, membership=viewer)
        member_ids = selectors.members_visible(tenant, viewer=viewer).values_list("pk", flat=True)
        return Q(subject_kind=SubjectKind.TEAM, subject_id__in=list(teams)) | Q(
            subject_kind=SubjectKind.MEMBER, subject_id__in=list(member_ids)
        )
    return Q(subject_kind=SubjectKind.MEMBER, subject_id=viewer.pk)


class KpiValueSerializer(serializers.ModelSerializer):
    period_label = serializers.CharField(source="period.label", read_only=True)
    period_kind = serializers.CharField(source="period.kind", read_only=True)
    # Not get_value: that name is Field.get_value, which a nested serializer calls.
    value = serializers.SerializerMethodField(method_name="value_text")

    class Meta:
        model = KpiValue
        fields = [
            "id",
            "period",
            "period_label",
            "period_kind",
            "subject_kind",
            "subject_id",
            "kpi",
            "value",
            "computed_at",
        ]

    def value_text(self, obj: KpiValue) -> str | None:
        """Decimal string: money to cents, counts whole, ratios at ten places."""
        return _dec(normalise(obj.value, kpi_def(obj.kpi).unit))


class KpiValueFilter(filters.FilterSet):
    period = IdFilter(field_name="period_id")
    period_kind = filters.ChoiceFilter(
        field_name="period__kind",
        choices=[("month", "month"), ("quarter", "quarter"), ("year", "year")],
    )
    fiscal_year = IntegerFilter(field_name="period__fiscal_year")
    subject_kind = filters.ChoiceFilter(choices=SubjectKind.choices)
    subject_id = IntegerFilter(min_value=0)
    kpi = filters.CharFilter()

    class Meta:
        model = KpiValue
        fields = ["period", "period_kind", "fiscal_year", "subject_kind", "subject_id", "kpi"]


class KpiValueViewSet(TenantReadOnlyViewSet):
    """KPI snapshot values by subject and period (JSON or ``?format=csv``)."""

    queryset = KpiValue.all_tenants.all()
    serializer_class = KpiValueSerializer
    filterset_class = KpiValueFilter
    ordering_fields = ["period__start", "value", "kpi"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        condition = subject_scope(self.membership, self.tenant)
        qs = qs.select_related("period").order_by(
            "period__start", "subject_kind", "subject_id", "kpi"
        )
        return qs if condition is None else qs.filter(condition)


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


class KpiReportViewSet(mixins.ListModelMixin, TenantGenericViewSet):
    """Time series, leaderboards and scorecards built from snapshots."""

    queryset = KpiValue.all_tenants.all()
    renderer_classes = RENDERERS
    pagination_class = None
    serializer_class = KpiValueSerializer

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        condition = subject_scope(self.membership, self.tenant)
        return qs if condition is None else qs.filter(condition)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response({"reports": ["series", "leaderboard", "scorecard"]})

    def _subject(self, request: Request) -> tuple[str, int]:
        kind = request.query_params.get("subject_kind", SubjectKind.MEMBER)
        raw = request.query_params.get(
            "subject_id", str(self.membership.pk) if kind == "member" else "0"
        )
        if kind not in SubjectKind.values or not raw.isdigit():
            raise serializers.ValidationError(
                {"subject_kind": "Use member, team or tenant with a numeric subject_id."}
            )
        sid = int(raw)
        viewer = self.membership
        if viewer.role in (Role.ADMIN, Role.FINANCE):
            allowed = kind != SubjectKind.TENANT or sid == 0
        elif kind == SubjectKind.MEMBER:
            allowed = selectors.members_visible(self.tenant, viewer=viewer).filter(pk=sid).exists()
        elif kind == SubjectKind.TEAM:
            allowed = selectors.teams_visible(self.tenant, viewer=viewer).filter(pk=sid).exists()
        else:
            allowed = False
        if not allowed:
            raise Http404()
        return kind, sid

    def _period(self, request: Request) -> FiscalPeriod:
        raw = request.query_params.get("period", "")
        periods = selectors.periods_for_picker(self.tenant)
        period = selectors.period_selected(self.tenant, periods=periods, period_id=raw)
        if raw and (period is None or str(period.pk) != raw):
            raise Http404()
        if period is None:
            raise Http404()
        return period

    @extend_schema(
        parameters=[
            OpenApiParameter("subject_kind", str, enum=SubjectKind.values),
            OpenApiParameter("subject_id", int),
            OpenApiParameter(
                "kpi",
                str,
                many=True,
                description="Repeat or comma-separate; default bookings,quota,attainment",
            ),
            OpenApiParameter("period_kind", str, enum=["month", "quarter", "year"]),
            OpenApiParameter("fiscal_year", int),
        ],
        responses=inline_serializer(
            "KpiSeries", {"rows": serializers.ListField(child=serializers.DictField())}
        ),
    )
    @action(detail=False)
    def series(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        kind, sid = self._subject(request)
        kpis = [k for raw in request.query_params.getlist("kpi") for k in raw.split(",") if k] or [
            "bookings",
            "quota",
            "attainment",
        ]
        qs = FiscalPeriod.objects.filter(
            tenant=self.tenant, kind=request.query_params.get("period_kind", "month")
        )
        if request.query_params.get("fiscal_year", "").isdigit():
            qs = qs.filter(fiscal_year=int(request.query_params["fiscal_year"]))
        points = selectors.series(
            self.tenant, kind=kind, subject_id=sid, kpis=kpis, periods=list(qs.order_by("start"))
        )
        rows = [
            {
                "period": p.period.pk,
                "period_label": p.period.label,
                **{k: _dec(normalise(p.values.get(k), kpi_def(k).unit)) for k in kpis},
            }
            for p in points
        ]
        return csv_or_json(
            request, {"rows": rows}, columns=["period", "period_label", *kpis], filename="series"
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("kpi", str, enum=selectors.LEADERBOARD_KPIS),
            OpenApiParameter("period", int),
            OpenApiParameter("team", int),
        ],
        responses=inline_serializer(
            "KpiLeaderboard", {"rows": serializers.ListField(child=serializers.DictField())}
        ),
    )
    @action(detail=False)
    def leaderboard(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        kpi = request.query_params.get("kpi", "bookings")
        if kpi not in selectors.LEADERBOARD_KPIS:
            raise serializers.ValidationError(
                {"kpi": f"Choose one of: {', '.join(selectors.LEADERBOARD_KPIS)}."}
            )
        period = self._period(request)
        team = None
        if request.query_params.get("team"):
            team = Team.objects.filter(tenant=self.tenant, pk=request.query_params["team"]).first()
            if team is None:
                raise Http404()
        board = selectors.leaderboard(
            self.tenant, period=period, kpi=kpi, viewer=self.membership, team=team
        )
        rows = [
            {
                "rank": r.rank,
                "member": r.member.pk,
                "name": r.member.display_name,
                "team": r.member.team.name if r.member.team else "",
                "kpi": kpi,
                "value": _dec(normalise(r.value, kpi_def(kpi).unit)),
            }
            for r in board
        ]
        return csv_or_json(
            request,
            {"period": period.label, "rows": rows},
            columns=["rank", "member", "name", "team", "kpi", "value"],
            filename="leaderboard",
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("subject_kind", str, enum=SubjectKind.values),
            OpenApiParameter("subject_id", int),
            OpenApiParameter("period", int),
        ],
        responses=inline_serializer(
            "KpiScorecard", {"rows": serializers.ListField(child=serializers.DictField())}
        ),
    )
    @action(detail=False)
    def scorecard(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        kind, sid = self._subject(request)
        period = self._period(request)
        rows = [
            {
                "kpi": row.kpi.key,
                "label": row.kpi.label,
                "unit": row.kpi.unit,
                "value": _dec(normalise(row.cell.value, row.kpi.unit)),
                "target": _dec(row.target),
                "rag": row.cell.rag,
            }
            for row in selectors.scorecard(self.tenant, period=period, kind=kind, subject_id=sid)
        ]
        body = {"period": period.label, "subject_kind": kind, "subject_id": sid, "rows": rows}
        return csv_or_json(
            request,
            body,
            columns=["kpi", "label", "unit", "value", "target", "rag"],
            filename="scorecard",
        )


tenant_router.register("kpi-values", KpiValueViewSet, basename="kpi-value")
tenant_router.register("kpi-reports", KpiReportViewSet, basename="kpi-report")
