"""Plans and the plan builder: the plan list, a plan's version history with a
diff of two versions, a version's components, golden examples and payout
curves, the component editor with its rate table and live what-if, document
import and export, and "My plan" for the member on it.

Every write goes through ``incentives.services``; a bad document comes back
as errors beside the field they name (``forms.document_errors_place``) and
nothing is saved."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any, Literal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.generic import DetailView, ListView, TemplateView, View

from incentives import charts, selectors, selectors_trust, services, whatif
from incentives.document import (
    PlanDocument,
    PlanDocumentError,
    plan_document_dump,
    plan_document_validate,
)
from incentives.forms import (
    BandForm,
    BandFormSet,
    ComponentDeleteForm,
    ComponentForm,
    DocumentForm,
    MultiplierForm,
    MultiplierFormSet,
    NewPlanForm,
    PreviewForm,
    component_from_forms,
    document_errors_place,
)
from incentives.models import Plan, PlanVersion, VersionStatus
from incentives.views.approvals import approval_rows
from spm.forms import VERSION_FIELD, form_errors_add, version_field, version_is_current
from spm.permissions import ADMIN, READ_ALL
from spm.tenancy.views import TenantViewMixin

SAMPLE_QUOTA = Decimal("100000.00")
SAMPLE_TARGET_INCENTIVE = Decimal("20000.00")


def _version_url(version: PlanVersion, name: str = "version-detail", **query: Any) -> str:
    url = reverse(
        f"incentives:{name}", kwargs={"tenant_slug": version.tenant.slug, "pk": version.pk}
    )
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def _curves(document: PlanDocument, *, quota: Decimal, target_incentive: Decimal) -> list[dict]:
    """Each component's payout curve figure, keyed for ``json_script``."""
    return [
        {
            "id": f"fig-curve-{comp.key}",
            "figure": charts.payout_curve(
                whatif.payout_curve(
                    document, comp.key, quota=quota, target_incentive=target_incentive
                ),
                title=f"{comp.label}: payout by attainment",
            ),
        }
        for comp in document.components
        if comp.rate_table
    ]


class PlanListView(TenantViewMixin, ListView):
    """Every plan with its versions (admins build, finance reads)."""

    model = Plan
    allowed_roles = READ_ALL
    template_name = "incentives/plan_list.html"
    context_object_name = "plans"

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.prefetch_related(
            Prefetch(
                "versions",
                queryset=PlanVersion.objects.filter(tenant=self.tenant).order_by("number"),
            )
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            active_tab="plans",
            rows=[(plan, list(plan.versions.all())) for plan in context["plans"]],
        )
        return context


class PlanCreateView(TenantViewMixin, TemplateView):
    """A new plan with a first draft version to build on."""

    allowed_roles = ADMIN
    template_name = "incentives/plan_new.html"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = NewPlanForm(request.POST)
        if form.is_valid():
            try:
                version = services.plan_version_create(
                    self.tenant, source=form.starter_document(), actor=self.membership
                )
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                messages.success(request, f"{version} created: edit its components below.")
                return HttpResponseRedirect(_version_url(version))
        return self.render_to_response(self.get_context_data(form=form))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("form", NewPlanForm())
        context["active_tab"] = "plans"
        return context


class PlanDetailView(TenantViewMixin, DetailView):
    """A plan's version history; ``?a=<id>&b=<id>`` shows the diff of two versions."""

    model = Plan
    allowed_roles = READ_ALL
    template_name = "incentives/plan_detail.html"
    context_object_name = "plan"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        versions = list(
            PlanVersion.objects.filter(tenant=self.tenant, plan=self.object)
            .annotate(assigned=Count("assignments"))
            .order_by("-number")
        )
        by_id = {str(v.pk): v for v in versions}
        older = by_id.get(self.request.GET.get("a", ""))
        newer = by_id.get(self.request.GET.get("b", ""))
        if older is None and len(versions) > 1:
            older, newer = versions[1], versions[0]
        context.update(
            versions=versions,
            older=older,
            newer=newer,
            diff=selectors.plan_version_diff(older, newer) if older and newer else None,
            active_tab="plans",
        )
        return context


