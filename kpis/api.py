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
from django.http.response import HttpResponseBase
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from kpis import selectors
from kpis.definitions import is_kpi_key, kpi_def, normalise
from kpis.models import KpiValue, SubjectKind
from spm.api.base import TenantGenericViewSet, TenantReadOnlyViewSet
from spm.api.csv import RENDERERS, csv_or_json
from spm.api.filters import IdFilter, IntegerFilter
from spm.api.registry import tenant_router
from spm.models import FiscalPeriod, Membership, Team, Tenant
from spm.reach import Reach


def subject_scope(reach: Reach) -> Q:
    """The snapshot rows the member may read."""
    return reach.subjects(member=SubjectKind.MEMBER, team=SubjectKind.TEAM)


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
    kpi = filters.CharFilter(method="filter_kpi")

    class Meta:
        model = KpiValue
        fields = ["period", "period_kind", "fiscal_year", "subject_kind", "subject_id", "kpi"]

    def filter_kpi(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        _check_kpi(self.request.tenant, value)  # type: ignore[union-attr]
        return qs.filter(kpi=value)


class KpiValueViewSet(TenantReadOnlyViewSet):
    """KPI snapshot values by subject and period (JSON or ``?format=csv``)."""

    model = KpiValue
    serializer_class = KpiValueSerializer
    filterset_class = KpiValueFilter
    ordering_fields = ["period__start", "value", "kpi"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return (
            qs.filter(subject_scope(self.reach))
            .select_related("period")
            .order_by("period__start", "subject_kind", "subject_id", "kpi")
        )


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


MAX_ID = 2**63 - 1


def _kpi_keys(request: Request, tenant: Tenant, default: list[str]) -> list[str]:
    """The ``kpi`` parameter (repeated or comma-separated); an unknown key is a 400."""
    keys = [k for raw in request.query_params.getlist("kpi") for k in raw.split(",") if k]
    for key in keys:
        _check_kpi(tenant, key)
    return keys or default


def _check_kpi(tenant: Tenant, key: str) -> None:
    if not is_kpi_key(key, custom_keys=selectors.custom_labels(tenant)):
        raise serializers.ValidationError(
            {"kpi": f"{key!r} is not a KPI; use keys such as bookings, attainment."}
        )


class ReportQuerySerializer(serializers.Serializer):
    """The query parameters of the reports: a malformed one is a 400 naming it."""

    subject_kind = serializers.ChoiceField(choices=SubjectKind.choices, required=False)
    subject_id = serializers.IntegerField(min_value=0, max_value=MAX_ID, required=False)
    period = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    period_kind = serializers.ChoiceField(choices=["month", "quarter", "year"], default="month")
    fiscal_year = serializers.IntegerField(min_value=1, max_value=9999, required=False)
    team = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)


class KpiReportViewSet(mixins.ListModelMixin, TenantGenericViewSet):
    """Time series, leaderboards and scorecards built from snapshots."""

    model = KpiValue
    renderer_classes = RENDERERS
    pagination_class = None
    serializer_class = KpiValueSerializer

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.filter(subject_scope(self.reach))

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response({"reports": ["series", "leaderboard", "scorecard"]})

    def _query(self, request: Request) -> dict[str, Any]:
        query = ReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return dict(query.validated_data)

    def _subject(self, query: dict[str, Any]) -> tuple[str, int]:
        """The subject asked for, within the caller's reach. Another tenant's id,
        one outside the reach and one that does not exist all answer the same 404."""
        kind = query.get("subject_kind", SubjectKind.MEMBER)
        default = {SubjectKind.MEMBER: self.membership.pk, SubjectKind.TENANT: 0}.get(kind)
        sid = query.get("subject_id", default)
        if sid is None:
            raise serializers.ValidationError({"subject_id": "Give the team's id."})
        if kind == SubjectKind.TENANT:
            allowed = sid == 0 and self.reach.reads_all
        elif kind == SubjectKind.MEMBER:
            allowed = Membership.objects.filter(
                self.reach.members(), tenant=self.tenant, pk=sid
            ).exists()
        else:
            allowed = Team.objects.filter(self.reach.teams(), tenant=self.tenant, pk=sid).exists()
        if not allowed:
            raise NotFound(f"subject_id: there is no such {kind}.")
        return kind, sid

    def _period(self, query: dict[str, Any]) -> FiscalPeriod:
        """The period asked for (another tenant's is "no such period"), else the
        current quarter."""
        if "period" in query:
            period = FiscalPeriod.objects.filter(tenant=self.tenant, pk=query["period"]).first()
            if period is None:
                raise NotFound("period: there is no such period.")
            return period
        periods = selectors.periods_for_picker(self.tenant)
        current = selectors.period_selected(self.tenant, periods=periods, period_id=None)
        if current is None:
            raise NotFound("period: the tenant has no periods.")
        return current

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
        query = self._query(request)
        kind, sid = self._subject(query)
        kpis = _kpi_keys(request, self.tenant, ["bookings", "quota", "attainment"])
        qs = FiscalPeriod.objects.filter(tenant=self.tenant, kind=query["period_kind"])
        if "fiscal_year" in query:
            qs = qs.filter(fiscal_year=query["fiscal_year"])
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
            request,
            {"rows": rows},
            columns=["period", "period_label", *kpis],
            filename="series",
            decimals=kpis,
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
        query = self._query(request)
        kpi = request.query_params.get("kpi", "bookings")
        if kpi not in selectors.LEADERBOARD_KPIS:
            raise serializers.ValidationError(
                {"kpi": f"Choose one of: {', '.join(selectors.LEADERBOARD_KPIS)}."}
            )
        period = self._period(query)
        team = None
        if "team" in query:
            team = Team.objects.filter(tenant=self.tenant, pk=query["team"]).first()
            if team is None:
                raise NotFound("team: there is no such team.")
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
            decimals=["value"],
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
        query = self._query(request)
        kind, sid = self._subject(query)
        period = self._period(query)
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
            decimals=["value", "target"],
        )


tenant_router.register("kpi-values", KpiValueViewSet, basename="kpi-value")
tenant_router.register("kpi-reports", KpiReportViewSet, basename="kpi-report")
