"""API of the pipeline pillar: pipelines, stages, accounts, deals (with splits,
moves and history), leads, activities, and bulk upsert by ``external_id``.

Serializers validate shapes; every write goes through ``pipeline.services``
(single records) or ``pipeline.sync`` (bulk), the same functions the pages
and the CSV import use.
"""

from __future__ import annotations

from typing import Any, ClassVar, cast

from django import forms
from django.db.models import Prefetch, QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from pipeline import selectors, services, sync
from pipeline.models import (
    Account,
    Activity,
    ActivityKind,
    AidaStage,
    ChangeSource,
    Deal,
    DealSplit,
    DealStatus,
    DealType,
    ExchangeRate,
    ForecastCategory,
    ImportKind,
    Lead,
    Pipeline,
    Stage,
    StageChange,
)
from spm.api.base import TenantModelViewSet, TenantPrimaryKeyRelatedField
from spm.api.errors import problem
from spm.api.registry import tenant_router
from spm.models import FiscalPeriod, Membership, Role, Team
from spm.permissions import ADMIN

SELLERS = frozenset({Role.ADMIN, Role.MANAGER, Role.REP})
MAX_BULK_ITEMS = 5000


# Pipelines and stages ----------------------------------------------------------------


class StageSerializer(serializers.ModelSerializer):
    pipeline = TenantPrimaryKeyRelatedField(model=Pipeline)

    class Meta:
        model = Stage
        fields = [
            "id",
            "pipeline",
            "name",
            "position",
            "probability",
            "forecast_category",
            "is_won",
            "is_lost",
            "is_active",
        ]
        read_only_fields = ["id"]
        extra_kwargs: ClassVar[dict[str, Any]] = {"position": {"required": False}}


class StageUpdateSerializer(StageSerializer):
    class Meta(StageSerializer.Meta):
        read_only_fields = ["id", "pipeline"]


class PipelineSerializer(serializers.ModelSerializer):
    stages = StageSerializer(many=True, read_only=True)

    class Meta:
        model = Pipeline
        fields = ["id", "name", "position", "is_active", "stages", "created_at"]
        read_only_fields = ["id", "stages", "created_at"]
        extra_kwargs: ClassVar[dict[str, Any]] = {"position": {"required": False}}


class PipelineCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    with_default_stages = serializers.BooleanField(
        default=True, help_text="Start with the standard stages (rename or retire them later)."
    )


class StageOrderSerializer(serializers.Serializer):
    stages = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Every stage id of the pipeline, in the new order.",
    )


