"""Pages of the pipeline pillar: board, deal list (with CSV export), deal
detail, funnel, stage settings and CSV import. Thin: forms validate, services
write, selectors read."""

from __future__ import annotations

import csv
import datetime as dt
import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    QueryDict,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.functional import cached_property
from django.views.generic import ListView, TemplateView, View

from pipeline import charts, importing, selectors, services
from pipeline.forms import (
    ActivityForm,
    DealForm,
    ExchangeRateForm,
    ImportMappingForm,
    ImportUploadForm,
    PipelineForm,
    SplitFormSet,
    StageForm,
)
from pipeline.models import (
    AIDA_ORDER,
    Account,
    AidaStage,
    ChangeSource,
    Deal,
    DealStatus,
    DealType,
    ExchangeRate,
    ImportBatch,
    Lead,
    Pipeline,
    Stage,
)
from spm.models import FiscalPeriod, Membership, Role, Team, Tenant
from spm.permissions import ADMIN
from spm.selectors import period_containing, visible_memberships
from spm.tenancy.views import TenantViewMixin

SELLERS = frozenset({Role.ADMIN, Role.MANAGER, Role.REP})
MAX_ID = 2**63 - 1


def parse_id(value: str | None) -> int | None:
    """A database id from a query or form value, or None when it is not one."""
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if 0 < number <= MAX_ID else None


def _form_errors(form: Any, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


class DealFilters:
    """The owner / team / period / type / stage / status filters shared by the
    board and the deal list, read from the query string."""

    def __init__(self, tenant: Tenant, viewer: Membership, params: QueryDict) -> None:
        self.tenant = tenant
        self.viewer = viewer
        self.params = params
        self.periods = list(
            FiscalPeriod.objects.filter(
                tenant=self.tenant, kind__in=["month", "quarter", "year"]
            ).order_by("start", "kind")
        )
        today = services.tenant_today(self.tenant)
        self.default_period = next(
            (p for p in self.periods if p.kind == "quarter" and p.start <= today <= p.end), None
        )

    def _int(self, name: str) -> int | None:
        return parse_id(self.params.get(name))

    def period(self, *, default: bool) -> FiscalPeriod | None:
        pk = self._int("period")
        if pk is not None:
            return next((p for p in self.periods if p.pk == pk), None)
        if self.params.get("period") == "all":
            return None
        return self.default_period if default else None

    def apply(self, qs: QuerySet[Deal], *, default_period: bool) -> QuerySet[Deal]:
        owner = self._int("owner")
        if owner is not None:
            qs = qs.filter(owner_id=owner)
        team_id = self._int("team")
        if team_id is not None:
            team = Team.objects.filter(tenant=self.tenant, pk=team_id).first()
            qs = qs.filter(owner__team__path__startswith=team.path) if team else qs.none()
        if self.params.get("type") in DealType.values:
            qs = qs.filter(deal_type=self.params["type"])
        if self.params.get("status") in DealStatus.values:
            qs = qs.filter(status=self.params["status"])
        stage = self._int("stage")
        if stage is not None:
            qs = qs.filter(stage_id=stage)
        query = self.params.get("q", "").strip()
        if query:
            qs = qs.filter(
                Q(name__icontains=query)
                | Q(account__name__icontains=query)
                | Q(external_id__iexact=query)
            )
        period = self.period(default=default_period)
        if period is not None:
            qs = selectors.deals_closing_between(qs, start=period.start, end=period.end)
        return qs

    def context(self, *, default_period: bool) -> dict[str, Any]:
        selected = self.period(default=default_period)
        return {
            "owners": visible_memberships(self.tenant, viewer=self.viewer)
            .select_related("user")
            .order_by("user__first_name", "user__last_name"),
            "teams": Team.objects.filter(tenant=self.tenant).order_by("path"),
            "periods": self.periods,
            "selected_period": selected,
            "deal_types": DealType.choices,
            "statuses": DealStatus.choices,
            "params": self.params,
        }


# Board -------------------------------------------------------------------------------


def board_context(
    tenant: Tenant, membership: Membership, visible: QuerySet[Deal], params: QueryDict
) -> dict[str, Any]:
    """Columns of the chosen pipeline (default: the first active one) for the
    deals in ``visible`` that pass the filters in ``params``."""
    pipelines = list(
        Pipeline.objects.filter(tenant=tenant, is_active=True).order_by("position", "id")
    )
    chosen = params.get("pipeline", "")
    pipeline = next(
        (p for p in pipelines if str(p.pk) == chosen), pipelines[0] if pipelines else None
    )
    filters = DealFilters(tenant, membership, params)
    deals = filters.apply(visible, default_period=True)
    context = filters.context(default_period=True)
    context.update(
        {
            "pipeline": pipeline,
            "pipelines": pipelines,
            "columns": selectors.board_columns(tenant, pipeline=pipeline, deals=deals)
            if pipeline
            else [],
            "can_move": membership.role in SELLERS,
            "query": params.urlencode(),
        }
    )
    return context


class BoardView(TenantViewMixin, TemplateView):
    """Columns per stage with cards; drag a card to move the deal (htmx)."""

    template_name = "pipeline/board.html"
    model = Deal

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.deals_visible(self.tenant, viewer=self.membership)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            board_context(self.tenant, self.membership, self.get_queryset(), self.request.GET)
        )
        return context

    def get_template_names(self) -> list[str]:
        if getattr(self.request, "htmx", False) and self.request.htmx.target == "board":  # type: ignore[attr-defined]
            return ["pipeline/partials/board.html"]
        return [self.template_name]


