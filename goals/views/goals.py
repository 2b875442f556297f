"""SMART goals pages: list, form, detail, approval actions, check-ins and the
alignment tree."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.views.generic import DetailView, ListView, TemplateView, View

from goals import selectors, services
from goals.forms import (
    CheckInForm,
    GoalForm,
)
from goals.models import Goal, GoalLevel, GoalStatus
from goals.views.base import GoalsPageMixin
from spm.forms import VERSION_FIELD, form_errors_add, version_is_current


class GoalListView(GoalsPageMixin, ListView):
    template_name = "goals/goal_list.html"
    model = Goal
    context_object_name = "goals"
    paginate_by = 100

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        qs = selectors.goals_visible(self.tenant, viewer=self.membership)
        status = self.request.GET.get("status")
        if status in GoalStatus.values:
            qs = qs.filter(status=status)
        level = self.request.GET.get("level")
        if level in GoalLevel.values:
            qs = qs.filter(level=level)
        return qs.select_related("owner_membership__user", "owner_team", "parent").order_by(
            "level", "due_date", "id"
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(statuses=GoalStatus.choices, levels=GoalLevel.choices)
        return context


class GoalFormView(GoalsPageMixin, TemplateView):
    """Create (no pk) or edit a SMART goal; a vague goal is refused with one
    message per missing or weak property."""

    template_name = "goals/goal_form.html"
    model = Goal

    def get_goal(self) -> Goal | None:
        pk = self.kwargs.get("pk")
        return get_object_or_404(self.get_queryset(), pk=pk) if pk else None

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.goals_visible(self.tenant, viewer=self.membership)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        goal = kwargs.get("goal", self.get_goal())
        if "form" not in context:
            if goal is not None:
                initial = {name: getattr(goal, name) for name in services.GOAL_FIELDS}
                initial["target_value"] = format(goal.target_value.normalize(), "f")
                initial["baseline_value"] = format(goal.baseline_value.normalize(), "f")
            else:
                initial = {
                    "level": GoalLevel.MEMBER,
                    "owner_membership": self.membership.pk,
                    "parent": self.request.GET.get("parent"),
                }
            context["form"] = GoalForm(
                tenant=self.tenant, viewer=self.membership, goal=goal, initial=initial
            )
        context["goal"] = goal
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        goal = self.get_goal()
        form = GoalForm(request.POST, tenant=self.tenant, viewer=self.membership, goal=goal)
        if form.is_valid() and (goal is None or version_is_current(form, goal)):
            data = {k: v for k, v in form.cleaned_data.items() if k != VERSION_FIELD}
            try:
                if goal is None:
                    goal = services.goal_create(
                        self.tenant, actor=self.membership, submit="propose" in request.POST, **data
                    )
                    messages.success(request, f"Goal '{goal.title}' saved as {goal.status}.")
                else:
                    goal = services.goal_update(
                        self.tenant, actor=self.membership, goal=goal, **data
                    )
                    messages.success(request, f"Goal '{goal.title}' saved.")
            except ValidationError as exc:
                form_errors_add(form, exc)
                form.smart_summary = exc.message_dict.get("smart", [""])[0]
            else:
                return HttpResponseRedirect(
                    reverse(
                        "goals:goal-detail", kwargs={"tenant_slug": self.tenant.slug, "pk": goal.pk}
                    )
                )
        return self.render_to_response(self.get_context_data(form=form, goal=goal))


class GoalObjectMixin(GoalsPageMixin):
    model = Goal

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.goals_visible(self.tenant, viewer=self.membership).select_related(
            "owner_membership__user", "owner_team", "parent", "approved_by__user"
        )

    def goal(self) -> Goal:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def goal_url(self, goal: Goal) -> str:
        return reverse("goals:goal-detail", kwargs={"tenant_slug": self.tenant.slug, "pk": goal.pk})


class GoalDetailView(GoalObjectMixin, DetailView):
    template_name = "goals/goal_detail.html"
    context_object_name = "goal"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        goal = self.object
        context.update(
            can=services.goal_permissions(self.tenant, actor=self.membership, goal=goal),
            checkins=goal.checkins.filter(tenant=self.tenant).select_related("author__user"),
            children=selectors.goals_visible(self.tenant, viewer=self.membership)
            .filter(parent=goal)
            .select_related("owner_membership__user", "owner_team"),
            checkin_form=kwargs.get("checkin_form")
            or CheckInForm(initial={"checked_on": timezone.localdate()}),
        )
        return context


class GoalActionView(GoalObjectMixin, View):
    """Propose, approve, return, close (achieved / missed) or delete a goal."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        goal = self.goal()
        action = request.POST.get("action", "")
        t, actor = self.tenant, self.membership
        try:
            if action == "submit":
                services.goal_submit(t, actor=actor, goal=goal)
                messages.success(request, "Proposed for approval.")
            elif action == "approve":
                services.goal_approve(t, actor=actor, goal=goal)
                messages.success(request, "Approved.")
            elif action == "return":
                services.goal_return(
                    t, actor=actor, goal=goal, comment=request.POST.get("comment", "")
                )
                messages.success(request, "Sent back to draft.")
            elif action in ("achieved", "missed"):
                services.goal_close(t, actor=actor, goal=goal, achieved=action == "achieved")
                messages.success(request, f"Marked {action}.")
            elif action == "delete":
                services.goal_delete(t, actor=actor, goal=goal)
                messages.success(request, f"Goal '{goal.title}' deleted.")
                return HttpResponseRedirect(
                    reverse("goals:goal-list", kwargs={"tenant_slug": t.slug})
                )
            else:
                messages.error(request, "Unknown action.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return HttpResponseRedirect(self.goal_url(goal))


class GoalCheckInView(GoalObjectMixin, View):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        goal = self.goal()
        form = CheckInForm(request.POST)
        if form.is_valid():
            try:
                services.checkin_add(
                    self.tenant,
                    actor=self.membership,
                    goal=goal,
                    value=form.cleaned_data["value"],
                    comment=form.cleaned_data["comment"],
                    checked_on=form.cleaned_data["checked_on"],
                )
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                messages.success(request, "Check-in recorded.")
                return HttpResponseRedirect(self.goal_url(goal))
        view = GoalDetailView()
        view.setup(request, *args, **kwargs)
        view.tenant, view.membership, view.object = self.tenant, self.membership, goal
        return view.render_to_response(view.get_context_data(checkin_form=form))


class AlignmentView(GoalsPageMixin, TemplateView):
    """The goal tree from company to rep, with each node's progress."""

    template_name = "goals/alignment.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["nodes"] = selectors.goal_tree(self.tenant, viewer=self.membership)
        return context
