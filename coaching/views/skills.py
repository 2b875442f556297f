"""Skills pages: a member's skills (radar of self and manager levels over
time, practice and training counts, development plan) with the forms to
assess, assign training, log practice and plan; the tenant's framework."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms import Form
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.generic import TemplateView

from coaching import charts, selectors, services
from coaching.forms import AssessmentForm, DevelopmentForm, PracticeForm, SkillForm, TrainingForm
from coaching.models import ActionItem, ActionStatus, Skill, TrainingAssignment
from pipeline.services import tenant_today
from spm.forms import form_errors_add
from spm.models import Membership
from spm.permissions import ADMIN
from spm.tenancy.views import TenantViewMixin


class SkillsView(TenantViewMixin, TemplateView):
    """A member's skills page (``pk`` absent: the viewer's own)."""

    model = Membership
    template_name = "coaching/skills.html"

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.filter(self.reach.coaching(""), is_active=True).select_related("user", "team")

    def member(self) -> Membership:
        if "pk" not in self.kwargs:
            return self.membership
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def forms(self, member: Membership, data: Any = None) -> dict[str, Form]:
        skills = Skill.objects.filter(tenant=self.tenant, is_active=True)
        people = Membership.objects.filter(tenant=self.tenant, is_active=True).select_related(
            "user"
        )
        return {
            "assess_form": AssessmentForm(
                prefix="assess",
                data=data,
                skills=skills,
                initial={"assessed_on": tenant_today(self.tenant)},
            ),
            "training_form": TrainingForm(data, prefix="training", skills=skills),
            "practice_form": PracticeForm(
                prefix="practice",
                data=data,
                skills=list(skills.order_by("position", "name")),
                people=people,
            ),
            "plan_form": DevelopmentForm(
                data,
                prefix="plan",
                skills=skills,
                actions=ActionItem.objects.filter(
                    tenant=self.tenant, member=member, status=ActionStatus.OPEN
                ),
                trainings=TrainingAssignment.objects.filter(tenant=self.tenant, member=member),
            ),
        }

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        member = kwargs.get("member") or self.member()
        profile = selectors.skill_profile(self.tenant, member=member)
        top = services.settings_of(self.tenant).skill_levels
        may_write = member.pk == self.membership.pk or self.reach.may_coach(member)
        context.update(
            member=member,
            profile=profile,
            top=top,
            radar=charts.skills_radar(profile, top=top),
            may_write=may_write,
            is_self=member.pk == self.membership.pk,
            today=tenant_today(self.tenant),
        )
        for name, form in self.forms(member).items():
            context.setdefault(name, form)
        return context


class SkillWriteView(SkillsView):
    """POST one of the skills page's forms (``op`` from the URL's name)."""

    op = ""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        member = self.member()
        name = f"{self.op}_form"
        form = self.forms(member, request.POST)[name]
        if form.is_valid():
            try:
                self.write(member, form)
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                messages.success(request, "Saved.")
                return HttpResponseRedirect(
                    reverse(
                        "coaching:member-skills",
                        kwargs={"tenant_slug": self.tenant.slug, "pk": member.pk},
                    )
                )
        context = self.get_context_data(member=member, **{name: form})
        return self.render_to_response(context, status=200 if self.htmx else 400)

    def write(self, member: Membership, form: Any) -> None:
        data = form.cleaned_data
        t, actor = self.tenant, self.membership
        if self.op == "assess":
            services.assessment_record(t, actor=actor, member=member, **data)
        elif self.op == "training":
            services.training_assign(t, actor=actor, member=member, **data)
        elif self.op == "practice":
            services.practice_log(
                t,
                actor=actor,
                member=member,
                scenario=data["scenario"],
                practiced_on=data["practiced_on"],
                customer_played_by=data["customer_played_by"],
                feedback=data["feedback"],
                ratings=form.ratings(),
            )
        else:
            services.development_item_add(t, actor=actor, member=member, **data)


class TrainingCompleteView(TenantViewMixin, TemplateView):
    """Mark a training done today (the member or their coach)."""

    model = TrainingAssignment

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.training_visible(self.tenant, reach=self.reach)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        training = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        return HttpResponseRedirect(self._back(training))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        training = get_object_or_404(self.get_queryset().select_related("member"), pk=kwargs["pk"])
        try:
            services.training_complete(
                self.tenant,
                actor=self.membership,
                training=training,
                completed_on=tenant_today(self.tenant),
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return HttpResponseRedirect(self._back(training))

    def _back(self, training: TrainingAssignment) -> str:
        return reverse(
            "coaching:member-skills",
            kwargs={"tenant_slug": self.tenant.slug, "pk": training.member_id},
        )


class FrameworkView(TenantViewMixin, TemplateView):
    """The tenant's skills framework (admins edit it)."""

    template_name = "coaching/framework.html"
    allowed_roles = ADMIN

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["skills"] = selectors.skills_of(self.tenant, active_only=False)
        context.setdefault("skill_form", SkillForm())
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.POST.get("defaults"):
            services.skills_ensure_default(self.tenant, actor=self.membership)
            messages.success(request, "Default skills framework added.")
            return HttpResponseRedirect(request.path)
        form = SkillForm(request.POST)
        if form.is_valid():
            try:
                services.skill_save(self.tenant, actor=self.membership, **form.cleaned_data)
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                messages.success(request, "Skill saved.")
                return HttpResponseRedirect(request.path)
        return self.render_to_response(self.get_context_data(skill_form=form), status=400)