class PipelineViewSet(TenantModelViewSet):
    """Sales pipelines with their ordered stages. Everyone reads them; admins
    change them. ``POST pipelines/{id}/reorder/`` puts the stages in order."""

    queryset = Pipeline.all_tenants.all()
    serializer_class = PipelineSerializer
    write_roles = ADMIN
    filterset_fields: ClassVar[list[str]] = ["is_active"]
    ordering = ["position", "id"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.prefetch_related(
            Prefetch(
                "stages",
                queryset=Stage.objects.filter(tenant=self.tenant).order_by("position", "id"),
            )
        )

    @extend_schema(request=PipelineCreateSerializer, responses={201: PipelineSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = PipelineCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pipeline = services.pipeline_create(
            self.tenant, actor=self.membership, **data.validated_data
        )
        pipeline = self.get_queryset().get(pk=pipeline.pk)
        return Response(PipelineSerializer(pipeline).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        pipeline = self.get_object()
        serializer = self.get_serializer(
            pipeline, data=request.data, partial=kwargs.pop("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        services.pipeline_update(
            self.tenant, pipeline=pipeline, actor=self.membership, **serializer.validated_data
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=pipeline.pk)).data)

    def perform_destroy(self, instance: Pipeline) -> None:
        services.pipeline_delete(self.tenant, pipeline=instance, actor=self.membership)

    @extend_schema(request=StageOrderSerializer, responses=PipelineSerializer)
    @action(detail=True, methods=["post"])
    def reorder(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        pipeline = self.get_object()
        data = StageOrderSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.stage_reorder(
            self.tenant,
            pipeline=pipeline,
            stage_ids=data.validated_data["stages"],
            actor=self.membership,
        )
        return Response(PipelineSerializer(self.get_queryset().get(pk=pipeline.pk)).data)


class StageViewSet(TenantModelViewSet):
    """Stages of every pipeline. Retire a stage with ``is_active: false``; a
    stage that has held deals cannot be deleted."""

    queryset = Stage.all_tenants.all()
    serializer_class = StageSerializer
    write_roles = ADMIN
    filterset_fields: ClassVar[list[str]] = ["pipeline", "is_active", "is_won", "is_lost"]
    ordering = ["pipeline", "position", "id"]

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action in ("update", "partial_update"):
            return StageUpdateSerializer
        return StageSerializer

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.stage_create(
            self.tenant, actor=self.membership, **serializer.validated_data
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.stage_update(
            self.tenant,
            stage=cast(Stage, serializer.instance),
            actor=self.membership,
            **serializer.validated_data,
        )

    def perform_destroy(self, instance: Stage) -> None:
        services.stage_delete(self.tenant, stage=instance, actor=self.membership)


class ExchangeRateSerializer(serializers.ModelSerializer):
    period = TenantPrimaryKeyRelatedField(
        model=FiscalPeriod, help_text="A fiscal month (FiscalPeriod id of kind month)."
    )
    period_label = serializers.CharField(source="period.label", read_only=True)
    rate = serializers.DecimalField(
        max_digits=9,
        decimal_places=6,
        coerce_to_string=True,
        help_text="Units of the tenant's currency per unit of this currency.",
    )

    class Meta:
        model = ExchangeRate
        fields: ClassVar[list[str]] = [
            "id",
            "currency",
            "period",
            "period_label",
            "rate",
            "created_at",
            "updated_at",
        ]
        read_only_fields: ClassVar[list[str]] = ["created_at", "updated_at"]
        # The service checks uniqueness and names the field; DRF's check would not.
        validators: ClassVar[list[Any]] = []


class ExchangeRateViewSet(TenantModelViewSet):
    """The tenant's rate table (admins only): units of tenant currency per unit
    of ``currency`` for a fiscal month. Deals in another currency saved without
    an ``exchange_rate`` take the rate of their close month."""

    queryset = ExchangeRate.all_tenants.all()
    serializer_class = ExchangeRateSerializer
    read_roles = ADMIN
    write_roles = ADMIN
    filterset_fields: ClassVar[list[str]] = ["currency", "period"]
    ordering = ["currency", "period__start", "id"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.select_related("period")

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.exchange_rate_create(
            self.tenant, actor=self.membership, **serializer.validated_data
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.exchange_rate_update(
            self.tenant,
            exchange_rate=cast(ExchangeRate, serializer.instance),
            actor=self.membership,
            **serializer.validated_data,
        )

    def perform_destroy(self, instance: ExchangeRate) -> None:
        services.exchange_rate_delete(self.tenant, exchange_rate=instance, actor=self.membership)


# Bulk upsert -------------------------------------------------------------------------


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
                        "percent": serializers.DecimalField(max_digits=5, decimal_places=2),
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

    def bulk_upsert(self, request: Request) -> Response:
        if self.membership.role != Role.ADMIN:
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
    def bulk(self: BulkUpsertMixin, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.bulk_upsert(request)

    return bulk


# Shared filters ----------------------------------------------------------------------


class IdFilter(filters.NumberFilter):
    """An id: a whole number in the range of a database id (else 400, not a 500)."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class TenantFilterSet(filters.FilterSet):
    updated_since = filters.IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte", label="Changed at or after this time (ISO 8601)"
    )

    def team_subtree(self, qs: QuerySet, field_prefix: str, value: Any) -> QuerySet:
        tenant = getattr(self.request, "tenant", None)
        team = Team.objects.filter(tenant=tenant, pk=value).first()
        if team is None:
            return qs.none()
        return qs.filter(**{f"{field_prefix}__team__path__startswith": team.path})


# Accounts ----------------------------------------------------------------------------


class AccountSerializer(serializers.ModelSerializer):
    owner = TenantPrimaryKeyRelatedField(model=Membership, allow_null=True, required=False)

    class Meta:
        model = Account
        fields = [
            "id",
            "name",
            "segment",
            "industry",
            "owner",
            "customer_since",
            "churned_on",
            "external_id",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


class AccountFilter(TenantFilterSet):
    owner = IdFilter(field_name="owner_id")
    name = filters.CharFilter(field_name="name", lookup_expr="icontains")
    external_id = filters.CharFilter()
    churned = filters.BooleanFilter(field_name="churned_on", lookup_expr="isnull", exclude=True)

    class Meta:
        model = Account
        fields = ["owner", "name", "external_id", "segment", "industry", "churned", "updated_since"]


class AccountViewSet(BulkUpsertMixin, TenantModelViewSet):
    """Customer and prospect accounts; everyone in the tenant reads them. Reps
    change only accounts they own. ``POST accounts/bulk/`` upserts by external_id."""

    queryset = Account.all_tenants.all()
    serializer_class = AccountSerializer
    write_roles = SELLERS
    filterset_class = AccountFilter
    ordering_fields: ClassVar[list[str]] = ["name", "updated_at", "customer_since", "id"]
    ordering = ["name", "id"]
    bulk_kind = ImportKind.ACCOUNTS
    bulk = bulk_action(ImportKind.ACCOUNTS)

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        qs = selectors.accounts_visible(self.tenant, viewer=self.membership)
        if (
            self.request.method not in ("GET", "HEAD", "OPTIONS")
            and self.membership.role == Role.REP
        ):
            qs = qs.filter(owner=self.membership)
        return qs

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        if self.membership.role == Role.REP:
            data.setdefault("owner", self.membership)
        serializer.instance = services.account_create(self.tenant, actor=self.membership, **data)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.account_update(
            self.tenant,
            account=cast(Account, serializer.instance),
            actor=self.membership,
            **serializer.validated_data,
        )

    def perform_destroy(self, instance: Account) -> None:
        services.account_delete(self.tenant, account=instance, actor=self.membership)


# Deals -------------------------------------------------------------------------------


class SplitSerializer(serializers.ModelSerializer):
    member = TenantPrimaryKeyRelatedField(model=Membership)
    credited_amount = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)

    class Meta:
        model = DealSplit
        fields = ["member", "percent", "credited_amount"]


class DealSerializer(serializers.ModelSerializer):
    account = TenantPrimaryKeyRelatedField(model=Account, allow_null=True, required=False)
    owner = TenantPrimaryKeyRelatedField(
        model=Membership, required=False, help_text="Defaults to the caller."
    )
    pipeline = TenantPrimaryKeyRelatedField(
        model=Pipeline, required=False, help_text="Defaults to the stage's pipeline."
    )
    stage = TenantPrimaryKeyRelatedField(model=Stage)
    splits = SplitSerializer(
        many=True,
        required=False,
        help_text="Credit splits adding up to exactly 100; [] means 100% to the owner.",
    )
    currency = serializers.CharField(
        max_length=3, required=False, help_text="Defaults to the tenant's currency."
    )
    probability = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        required=False,
        min_value=0,
        max_value=100,
        help_text="Percent; defaults to the stage's probability.",
    )
    forecast_category = serializers.ChoiceField(choices=ForecastCategory.choices, required=False)
    exchange_rate = serializers.DecimalField(
        max_digits=9,
        decimal_places=6,
        required=False,
        min_value=0,
        help_text="Tenant currency per unit of the deal's currency.",
    )
    close_date = serializers.DateField(
        required=False, allow_null=True, help_text="For won or lost deals; defaults to today."
    )
    weighted_amount = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)

    class Meta:
        model = Deal
        fields = [
            "id",
            "name",
            "account",
            "owner",
            "amount",
            "currency",
            "exchange_rate",
            "base_amount",
            "pipeline",
            "stage",
            "probability",
            "forecast_category",
            "weighted_amount",
            "expected_close_date",
            "status",
            "close_date",
            "lost_reason",
            "deal_type",
            "product_line",
            "source",
            "external_id",
            "created_on",
            "splits",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "base_amount", "status", "created_at", "updated_at"]
        extra_kwargs: ClassVar[dict[str, Any]] = {
            "created_on": {"required": False},
            "external_id": {"allow_null": True},
        }


class StageChangeSerializer(serializers.ModelSerializer):
    from_stage_name = serializers.CharField(
        source="from_stage.name", read_only=True, allow_null=True
    )
    to_stage_name = serializers.CharField(source="to_stage.name", read_only=True)

    class Meta:
        model = StageChange
        fields = [
            "id",
            "from_stage",
            "from_stage_name",
            "to_stage",
            "to_stage_name",
            "changed_at",
            "changed_by",
            "source",
        ]


class DealMoveSerializer(serializers.Serializer):
    stage = TenantPrimaryKeyRelatedField(model=Stage)
    close_date = serializers.DateField(required=False, allow_null=True)
    lost_reason = serializers.CharField(required=False, max_length=200, allow_blank=True)


class DealFilter(TenantFilterSet):
    owner = IdFilter(field_name="owner_id")
    team = IdFilter(method="filter_team", label="Owner's team, with its sub-teams")
    pipeline = IdFilter(field_name="pipeline_id")
    stage = IdFilter(field_name="stage_id")
    account = IdFilter(field_name="account_id")
    status = filters.ChoiceFilter(choices=DealStatus.choices)
    deal_type = filters.ChoiceFilter(choices=DealType.choices)
    forecast_category = filters.ChoiceFilter(choices=ForecastCategory.choices)
    close_date_after = filters.DateFilter(field_name="close_date", lookup_expr="gte")
    close_date_before = filters.DateFilter(field_name="close_date", lookup_expr="lte")
    expected_close_after = filters.DateFilter(field_name="expected_close_date", lookup_expr="gte")
    expected_close_before = filters.DateFilter(field_name="expected_close_date", lookup_expr="lte")
    external_id = filters.CharFilter()

    class Meta:
        model = Deal
        fields = [
            "owner",
            "team",
            "pipeline",
            "stage",
            "account",
            "status",
            "deal_type",
            "forecast_category",
            "close_date_after",
            "close_date_before",
            "expected_close_after",
            "expected_close_before",
            "external_id",
            "updated_since",
        ]

    def filter_team(self, qs: QuerySet, name: str, value: Any) -> QuerySet:
        return self.team_subtree(qs, "owner", value)


class DealViewSet(BulkUpsertMixin, TenantModelViewSet):
    """Deals the caller may see (admins and finance all, managers their
    subtree's, reps their own); finance reads only. Stage changes through any
    write land in ``deals/{id}/history/``. ``POST deals/bulk/`` upserts by
    external_id."""

    queryset = Deal.all_tenants.all()
    serializer_class = DealSerializer
    write_roles = SELLERS
    filterset_class = DealFilter
    ordering_fields: ClassVar[list[str]] = [
        "amount",
        "base_amount",
        "expected_close_date",
        "close_date",
        "updated_at",
        "name",
        "id",
    ]
    ordering = ["expected_close_date", "id"]
    bulk_kind = ImportKind.DEALS
    bulk = bulk_action(ImportKind.DEALS)

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.deals_visible(self.tenant, viewer=self.membership).prefetch_related(
            "splits"
        )

    def _service_kwargs(self, data: dict[str, Any]) -> dict[str, Any]:
        kwargs = dict(data)
        if "splits" in kwargs:
            kwargs["splits"] = [(s["member"], s["percent"]) for s in kwargs["splits"]]
        return kwargs

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        kwargs = self._service_kwargs(serializer.validated_data)
        kwargs.setdefault("owner", self.membership)
        if kwargs.get("close_date") is None:
            kwargs.pop("close_date", None)
        serializer.instance = services.deal_create(
            self.tenant, actor=self.membership, via=ChangeSource.API, **kwargs
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        kwargs = self._service_kwargs(serializer.validated_data)
        if kwargs.get("close_date") is None:
            kwargs.pop("close_date", None)
        deal = services.deal_update(
            self.tenant,
            deal=cast(Deal, serializer.instance),
            actor=self.membership,
            via=ChangeSource.API,
            **kwargs,
        )
        serializer.instance = self.get_queryset().get(pk=deal.pk)

    def perform_destroy(self, instance: Deal) -> None:
        services.deal_delete(self.tenant, deal=instance, actor=self.membership)

    @extend_schema(request=DealMoveSerializer, responses=DealSerializer)
    @action(detail=True, methods=["post"])
    def move(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Move the deal to another stage (recorded in its history)."""
        deal = self.get_object()
        data = DealMoveSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        services.deal_move(
            self.tenant,
            deal=deal,
            actor=self.membership,
            via=ChangeSource.API,
            **{k: v for k, v in data.validated_data.items() if v is not None},
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=deal.pk)).data)

    @extend_schema(request=None, responses=StageChangeSerializer(many=True))
    @action(detail=True, methods=["get"])
    def history(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The deal's stage changes, oldest first."""
        deal = self.get_object()
        changes = selectors.deal_timeline(self.tenant, deal=deal)
        return Response(StageChangeSerializer(changes, many=True).data)


# Leads -------------------------------------------------------------------------------


class LeadSerializer(serializers.ModelSerializer):
    owner = TenantPrimaryKeyRelatedField(model=Membership, allow_null=True, required=False)
    account = TenantPrimaryKeyRelatedField(model=Account, allow_null=True, required=False)
    converted_deal = TenantPrimaryKeyRelatedField(model=Deal, allow_null=True, required=False)
    stage = serializers.ChoiceField(
        choices=AidaStage.choices,
        required=False,
        help_text="Defaults to the furthest stage that has a date.",
    )
    awareness_on = serializers.DateField(required=False, help_text="Defaults to today.")

    class Meta:
        model = Lead
        fields = [
            "id",
            "name",
            "company",
            "email",
            "stage",
            "awareness_on",
            "interest_on",
            "decision_on",
            "action_on",
            "source",
            "campaign",
            "owner",
            "account",
            "converted_deal",
            "external_id",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs: ClassVar[dict[str, Any]] = {"external_id": {"allow_null": True}}


class LeadFilter(TenantFilterSet):
    owner = IdFilter(field_name="owner_id")
    team = IdFilter(method="filter_team", label="Owner's team, with its sub-teams")
    stage = filters.ChoiceFilter(choices=AidaStage.choices)
    awareness_after = filters.DateFilter(field_name="awareness_on", lookup_expr="gte")
    awareness_before = filters.DateFilter(field_name="awareness_on", lookup_expr="lte")
    converted = filters.BooleanFilter(
        field_name="converted_deal", lookup_expr="isnull", exclude=True
    )
    external_id = filters.CharFilter()

    class Meta:
        model = Lead
        fields = [
            "owner",
            "team",
            "stage",
            "awareness_after",
            "awareness_before",
            "source",
            "campaign",
            "converted",
            "external_id",
            "updated_since",
        ]

    def filter_team(self, qs: QuerySet, name: str, value: Any) -> QuerySet:
        return self.team_subtree(qs, "owner", value)


class LeadViewSet(BulkUpsertMixin, TenantModelViewSet):
    """Leads in the AIDA funnel with the date each stage was reached.
    ``POST leads/bulk/`` upserts by external_id."""

    queryset = Lead.all_tenants.all()
    serializer_class = LeadSerializer
    write_roles = SELLERS
    filterset_class = LeadFilter
    ordering_fields: ClassVar[list[str]] = ["awareness_on", "updated_at", "name", "id"]
    ordering = ["-awareness_on", "id"]
    bulk_kind = ImportKind.LEADS
    bulk = bulk_action(ImportKind.LEADS)

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.leads_visible(self.tenant, viewer=self.membership)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        if self.membership.role == Role.REP:
            data.setdefault("owner", self.membership)
        serializer.instance = services.lead_create(self.tenant, actor=self.membership, **data)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.lead_update(
            self.tenant,
            lead=cast(Lead, serializer.instance),
            actor=self.membership,
            **serializer.validated_data,
        )

    def perform_destroy(self, instance: Lead) -> None:
        services.lead_delete(self.tenant, lead=instance, actor=self.membership)


# Activities --------------------------------------------------------------------------


class ActivitySerializer(serializers.ModelSerializer):
    member = TenantPrimaryKeyRelatedField(
        model=Membership, required=False, help_text="Defaults to the caller."
    )
    deal = TenantPrimaryKeyRelatedField(model=Deal, allow_null=True, required=False)
    lead = TenantPrimaryKeyRelatedField(model=Lead, allow_null=True, required=False)
    account = TenantPrimaryKeyRelatedField(model=Account, allow_null=True, required=False)

    class Meta:
        model = Activity
        fields = [
            "id",
            "kind",
            "subject",
            "occurred_on",
            "member",
            "outcome",
            "deal",
            "lead",
            "account",
            "external_id",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs: ClassVar[dict[str, Any]] = {"external_id": {"allow_null": True}}


class ActivityFilter(TenantFilterSet):
    member = IdFilter(field_name="member_id")
    team = IdFilter(method="filter_team", label="Member's team, with its sub-teams")
    kind = filters.ChoiceFilter(choices=ActivityKind.choices)
    deal = IdFilter(field_name="deal_id")
    lead = IdFilter(field_name="lead_id")
    account = IdFilter(field_name="account_id")
    occurred_after = filters.DateFilter(field_name="occurred_on", lookup_expr="gte")
    occurred_before = filters.DateFilter(field_name="occurred_on", lookup_expr="lte")
    external_id = filters.CharFilter()

    class Meta:
        model = Activity
        fields = [
            "member",
            "team",
            "kind",
            "deal",
            "lead",
            "account",
            "occurred_after",
            "occurred_before",
            "external_id",
            "updated_since",
        ]

    def filter_team(self, qs: QuerySet, name: str, value: Any) -> QuerySet:
        return self.team_subtree(qs, "member", value)


class ActivityViewSet(BulkUpsertMixin, TenantModelViewSet):
    """Calls, emails, meetings and demos logged against deals, leads and
    accounts. ``POST activities/bulk/`` upserts by external_id."""

    queryset = Activity.all_tenants.all()
    serializer_class = ActivitySerializer
    write_roles = SELLERS
    filterset_class = ActivityFilter
    ordering_fields: ClassVar[list[str]] = ["occurred_on", "updated_at", "id"]
    ordering = ["-occurred_on", "-id"]
    bulk_kind = ImportKind.ACTIVITIES
    bulk = bulk_action(ImportKind.ACTIVITIES)

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.activities_visible(self.tenant, viewer=self.membership)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.activity_create(
            self.tenant, actor=self.membership, **serializer.validated_data
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.activity_update(
            self.tenant,
            activity=cast(Activity, serializer.instance),
            actor=self.membership,
            **serializer.validated_data,
        )

    def perform_destroy(self, instance: Activity) -> None:
        services.activity_delete(self.tenant, activity=instance, actor=self.membership)


tenant_router.register("pipelines", PipelineViewSet, basename="pipeline")
tenant_router.register("stages", StageViewSet, basename="stage")
tenant_router.register("exchange-rates", ExchangeRateViewSet, basename="exchange-rate")
tenant_router.register("accounts", AccountViewSet, basename="account")
tenant_router.register("deals", DealViewSet, basename="deal")
tenant_router.register("leads", LeadViewSet, basename="lead")
tenant_router.register("activities", ActivityViewSet, basename="activity")