class DealMoveView(TenantViewMixin, View):
    """POST stage=<id>: move a deal (the board's drop). Answers the re-rendered
    board for htmx, else redirects to the deal."""

    model = Deal
    allowed_roles = SELLERS

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.deals_visible(self.tenant, viewer=self.membership)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        deal = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        stage_id = parse_id(request.POST.get("stage"))
        stage = Stage.objects.filter(tenant=self.tenant, pk=stage_id).first() if stage_id else None
        error = None
        if stage is None:
            error = "Choose a stage."
        else:
            try:
                services.deal_move(
                    self.tenant,
                    deal=deal,
                    stage=stage,
                    actor=self.membership,
                    via=ChangeSource.BOARD,
                )
            except ValidationError as exc:
                error = " ".join(exc.messages)
        if getattr(request, "htmx", False):
            context = board_context(
                self.tenant,
                self.membership,
                self.get_queryset(),
                QueryDict(request.POST.get("query", "")),
            )
            context.update({"tenant": self.tenant, "membership": self.membership})
            context["move_error"] = error
            context["moved_deal_id"] = deal.pk
            return render(request, "pipeline/partials/board.html", context)
        if error:
            messages.error(request, error)
        else:
            messages.success(request, f"{deal.name} moved to {stage.name}.")  # type: ignore[union-attr]
        return redirect("pipeline:deal-detail", tenant_slug=self.tenant.slug, pk=deal.pk)


# Deal list and CSV -------------------------------------------------------------------

SORTS = {
    "name": "name",
    "amount": "base_amount",
    "close": "expected_close_date",
    "stage": "stage__position",
    "owner": "owner__user__first_name",
    "updated": "updated_at",
    "probability": "probability",
}