class VersionDetailView(TenantViewMixin, DetailView):
    """The plan builder's overview of a version: components, payout curves on
    a sample quota, golden examples with pass or fail, export and history."""

    model = PlanVersion
    allowed_roles = READ_ALL
    template_name = "incentives/version_detail.html"
    context_object_name = "version"

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.select_related("plan")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        document = plan_document_validate(self.object.document)
        context.update(
            document=document,
            components=list(enumerate(self.object.document["components"])),
            curves=_curves(document, quota=SAMPLE_QUOTA, target_incentive=SAMPLE_TARGET_INCENTIVE),
            sample_quota=SAMPLE_QUOTA,
            passed=sum(1 for r in self.object.golden_results if r["passed"]),
            active_tab="plans",
        )
        approval = selectors_trust.approval_latest(self.tenant, version=self.object)
        context.update(
            approval=approval,
            refusal=approval_rows(self, [approval])[0][1] if approval else None,
        )
        return context


class _VersionWriteMixin(TenantViewMixin):
    """An admin's change to a version (404 outside the tenant)."""

    allowed_roles = ADMIN
    model = PlanVersion

    def version(self) -> PlanVersion:
        return get_object_or_404(self.get_queryset().select_related("plan"), pk=self.kwargs["pk"])


class ComponentEditView(_VersionWriteMixin, View):
    """Edit component ``?component=<index>`` of a version (``index`` = the
    number of components adds one): its fields, its rate table band by band,
    the payout curve and a live preview on sample bookings (``WhatIfView``)."""

    template_name = "incentives/component_edit.html"

    @staticmethod
    def component_index(request: HttpRequest, version: PlanVersion) -> int:
        """``?component=<index>``: an existing component or the next one."""
        raw = request.GET.get("component", "0")
        count = len(version.document["components"])
        if not raw.isdigit() or int(raw) > count:
            raise Http404("No such component.")
        return int(raw)

    def _forms(
        self, version: PlanVersion, index: int, data: Any = None
    ) -> tuple[ComponentForm, Any, Any]:
        components = version.document["components"]
        config = components[index] if index < len(components) else {}
        kpis = services.known_kpis(self.tenant)
        if data is not None:
            form = ComponentForm(data, kpis=kpis)
            form.fields[VERSION_FIELD] = version_field(version)
            return (
                form,
                BandFormSet(data, prefix="band"),
                MultiplierFormSet(data, prefix="multiplier"),
            )
        initial = (
            ComponentForm.initial_from(config)
            if config
            else {
                "key": f"component_{index + 1}",
                "measure": "credited_bookings",
                "basis": "quota",
                "period": "quarter",
                "payout_frequency": "quarter",
                "tiering": "marginal",
                "rate_table_on": "attainment",
            }
        )
        bands = [BandForm.initial_from(b) for b in config.get("rate_table") or []]
        multipliers = [MultiplierForm.initial_from(m) for m in config.get("multipliers") or []]
        form = ComponentForm(initial=initial, kpis=kpis)
        form.fields[VERSION_FIELD] = version_field(version)
        return (
            form,
            BandFormSet(initial=bands, prefix="band"),
            MultiplierFormSet(initial=multipliers, prefix="multiplier"),
        )

    def _render(
        self,
        version: PlanVersion,
        index: int,
        form: Any,
        bands: Any,
        multipliers: Any,
        **extra: Any,
    ) -> HttpResponse:
        document = plan_document_validate(version.document)
        context = {
            "tenant": self.tenant,
            "membership": self.membership,
            "reach": self.reach,
            "version": version,
            "index": index,
            "is_new": index >= len(version.document["components"]),
            "component_name": _config(version, index).get("label")
            or _config(version, index).get("key", ""),
            "form": form,
            "bands": bands,
            "multipliers": multipliers,
            "deletable": version.status == VersionStatus.DRAFT
            and version.locked_at is None
            and index < len(version.document["components"]),
            "sample_form": PreviewForm(),
            "whatif": _what_if(document, index, PreviewForm().sample()),
            "active_tab": "plans",
            **extra,
        }
        return render(self.request, self.template_name, context)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        version = self.version()
        index = self.component_index(request, version)
        form, bands, multipliers = self._forms(version, index)
        return self._render(version, index, form, bands, multipliers)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        version = self.version()
        index = self.component_index(request, version)
        form, bands, multipliers = self._forms(version, index, request.POST)
        others: list[tuple[str, str]] = []
        factors = _multiplier_rows(multipliers)
        valid = form.is_valid() and bands.is_valid()
        if valid and factors is not False and version_is_current(form, version):
            rows = [b for b in bands.forms if not b.is_blank()]
            component = component_from_forms(
                form, rows, multipliers=factors, keep=_config(version, index)
            )
            document = _with_component(version, index, component)
            try:
                services.plan_version_update(
                    self.tenant, version=version, source=document, actor=self.membership
                )
            except ValidationError as exc:
                others = document_errors_place(
                    exc, index=index, form=form, bands=rows, multipliers=factors or []
                )
            else:
                version.refresh_from_db()
                failed = [r["name"] for r in version.golden_results if not r["passed"]]
                note = (
                    f" {len(failed)} golden example(s) fail: {', '.join(failed)}." if failed else ""
                )
                messages.success(request, f"Saved {version}.{note}")
                return HttpResponseRedirect(_version_url(version))
        return self._render(version, index, form, bands, multipliers, document_errors=others)


