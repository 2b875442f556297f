"""Review pages: cycles (admins open and close them), one review (the
period's numbers beside the questions, both sides once both are in), the
calibration page of a cycle for managers, VPs and admins."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.generic import TemplateView

from coaching import selectors, services
from coaching.models import DEFAULT_QUESTIONS, Review, ReviewCycle
from spm.forms import form_errors_add
from spm.models import FiscalPeriod
from spm.permissions import ADMIN, MANAGERS
from spm.tenancy.views import TenantViewMixin


class CycleForm(forms.Form):
    name = forms.CharField(max_length=200)
    period = forms.ModelChoiceField(queryset=FiscalPeriod.objects.none())
    rating_scale = forms.IntegerField(min_value=2, max_value=10, initial=5)
    questions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        initial=json.dumps(DEFAULT_QUESTIONS, indent=1),
        help_text='A JSON list: [{"key", "text", "kind": "rating" or "text"}]',
    )

    def __init__(self, *args: Any, periods: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["period"].queryset = periods  # type: ignore[attr-defined]

    def clean_questions(self) -> Any:
        try:
            return json.loads(self.cleaned_data["questions"])
        except json.JSONDecodeError as error:
            raise ValidationError(f"Not JSON: {error.msg} (line {error.lineno}).") from error


def answers_form(review: Review, *, manager: bool, data: Any = None) -> forms.Form:
    """A form with one field per question of the cycle (and the overall
    rating for the manager)."""
    form = forms.Form(data)
    scale = [(i, str(i)) for i in range(1, review.cycle.rating_scale + 1)]
    for q in review.cycle.questions:
        if q["kind"] == "rating":
            form.fields[f"q_{q['key']}"] = forms.TypedChoiceField(
                label=q["text"], choices=scale, coerce=int
            )
        else:
            form.fields[f"q_{q['key']}"] = forms.CharField(
                label=q["text"], widget=forms.Textarea(attrs={"rows": 3})
            )
    if manager:
        form.fields["overall_rating"] = forms.TypedChoiceField(
            label="Proposed overall rating", choices=scale, coerce=int
        )
    return form


class CycleListView(TenantViewMixin, TemplateView):
    """Review cycles with the viewer's own reviews and those they write."""

    template_name = "coaching/cycles.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        reviews = (
            selectors.reviews_visible(self.tenant, reach=self.reach)
            .select_related("cycle", "member__user", "manager__user")
            .order_by("-cycle__opened_at", "member__user__last_name", "id")
        )
        context["cycles"] = list(
            ReviewCycle.objects.filter(tenant=self.tenant).select_related("period")
        )
        context["reviews"] = list(reviews[:200])
        if self.reach.is_admin:
            context.setdefault("cycle_form", CycleForm(periods=self._periods()))
        return context

    def _periods(self) -> QuerySet[FiscalPeriod]:
        return FiscalPeriod.objects.filter(tenant=self.tenant, kind__in=["quarter", "year"])

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not self.reach.is_admin:
            raise PermissionDenied("Only admins open review cycles.")
        form = CycleForm(request.POST, periods=self._periods())
        if form.is_valid():
            try:
                cycle = services.cycle_open(self.tenant, actor=self.membership, **form.cleaned_data)
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                messages.success(
                    request, f"{cycle.name} opened with {cycle.reviews.count()} reviews."
                )
                return HttpResponseRedirect(request.path)
        return self.render_to_response(self.get_context_data(cycle_form=form), status=400)