class DealListView(TenantViewMixin, ListView):
    template_name = "pipeline/deal_list.html"
    model = Deal
    context_object_name = "deals"
    paginate_by = 50

    def sort(self) -> tuple[str, str]:
        key = self.request.GET.get("sort", "close")
        descending = key.startswith("-")
        key = key.lstrip("-")
        if key not in SORTS:
            key, descending = "close", False
        return key, ("-" if descending else "") + SORTS[key]

    @cached_property
    def filters(self) -> DealFilters:
        return DealFilters(self.tenant, self.membership, self.request.GET)

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        qs = selectors.deals_visible(self.tenant, viewer=self.membership)
        qs = self.filters.apply(qs, default_period=False)
        return qs.select_related("owner__user", "account", "stage").order_by(self.sort()[1], "id")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(self.filters.context(default_period=False))

        params = self.request.GET.copy()
        params.pop("page", None)
        params.pop("sort", None)
        context["filter_query"] = params.urlencode()
        export = self.request.GET.copy()
        export.pop("page", None)
        context["export_query"] = export.urlencode()
        context["sort"] = self.request.GET.get("sort", "close")
        context["can_create"] = self.membership.role in SELLERS
        context["stages"] = (
            Stage.objects.filter(tenant=self.tenant)
            .select_related("pipeline")
            .order_by("pipeline__position", "position")
        )
        return context


CSV_COLUMNS = [
    ("external_id", "External id"),
    ("name", "Name"),
    ("account__name", "Account"),
    ("owner__user__email", "Owner"),
    ("amount", "Amount"),
    ("currency", "Currency"),
    ("base_amount", "Amount (tenant currency)"),
    ("pipeline__name", "Pipeline"),
    ("stage__name", "Stage"),
    ("probability", "Probability (%)"),
    ("forecast_category", "Forecast category"),
    ("expected_close_date", "Close date"),
    ("status", "Status"),
    ("close_date", "Actual close date"),
    ("lost_reason", "Lost reason"),
    ("deal_type", "Type"),
    ("product_line", "Product line"),
    ("source", "Source"),
    ("created_on", "Created on"),
]


