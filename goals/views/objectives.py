"""MBO objectives pages: the list and a member's set with scoring."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.views.generic import TemplateView

from goals import selectors, services
from goals.forms import (
    ObjectiveFormSet,
    ScoreFormSet,
)
from goals.views.base import HUNDRED, GoalsPageMixin, _int, _plain
from spm import selectors as core_selectors
from spm.models import FiscalPeriod, Membership, Role


class ObjectivesPageMixin(GoalsPageMixin):
    def period(self) -> FiscalPeriod:
        source = self.request.POST if self.request.method == "POST" else self.request.GET
        pk = _int(source.get("period"), 0)
        if pk:
            return get_object_or_404(FiscalPeriod.objects.filter(tenant=self.tenant), pk=pk)
        period = core_selectors.period_containing(
            self.tenant, day=timezone.localdate(), kind="quarter"
        )
        if period is None:
            raise Http404("No current quarter.")
        return period


class ObjectiveListView(ObjectivesPageMixin, TemplateView):
    """Everyone's objective sets for a period that the member may see, with scores."""

    template_name = "goals/objective_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        period = self.period()
        sets = selectors.objective_sets(self.tenant, viewer=self.membership, period=period)
        with_sets = {s.membership.pk for s in sets}
        people: list[Membership] = []
        if self.reach.sets_targets:
            people = [
                m
                for m in Membership.objects.filter(
                    self.reach.members(), tenant=self.tenant, role=Role.REP, is_active=True
                ).select_related("user")
                if m.pk not in with_sets
            ]
        context.update(
            period=period,
            sets=sets,
            people_without=people,
            periods=FiscalPeriod.objects.filter(
                tenant=self.tenant,
                kind__in=["quarter", "year"],
                fiscal_year__in=[period.fiscal_year - 1, period.fiscal_year],
            ).order_by("start", "kind"),
        )
        return context


class ObjectiveSetView(ObjectivesPageMixin, TemplateView):
    """One member's objectives for a period: the manager edits the set (weights
    must add up to 100%) and scores it; the member sees their score."""

    template_name = "goals/objective_set.html"

    def member(self) -> Membership:
        source = self.request.POST if self.request.method == "POST" else self.request.GET
        visible = Membership.objects.filter(self.reach.members(), tenant=self.tenant)
        return get_object_or_404(visible.select_related("user"), pk=_int(source.get("member"), 0))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        member, period = (
            kwargs.get("member") or self.member(),
            kwargs.get("period") or self.period(),
        )
        found = selectors.objective_sets(
            self.tenant, viewer=self.membership, period=period, membership=member
        )
        mbo = found[0] if found else None
        objectives = mbo.objectives if mbo else []
        can_edit = (
            services.can_manage_objectives(self.tenant, actor=self.membership, membership=member)
            and not period.is_closed
        )
        if "objective_formset" not in kwargs:
            initial = [
                {
                    "objective_id": o.pk,
                    "title": o.title,
                    "weight_percent": _plain(o.weight * HUNDRED),
                    "cap_percent": _plain(o.score_cap * HUNDRED),
                }
                for o in objectives
            ]
            initial += [{"cap_percent": HUNDRED}] * (3 if not objectives else 1)
            context["objective_formset"] = ObjectiveFormSet(initial=initial, prefix="obj")
        if "score_formset" not in kwargs:
            context["score_formset"] = ScoreFormSet(
                prefix="score",
                initial=[
                    {
                        "objective_id": o.pk,
                        "score_percent": None
                        if o.current_score is None
                        else _plain(o.current_score * HUNDRED),
                        "comment": o.current_score_row.comment if o.current_score_row else "",
                    }
                    for o in objectives
                ],
            )
        context.update(
            member=member,
            period=period,
            mbo=mbo,
            objectives=objectives,
            can_edit=can_edit,
            score_rows=list(zip(objectives, context["score_formset"].forms, strict=False)),
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        member, period = self.member(), self.period()
        url = (
            reverse("goals:objective-set", kwargs={"tenant_slug": self.tenant.slug})
            + f"?member={member.pk}&period={period.pk}"
        )
        if request.POST.get("action") == "scores":
            formset = ScoreFormSet(request.POST, prefix="score")
            if formset.is_valid():
                errors = services.objective_scores_save(
                    self.tenant,
                    actor=self.membership,
                    membership=member,
                    period=period,
                    scores=[
                        (
                            f.cleaned_data["objective_id"],
                            None
                            if f.cleaned_data.get("score_percent") is None
                            else f.cleaned_data["score_percent"] / HUNDRED,
                            f.cleaned_data.get("comment", ""),
                        )
                        for f in formset.forms
                    ],
                )
                if not errors:
                    messages.success(request, "Scores saved.")
                    return HttpResponseRedirect(url)
                for form in formset.forms:
                    message = errors.get(form.cleaned_data["objective_id"])
                    if message:
                        form.add_error("score_percent", message)
            return self.render_to_response(
                self.get_context_data(member=member, period=period, score_formset=formset)
            )
        objective_formset = ObjectiveFormSet(request.POST, prefix="obj")
        if objective_formset.is_valid():
            items = [
                services.ObjectiveInput(
                    title=f.cleaned_data.get("title", ""),
                    weight=(f.cleaned_data.get("weight_percent") or Decimal(0)) / HUNDRED,
                    score_cap=(f.cleaned_data.get("cap_percent") or HUNDRED) / HUNDRED,
                    pk=f.cleaned_data.get("objective_id"),
                )
                for f in objective_formset.forms
                if f.cleaned_data.get("title") or f.cleaned_data.get("weight_percent")
            ]
            try:
                services.objectives_replace(
                    self.tenant,
                    actor=self.membership,
                    membership=member,
                    period=period,
                    items=items,
                )
            except ValidationError as exc:
                return self.render_to_response(
                    self.get_context_data(
                        member=member,
                        period=period,
                        objective_objective_formset=objective_formset,
                        objective_errors=[m for ms in exc.message_dict.values() for m in ms],
                    )
                )
            messages.success(request, "Objectives saved.")
            return HttpResponseRedirect(url)
        return self.render_to_response(
            self.get_context_data(
                member=member, period=period, objective_objective_formset=objective_formset
            )
        )