def _multiplier_rows(formset: Any) -> list[MultiplierForm] | None | Literal[False]:
    """The non-blank multiplier rows posted; None when the post carries no
    multiplier rows at all (a client that does not edit them: the component
    keeps its multipliers); False when a row is invalid."""
    if f"{formset.prefix}-TOTAL_FORMS" not in formset.data:
        return None
    if not formset.is_valid():
        return False
    return [row for row in formset.forms if not row.is_blank()]


def _config(version: PlanVersion, index: int) -> dict[str, Any]:
    components = version.document["components"]
    return components[index] if index < len(components) else {}


def _with_component(version: PlanVersion, index: int, component: dict[str, Any]) -> dict[str, Any]:
    document = copy.deepcopy(version.document)
    if index < len(document["components"]):
        document["components"][index] = component
    else:
        document["components"].append(component)
    return document


def _what_if(document: PlanDocument, index: int, sample: dict[str, Any]) -> dict[str, Any]:
    """The payout curve of component ``index`` and the whole plan's preview
    on the ``sample`` figures (``PreviewForm.sample``), through the engine."""
    quota, target = sample["quota"], sample["target_incentive"]
    curve = None
    if index < len(document.components):
        comp = document.components[index]
        curve = charts.payout_curve(
            whatif.payout_curve(document, comp.key, quota=quota, target_incentive=target),
            title=f"{comp.label}: payout by attainment",
        )
    result = whatif.preview(
        document,
        deals=sample["deals"],
        quota=quota,
        target_incentive=target,
        team_attainment=sample["team_attainment"],
        mbo_score=sample["mbo_score"],
    )
    return {"curve": curve, "preview": result, "sample": sample}


class WhatIfView(_VersionWriteMixin, View):
    """The live what-if of the component editor (htmx): the component as
    edited, not saved, with the version's other components, drawn as its
    payout curve and previewed on the sample deals."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        version = self.version()
        index = ComponentEditView.component_index(request, version)
        form = ComponentForm(request.POST, kpis=services.known_kpis(self.tenant))
        bands = BandFormSet(request.POST, prefix="band")
        multipliers = MultiplierFormSet(request.POST, prefix="multiplier")
        sample = PreviewForm(request.POST)
        context: dict[str, Any] = {"tenant": self.tenant, "sample_form": sample}
        factors = _multiplier_rows(multipliers)
        if form.is_valid() and bands.is_valid() and factors is not False:
            rows = [b for b in bands.forms if not b.is_blank()]
            component = component_from_forms(
                form, rows, multipliers=factors, keep=_config(version, index)
            )
            try:
                document = plan_document_validate(
                    _with_component(version, index, component),
                    known_kpis=services.known_kpis(self.tenant),
                )
            except PlanDocumentError as exc:
                context["errors"] = exc.errors
            else:
                context["whatif"] = _what_if(document, index, sample.sample())
        else:
            context["errors"] = [("(form)", "Fix the fields marked in the form to see the curve.")]
        return render(request, "incentives/partials/whatif.html", context)


class ComponentDeleteView(_VersionWriteMixin, View):
    """Delete component ``?component=<index>`` of a draft version (POST).
    Refused with a message, nothing changed, when the version is not a draft,
    when the page was stale, or when the document without it is invalid (its
    golden examples naming the component, the last component)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        version = self.version()
        index = ComponentEditView.component_index(request, version)
        components = version.document["components"]
        if index >= len(components):
            raise Http404("No such component.")
        key = components[index].get("key", "")
        form = ComponentDeleteForm(request.POST)
        form.fields[VERSION_FIELD] = version_field(version)
        if not (form.is_valid() and version_is_current(form, version)):
            messages.error(request, " ".join(str(e) for e in form.non_field_errors()))
            return HttpResponseRedirect(_version_url(version))
        try:
            services.plan_component_delete(
                self.tenant, version=version, key=key, actor=self.membership
            )
        except ValidationError as exc:
            messages.error(
                request,
                f"Component {key} was not deleted: "
                + " ".join(
                    f"{k}: {m}" if k != "__all__" else m
                    for k, ms in exc.message_dict.items()
                    for m in ms
                ),
            )
        else:
            messages.success(request, f"Deleted component {key} from {version}.")
        return HttpResponseRedirect(_version_url(version))