class DealExportView(DealListView):
    """The deal list's rows, every page, as CSV (re-importable: the headers are
    recognised by the import). Built inside the request's tenant transaction:
    RLS hides every row once the response leaves the view."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        rows = self.get_queryset().values_list(*[c for c, _ in CSV_COLUMNS])
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="deals-{self.tenant.slug}.csv"'
        writer = csv.writer(response)
        writer.writerow([label for _, label in CSV_COLUMNS])
        for row in rows.iterator(chunk_size=2000):
            writer.writerow(["" if v is None else v for v in row])
        return response


# Deal create and detail ----------------------------------------------------------------


class DealCreateView(TenantViewMixin, TemplateView):
    template_name = "pipeline/deal_form.html"
    allowed_roles = SELLERS

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("form", DealForm(tenant=self.tenant, viewer=self.membership))
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = DealForm(request.POST, tenant=self.tenant, viewer=self.membership)
        if form.is_valid():
            try:
                deal = services.deal_create(
                    self.tenant,
                    actor=self.membership,
                    via=ChangeSource.PAGE,
                    **form.service_kwargs(),
                )
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, f"{deal.name} was created.")
                return redirect("pipeline:deal-detail", tenant_slug=self.tenant.slug, pk=deal.pk)
        return self.render_to_response(self.get_context_data(form=form))


class DealDetailView(TenantViewMixin, TemplateView):
    """The deal, its stage timeline, splits and activities; sellers who can see
    it edit it here (finance reads)."""

    template_name = "pipeline/deal_detail.html"
    model = Deal

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.deals_visible(self.tenant, viewer=self.membership).select_related(
            "owner__user", "account", "stage", "pipeline"
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        deal = kwargs.get("deal") or get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        can_edit = self.membership.role in SELLERS
        splits = list(deal.splits.filter(tenant=self.tenant).select_related("member__user"))
        context.update(
            {
                "deal": deal,
                "timeline": selectors.deal_timeline(self.tenant, deal=deal),
                "splits": splits,
                "activities": deal.activities.filter(tenant=self.tenant).select_related(
                    "member__user"
                )[:50],
                "leads": Lead.objects.filter(tenant=self.tenant, converted_deal=deal),
                "can_edit": can_edit,
            }
        )
        if can_edit:
            context.setdefault(
                "form", DealForm(instance=deal, tenant=self.tenant, viewer=self.membership)
            )
            initial = (
                [{"member": s.member_id, "percent": s.percent} for s in splits]
                if deal.custom_splits
                else []
            )
            formset = SplitFormSet(initial=initial, tenant=self.tenant, prefix="splits")
            formset.extra = max(0, 4 - len(initial))
            context.setdefault("split_formset", formset)
            context.setdefault(
                "activity_form",
                ActivityForm(initial={"occurred_on": services.tenant_today(self.tenant)}),
            )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        deal = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        if self.membership.role not in SELLERS:
            return HttpResponse("Finance has read-only access to deals.", status=403)
        form = DealForm(
            request.POST,
            instance=Deal.objects.get(pk=deal.pk),
            tenant=self.tenant,
            viewer=self.membership,
        )
        formset = SplitFormSet(request.POST, tenant=self.tenant, prefix="splits")
        if form.is_valid() and formset.is_valid():
            try:
                services.deal_update(
                    self.tenant,
                    deal=deal,
                    actor=self.membership,
                    via=ChangeSource.PAGE,
                    splits=formset.pairs(),
                    **form.service_kwargs(),
                )
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, "The deal was saved.")
                return redirect("pipeline:deal-detail", tenant_slug=self.tenant.slug, pk=deal.pk)
        return self.render_to_response(
            self.get_context_data(deal=deal, form=form, split_formset=formset)
        )


class DealActivityView(TenantViewMixin, View):
    """POST: log an activity on the deal (by the current member)."""

    model = Deal
    allowed_roles = SELLERS

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.deals_visible(self.tenant, viewer=self.membership)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        deal = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        form = ActivityForm(request.POST)
        if form.is_valid():
            try:
                services.activity_create(
                    self.tenant, actor=self.membership, deal=deal, **form.cleaned_data
                )
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(request, "The activity was logged.")
        else:
            messages.error(
                request,
                "; ".join(f"{k}: {' '.join(str(m) for m in v)}" for k, v in form.errors.items()),
            )
        return redirect("pipeline:deal-detail", tenant_slug=self.tenant.slug, pk=deal.pk)


# Funnel ------------------------------------------------------------------------------


class FunnelView(TenantViewMixin, TemplateView):
    """Leads per AIDA stage for the cohort that entered in a period, with the
    conversion between stages, as a plotly funnel and a table."""

    template_name = "pipeline/funnel.html"
    model = Lead

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.leads_visible(self.tenant, viewer=self.membership)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        periods = list(FiscalPeriod.objects.filter(tenant=self.tenant).order_by("start", "kind"))
        today = services.tenant_today(self.tenant)
        selected = None
        try:
            selected = next(
                (p for p in periods if p.pk == int(self.request.GET.get("period", ""))), None
            )
        except ValueError:
            selected = None
        selected = selected or period_containing(self.tenant, day=today, kind="quarter")
        leads = self.get_queryset()
        team_id = self.request.GET.get("team", "")
        if parse_id(team_id):
            team = Team.objects.filter(tenant=self.tenant, pk=parse_id(team_id)).first()
            leads = leads.filter(owner__team__path__startswith=team.path) if team else leads.none()
        start = selected.start if selected else today - dt.timedelta(days=90)
        end = selected.end if selected else today
        steps = selectors.lead_funnel(self.tenant, leads=leads, start=start, end=end)
        context.update(
            {
                "periods": periods,
                "selected_period": selected,
                "teams": Team.objects.filter(tenant=self.tenant).order_by("path"),
                "team_id": team_id,
                "steps": steps,
                "start": start,
                "end": end,
                "figure": json.loads(charts.funnel_figure(steps).to_json()),
            }
        )
        return context


# Stage settings ----------------------------------------------------------------------


class StageSettingsView(TenantViewMixin, TemplateView):
    """Admins rename, reorder, add, retire and delete stages; add pipelines."""

    template_name = "pipeline/stages.html"
    allowed_roles = ADMIN

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        pipelines = selectors.pipelines_with_stages(self.tenant)
        counts = dict(
            Deal.objects.filter(tenant=self.tenant)
            .values_list("stage_id")
            .annotate(n=Count("id"))
            .order_by()
        )
        for pipeline in pipelines:
            for stage in pipeline.stages.all():
                stage.deal_count = counts.get(stage.pk, 0)  # type: ignore[attr-defined]
                stage.form = StageForm(instance=stage, prefix=f"s{stage.pk}")  # type: ignore[attr-defined]
            pipeline.new_stage_form = StageForm(prefix=f"new{pipeline.pk}")  # type: ignore[attr-defined]
        context["pipelines"] = pipelines
        context.setdefault("pipeline_form", PipelineForm())
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = PipelineForm(request.POST)
        if form.is_valid():
            try:
                services.pipeline_create(
                    self.tenant, name=form.cleaned_data["name"], actor=self.membership
                )
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, f"Pipeline {form.cleaned_data['name']} was added.")
                return redirect("pipeline:stages", tenant_slug=self.tenant.slug)
        return self.render_to_response(self.get_context_data(pipeline_form=form))


class ExchangeRateListView(TenantViewMixin, TemplateView):
    """Admins keep the tenant's rate table: the list and the add form."""

    template_name = "pipeline/exchange_rates.html"
    allowed_roles = ADMIN

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["rates"] = ExchangeRate.objects.filter(tenant=self.tenant).select_related("period")
        context.setdefault("form", ExchangeRateForm(tenant=self.tenant))
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = ExchangeRateForm(request.POST, tenant=self.tenant)
        if form.is_valid():
            try:
                row = services.exchange_rate_create(
                    self.tenant, actor=self.membership, **form.cleaned_data
                )
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, f"The {row.currency} rate for {row.period} was added.")
                return redirect("pipeline:exchange-rates", tenant_slug=self.tenant.slug)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class ExchangeRateEditView(TenantViewMixin, TemplateView):
    """Edit or delete one rate (POST ``action=delete`` deletes)."""

    template_name = "pipeline/exchange_rate_form.html"
    model = ExchangeRate
    allowed_roles = ADMIN

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        row = kwargs.get("row") or get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        context["row"] = row
        context.setdefault("form", ExchangeRateForm(instance=row, tenant=self.tenant))
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        row = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        if request.POST.get("action") == "delete":
            services.exchange_rate_delete(self.tenant, exchange_rate=row, actor=self.membership)
            messages.success(request, f"The {row.currency} rate for {row.period} was deleted.")
            return redirect("pipeline:exchange-rates", tenant_slug=self.tenant.slug)
        form = ExchangeRateForm(
            request.POST, instance=ExchangeRate.objects.get(pk=row.pk), tenant=self.tenant
        )
        if form.is_valid():
            try:
                services.exchange_rate_update(
                    self.tenant, exchange_rate=row, actor=self.membership, **form.cleaned_data
                )
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, "The rate was saved.")
                return redirect("pipeline:exchange-rates", tenant_slug=self.tenant.slug)
        return self.render_to_response(
            self.get_context_data(row=row, form=form, pk=row.pk), status=400
        )