class ReviewView(TenantViewMixin, TemplateView):
    """One review: the questions with each side's answers (the other side's
    once both are submitted), the period's KPIs, attainment and MBO score."""

    model = Review
    template_name = "coaching/review.html"

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.reviews_visible(self.tenant, reach=self.reach).select_related(
            "cycle__period", "member__user", "manager__user"
        )

    def review(self) -> Review:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        review = kwargs.get("review") or self.review()
        sides = selectors.review_sides(review, viewer=self.membership)
        numbers = selectors.review_numbers(
            self.tenant,
            viewer=self.membership,
            period=review.cycle.period,
            member_ids=[review.member_id],
        )[review.member_id]
        is_member = review.member_id == self.membership.pk
        is_coach = self.reach.may_coach(review.member)
        is_open = review.cycle.status == "open"
        context.update(
            review=review,
            sides=sides,
            numbers=numbers,
            rows=[
                (
                    q,
                    (sides.self_answers or {}).get(q["key"]),
                    (sides.manager_answers or {}).get(q["key"]),
                )
                for q in review.cycle.questions
            ],
            may_write_self=is_member and is_open and review.self_submitted_at is None,
            may_write_manager=is_coach and is_open and review.manager_submitted_at is None,
            may_acknowledge=is_member and review.both_submitted and not review.acknowledged_at,
        )
        if context["may_write_self"]:
            context.setdefault("self_form", answers_form(review, manager=False))
        if context["may_write_manager"]:
            context.setdefault("manager_form", answers_form(review, manager=True))
        return context


class ReviewSubmitView(ReviewView):
    """Submit the self review (the member) or the manager review (their coach)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        review = self.review()
        as_manager = request.POST.get("side") == "manager"
        form = answers_form(review, manager=as_manager, data=request.POST)
        if form.is_valid():
            answers = {q["key"]: form.cleaned_data[f"q_{q['key']}"] for q in review.cycle.questions}
            try:
                if as_manager:
                    services.review_submit_manager(
                        self.tenant,
                        actor=self.membership,
                        review=review,
                        answers=answers,
                        overall_rating=form.cleaned_data["overall_rating"],
                    )
                else:
                    services.review_submit_self(
                        self.tenant, actor=self.membership, review=review, answers=answers
                    )
            except ValidationError as exc:
                _answer_errors_add(form, exc)
            else:
                messages.success(request, "Review submitted.")
                return HttpResponseRedirect(_review_url(self.tenant.slug, review.pk))
        name = "manager_form" if as_manager else "self_form"
        return self.render_to_response(
            self.get_context_data(review=review, **{name: form}), status=400
        )


class ReviewAcknowledgeView(ReviewView):
    """The member acknowledges the final review."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        review = self.review()
        try:
            services.review_acknowledge(self.tenant, actor=self.membership, review=review)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Review acknowledged.")
        return HttpResponseRedirect(_review_url(self.tenant.slug, review.pk))


def _answer_errors_add(form: forms.Form, exc: ValidationError) -> None:
    """The service names a question ``answers.<key>``; its field here is ``q_<key>``."""
    for field, errors in exc.message_dict.items():
        name = "q_" + field.removeprefix("answers.")
        form.add_error(name if name in form.fields else None, errors)


def _review_url(slug: str, pk: int) -> str:
    return reverse("coaching:review", kwargs={"tenant_slug": slug, "pk": pk})


class CalibrationView(TenantViewMixin, TemplateView):
    """A cycle's reviews in the viewer's reach side by side with the numbers."""

    model = ReviewCycle
    template_name = "coaching/calibration.html"
    allowed_roles = MANAGERS

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        cycle = get_object_or_404(
            self.get_queryset().select_related("period"), pk=self.kwargs["pk"]
        )
        context["cycle"] = cycle
        context["rows"] = selectors.calibration(self.tenant, reach=self.reach, cycle=cycle)
        return context


class CycleCloseView(TenantViewMixin, TemplateView):
    """Close a cycle (admins): no review is submitted after."""

    model = ReviewCycle
    allowed_roles = ADMIN

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        cycle = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        return HttpResponseRedirect(self._back(cycle))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        cycle = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        try:
            services.cycle_close(self.tenant, actor=self.membership, cycle=cycle)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"{cycle.name} closed.")
        return HttpResponseRedirect(self._back(cycle))

    def _back(self, cycle: ReviewCycle) -> str:
        return reverse("coaching:cycles", kwargs={"tenant_slug": self.tenant.slug})