class DocumentEditView(_VersionWriteMixin, TemplateView):
    """The whole document of a version as YAML: effective dates, clawback,
    draw, components and golden examples; saved only when valid."""

    template_name = "incentives/document_edit.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        version = self.version()
        if "form" not in context:
            form = DocumentForm(
                initial={"text": plan_document_dump(plan_document_validate(version.document))}
            )
            form.fields[VERSION_FIELD] = version_field(version)
            context["form"] = form
        context.update(version=version, active_tab="plans")
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        version = self.version()
        form = DocumentForm(request.POST, request.FILES)
        form.fields[VERSION_FIELD] = version_field(version)
        if form.is_valid() and version_is_current(form, version):
            try:
                services.plan_version_update(
                    self.tenant, version=version, source=form.source(), actor=self.membership
                )
            except ValidationError as exc:
                _document_errors(form, exc)
            else:
                messages.success(request, f"Saved {version}.")
                return HttpResponseRedirect(_version_url(version))
        return self.render_to_response(self.get_context_data(form=form))


def _document_errors(form: DocumentForm, exc: ValidationError) -> None:
    """Errors of a whole document: each with its path, above the text."""
    named = exc.message_dict if hasattr(exc, "error_dict") else {"(document)": exc.messages}
    for path, errors in named.items():
        for message in errors:
            if path in ("text", "file"):
                form.add_error(path, message)
            else:
                form.add_error(None, f"{path}: {message}")


class DocumentImportView(TenantViewMixin, TemplateView):
    """Import a plan document (YAML or JSON): a new plan named by the document,
    or the next version of the plan of that name."""

    allowed_roles = ADMIN
    template_name = "incentives/document_import.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("form", DocumentForm())
        context["active_tab"] = "plans"
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = DocumentForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                version = services.plan_version_create(
                    self.tenant, source=form.source(), actor=self.membership
                )
            except ValidationError as exc:
                _document_errors(form, exc)
            else:
                messages.success(request, f"Imported {version}.")
                return HttpResponseRedirect(_version_url(version))
        return self.render_to_response(self.get_context_data(form=form))


class VersionExportView(TenantViewMixin, DetailView):
    """A version's document as a YAML (default) or JSON file (``?as=json``)."""

    model = PlanVersion
    allowed_roles = READ_ALL

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.select_related("plan")

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        version = self.get_object()
        fmt = "json" if request.GET.get("as") == "json" else "yaml"
        text = plan_document_dump(plan_document_validate(version.document), fmt=fmt)
        response = HttpResponse(text, content_type=f"application/{fmt}; charset=utf-8")
        name = f"{version.plan.name}-v{version.number}.{fmt}".replace(" ", "-")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class VersionCopyView(_VersionWriteMixin, View):
    """A new draft version of the plan with this version's document."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        version = self.version()
        copied = services.plan_version_create(
            self.tenant, source=version.document, actor=self.membership, plan=version.plan
        )
        messages.success(request, f"{copied} created as a draft from {version}.")
        return HttpResponseRedirect(_version_url(copied))


class MyPlanView(TenantViewMixin, TemplateView):
    """The plan version the member is on today (or was last), as a document
    with its payout curves on their own quota figure."""

    template_name = "incentives/my_plan.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        assignment = selectors.assignment_current(
            self.tenant, membership=self.membership, day=timezone.localdate()
        )
        context.update(
            assignment=assignment,
            active_tab="my-plan",
            to_accept=list(
                selectors_trust.assignments_to_accept(self.tenant, membership=self.membership)
            ),
            on_plan_page=True,
        )
        if assignment is not None:
            document = plan_document_validate(assignment.version.document)
            context.update(
                document=document,
                text=plan_document_dump(document),
                curves=_curves(
                    document,
                    quota=SAMPLE_QUOTA,
                    target_incentive=assignment.target_incentive,
                ),
                sample_quota=SAMPLE_QUOTA,
            )
        return context
