"""Recognition feed (kudos from anyone to anyone), a person's coaching
profile (recognitions, benchmarks against the team median and the company's
top quartile) and the member's choice of coaching emails."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.views.generic import TemplateView

from coaching import selectors, services
from kpis.definitions import format_value
from kpis.views.common import PeriodMixin
from spm.forms import form_errors_add
from spm.models import Membership
from spm.tenancy.views import TenantViewMixin


class KudosForm(forms.Form):
    recipient = forms.ModelChoiceField(queryset=Membership.objects.none(), label="To")
    message = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, people: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["recipient"].queryset = people  # type: ignore[attr-defined]


class PreferencesForm(forms.Form):
    meeting_reminders = forms.BooleanField(required=False, label="1:1 reminders the day before")
    review_steps = forms.BooleanField(required=False, label="Review steps")
    kudos_received = forms.BooleanField(required=False, label="Kudos received")


class RecognitionView(TenantViewMixin, TemplateView):
    """The tenant's recognition feed; everyone gives kudos to anyone else."""

    template_name = "coaching/recognition.html"
    limit = 100

    def people(self) -> QuerySet[Membership]:
        return (
            Membership.objects.filter(tenant=self.tenant, is_active=True)
            .exclude(pk=self.membership.pk)
            .select_related("user")
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["feed"] = list(selectors.recognition_feed(self.tenant)[: self.limit])
        context.setdefault("kudos_form", KudosForm(people=self.people()))
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = KudosForm(request.POST, people=self.people())
        if form.is_valid():
            try:
                services.kudos_give(self.tenant, actor=self.membership, **form.cleaned_data)
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                messages.success(request, "Kudos sent.")
                return HttpResponseRedirect(request.path)
        return self.render_to_response(self.get_context_data(kudos_form=form), status=400)


class ProfileView(PeriodMixin, TemplateView):
    """A person's coaching profile: recognitions, and each KPI of the period
    beside the team median and the company's top quartile."""

    model = Membership
    template_name = "coaching/profile.html"

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.filter(self.reach.coaching("")).select_related("user", "team")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        member = get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        period = self.period
        rows = selectors.benchmark(self.tenant, member=member, period=period) if period else []
        context.update(
            member=member,
            recognitions=selectors.recognitions_of(self.tenant, member=member),
            benchmark=[
                (
                    row.kpi.label,
                    format_value(row.value, row.kpi.unit),
                    format_value(row.team_median, row.kpi.unit),
                    format_value(row.top_quartile, row.kpi.unit),
                )
                for row in rows
            ],
        )
        return context


class PreferencesView(TenantViewMixin, TemplateView):
    """The member's own choice of coaching emails."""

    template_name = "coaching/preferences.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        prefs = services.preferences_of(self.tenant, member=self.membership)
        context.setdefault(
            "form",
            PreferencesForm(
                initial={
                    "meeting_reminders": prefs.meeting_reminders,
                    "review_steps": prefs.review_steps,
                    "kudos_received": prefs.kudos_received,
                }
            ),
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = PreferencesForm(request.POST)
        form.is_valid()
        services.preferences_save(self.tenant, actor=self.membership, **form.cleaned_data)
        messages.success(request, "Email choices saved.")
        return HttpResponseRedirect(request.path)