class StageAddView(TenantViewMixin, View):
    model = Pipeline
    allowed_roles = ADMIN

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        pipeline = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        form = StageForm(request.POST, prefix=f"new{pipeline.pk}")
        if form.is_valid():
            try:
                services.stage_create(
                    self.tenant, pipeline=pipeline, actor=self.membership, **form.cleaned_data
                )
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(request, f"Stage {form.cleaned_data['name']} was added.")
        else:
            messages.error(
                request,
                "; ".join(f"{k}: {' '.join(str(m) for m in v)}" for k, v in form.errors.items()),
            )
        return redirect("pipeline:stages", tenant_slug=self.tenant.slug)


class StageEditView(TenantViewMixin, View):
    """POST with action save / retire / restore / up / down / delete."""

    model = Stage
    allowed_roles = ADMIN

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        stage = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        action = request.POST.get("action", "save")
        try:
            if action == "save":
                form = StageForm(
                    request.POST, instance=Stage.objects.get(pk=stage.pk), prefix=f"s{stage.pk}"
                )
                if not form.is_valid():
                    raise ValidationError({k: v for k, v in form.errors.items()})
                services.stage_update(
                    self.tenant, stage=stage, actor=self.membership, **form.cleaned_data
                )
                messages.success(request, f"Stage {form.cleaned_data['name']} was saved.")
            elif action in ("retire", "restore"):
                services.stage_update(
                    self.tenant, stage=stage, actor=self.membership, is_active=action == "restore"
                )
                messages.success(
                    request,
                    f"Stage {stage.name} was {'restored' if action == 'restore' else 'retired'}.",
                )
            elif action in ("up", "down"):
                ids = list(
                    Stage.objects.filter(tenant=self.tenant, pipeline_id=stage.pipeline_id)
                    .order_by("position", "id")
                    .values_list("id", flat=True)
                )
                index = ids.index(stage.pk)
                other = index - 1 if action == "up" else index + 1
                if 0 <= other < len(ids):
                    ids[index], ids[other] = ids[other], ids[index]
                    services.stage_reorder(
                        self.tenant, pipeline=stage.pipeline, stage_ids=ids, actor=self.membership
                    )
            elif action == "delete":
                services.stage_delete(self.tenant, stage=stage, actor=self.membership)
                messages.success(request, f"Stage {stage.name} was deleted.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect("pipeline:stages", tenant_slug=self.tenant.slug)


# Import ------------------------------------------------------------------------------


class ImportView(TenantViewMixin, TemplateView):
    """Upload a CSV file; the next step maps its columns."""

    template_name = "pipeline/import.html"
    allowed_roles = ADMIN

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("form", ImportUploadForm())
        context["batches"] = (
            ImportBatch.objects.filter(tenant=self.tenant)
            .select_related("run")
            .only(
                "id", "kind", "filename", "created_at", "run__status", "run__message", "run__rows"
            )[:20]
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = ImportUploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                batch = importing.import_batch_create(
                    self.tenant,
                    kind=form.cleaned_data["kind"],
                    filename=upload.name,
                    content=importing.decode_upload(upload.read()),
                    actor=self.membership,
                )
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                return redirect("pipeline:import-detail", tenant_slug=self.tenant.slug, pk=batch.pk)
        return self.render_to_response(self.get_context_data(form=form))


class ImportDetailView(TenantViewMixin, TemplateView):
    """Map the columns, start the import, watch its progress and error report."""

    template_name = "pipeline/import_detail.html"
    model = ImportBatch
    allowed_roles = ADMIN

    def batch(self) -> ImportBatch:
        return get_object_or_404(self.get_queryset().select_related("run"), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        batch = kwargs.get("batch") or self.batch()
        headers, rows = importing.read_csv(batch.content)
        context.update(
            {
                "batch": batch,
                "run": batch.run,
                "row_count": len(rows),
                "samples": {h: [r[1].get(h, "") for r in rows[:3]] for h in batch.headers},
            }
        )
        context.setdefault(
            "form",
            ImportMappingForm(
                kind=batch.kind,
                headers=batch.headers,
                mapping=batch.mapping,
                initial={"all_or_nothing": batch.all_or_nothing},
            ),
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        batch = self.batch()
        form = ImportMappingForm(
            request.POST, kind=batch.kind, headers=batch.headers, mapping=batch.mapping
        )
        if form.is_valid():
            try:
                importing.import_batch_set_mapping(
                    self.tenant,
                    batch=batch,
                    mapping=form.mapping(),
                    all_or_nothing=form.cleaned_data["all_or_nothing"],
                )
                importing.import_batch_start(self.tenant, batch=batch, actor=self.membership)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    name = f"map_{field}"
                    form.add_error(name if name in form.fields else None, errors)
            else:
                return HttpResponseRedirect(
                    reverse(
                        "pipeline:import-detail",
                        kwargs={"tenant_slug": self.tenant.slug, "pk": batch.pk},
                    )
                )
        return self.render_to_response(self.get_context_data(batch=batch, form=form))


class ImportStatusView(TenantViewMixin, TemplateView):
    """The progress bar and, once finished, the report (polled by htmx)."""

    template_name = "pipeline/partials/import_status.html"
    model = ImportBatch
    allowed_roles = ADMIN

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        batch = get_object_or_404(self.get_queryset().select_related("run"), pk=self.kwargs["pk"])
        context["batch"] = batch
        context["run"] = batch.run
        return context


# Leads and accounts ------------------------------------------------------------------

LEAD_CSV_COLUMNS = [
    ("external_id", "Lead ID"),
    ("name", "Full name"),
    ("company", "Company"),
    ("email", "Email"),
    ("stage", "AIDA stage"),
    ("awareness_on", "Awareness on"),
    ("interest_on", "Interest on"),
    ("decision_on", "Decision on"),
    ("action_on", "Action on"),
    ("source", "Lead source"),
    ("campaign", "Campaign"),
    ("owner__user__email", "Lead owner"),
    ("converted_deal__external_id", "Converted Opportunity ID"),
]


class LeadListView(TenantViewMixin, ListView):
    """Leads in the member's reach; filters: AIDA stage, owner, source, and the
    period in which the lead entered the funnel (awareness date)."""

    template_name = "pipeline/lead_list.html"
    model = Lead
    context_object_name = "leads"
    paginate_by = 50

    @cached_property
    def periods(self) -> list[FiscalPeriod]:
        return list(
            FiscalPeriod.objects.filter(
                tenant=self.tenant, kind__in=["month", "quarter", "year"]
            ).order_by("start", "kind")
        )

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        qs = selectors.leads_visible(self.tenant, viewer=self.membership)
        params = self.request.GET
        stage = params.get("stage", "")
        if stage in AidaStage.values:
            qs = qs.filter(stage=stage)
        owner = params.get("owner", "")
        if owner.isdigit():
            qs = qs.filter(owner_id=int(owner))
        source = params.get("source", "").strip()
        if source:
            qs = qs.filter(source=source)
        period = params.get("period", "")
        chosen = next((p for p in self.periods if str(p.pk) == period), None)
        if chosen is not None:
            qs = qs.filter(awareness_on__range=(chosen.start, chosen.end))
        return qs.select_related("owner__user", "converted_deal").order_by("-awareness_on", "id")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        visible = selectors.leads_visible(self.tenant, viewer=self.membership)
        context["stages"] = AidaStage.choices
        context["owners"] = visible_memberships(self.tenant, viewer=self.membership).select_related(
            "user"
        )
        context["sources"] = list(
            visible.exclude(source="")
            .values_list("source", flat=True)
            .distinct()
            .order_by("source")
        )
        context["periods"] = self.periods
        context["params"] = self.request.GET
        export = self.request.GET.copy()
        export.pop("page", None)
        context["export_query"] = export.urlencode()
        return context


class LeadExportView(LeadListView):
    """Every matching lead as CSV (headers the import recognises)."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        rows = self.get_queryset().values_list(*[c for c, _ in LEAD_CSV_COLUMNS])
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="leads-{self.tenant.slug}.csv"'
        writer = csv.writer(response)
        writer.writerow([label for _, label in LEAD_CSV_COLUMNS])
        for row in rows.iterator(chunk_size=2000):
            writer.writerow(["" if v is None else v for v in row])
        return response


class LeadDetailView(TenantViewMixin, TemplateView):
    """A lead's funnel dates and activities; sellers advance its AIDA stage
    (``action=advance``) or convert it into one of their deals (``action=convert``)."""

    template_name = "pipeline/lead_detail.html"
    model = Lead

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.leads_visible(self.tenant, viewer=self.membership).select_related(
            "owner__user", "account", "converted_deal"
        )

    def convertible_deals(self, lead: Lead) -> QuerySet[Deal]:
        deals = selectors.deals_visible(self.tenant, viewer=self.membership).filter(
            status=DealStatus.OPEN
        )
        if lead.account_id is not None:
            return deals.filter(account_id=lead.account_id).order_by("name", "id")
        return deals.filter(owner_id=lead.owner_id).order_by("name", "id")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        lead = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        index = AIDA_ORDER.index(AidaStage(lead.stage))
        context["lead"] = lead
        context["steps"] = [
            (stage.label, getattr(lead, f"{stage.value}_on")) for stage in AIDA_ORDER
        ]
        context["next_stage"] = AIDA_ORDER[index + 1] if index + 1 < len(AIDA_ORDER) else None
        context["can_edit"] = self.membership.role in SELLERS
        context["deals"] = (
            list(self.convertible_deals(lead).select_related("stage"))
            if context["can_edit"] and lead.converted_deal_id is None
            else []
        )
        context["activities"] = lead.activities.select_related("member__user").order_by(
            "-occurred_on", "-id"
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        lead = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        if self.membership.role not in SELLERS:
            return HttpResponse("Finance has read-only access to leads.", status=403)
        action = request.POST.get("action")
        try:
            if action == "advance":
                index = AIDA_ORDER.index(AidaStage(lead.stage))
                if index + 1 >= len(AIDA_ORDER):
                    raise ValidationError({"stage": "The lead has reached the last stage."})
                stage = AIDA_ORDER[index + 1]
                services.lead_update(
                    self.tenant, lead=lead, actor=self.membership, stage=stage.value
                )
                messages.success(request, f"The lead moved to {stage.label}.")
            elif action == "convert":
                deal_id = request.POST.get("deal", "")
                deal = (
                    self.convertible_deals(lead).filter(pk=int(deal_id)).first()
                    if deal_id.isdigit()
                    else None
                )
                if deal is None:
                    raise ValidationError({"deal": "Choose one of the listed deals."})
                services.lead_convert(self.tenant, lead=lead, deal=deal, actor=self.membership)
                messages.success(request, f"The lead was converted into {deal.name}.")
            else:
                return HttpResponse("Unknown action.", status=400)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect("pipeline:lead-detail", tenant_slug=self.tenant.slug, pk=lead.pk)


class AccountListView(TenantViewMixin, ListView):
    """Accounts in the member's reach with their open pipeline and won total."""

    template_name = "pipeline/account_list.html"
    model = Account
    context_object_name = "accounts"
    paginate_by = 50

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        qs = selectors.accounts_in_reach(self.tenant, viewer=self.membership)
        query = self.request.GET.get("q", "").strip()
        if query:
            qs = qs.filter(name__icontains=query)
        return (
            qs.select_related("owner__user")
            .annotate(
                open_deals=Count("deals", filter=Q(deals__status=DealStatus.OPEN)),
                won_deals=Count("deals", filter=Q(deals__status=DealStatus.WON)),
            )
            .order_by("name", "id")
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["q"] = self.request.GET.get("q", "")
        return context


class AccountDetailView(TenantViewMixin, TemplateView):
    """An account's facts (customer since, churned on), its deals and activities
    that the member may see."""

    template_name = "pipeline/account_detail.html"
    model = Account

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.accounts_in_reach(self.tenant, viewer=self.membership).select_related(
            "owner__user"
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        account = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        context["account"] = account
        context["deals"] = (
            selectors.deals_visible(self.tenant, viewer=self.membership)
            .filter(account=account)
            .select_related("owner__user", "stage")
            .order_by("-expected_close_date", "id")
        )
        context["activities"] = (
            selectors.activities_visible(self.tenant, viewer=self.membership)
            .filter(Q(account=account) | Q(deal__account=account))
            .select_related("member__user", "deal")
            .order_by("-occurred_on", "-id")[:100]
        )
        return context
