"""1:1 pages: my 1:1s (upcoming, past), the meeting page (agenda, shared notes,
private notes, action items), my action items and the team's coaching
overview. Writes are small POST views that go back to the meeting page; the
page's forms post with htmx and swap only their section (``hx-select``)."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.forms import Form
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.generic import TemplateView, View

from coaching import selectors, services
from coaching.forms import (
    ActionForm,
    ActionStatusForm,
    NotesForm,
    PrivateNoteForm,
    SeriesForm,
    TopicForm,
)
from coaching.links import action_link, agenda_link
from coaching.models import ActionItem, Meeting, MeetingStatus
from goals.models import Goal
from pipeline.models import Deal, DealStatus
from pipeline.services import tenant_today
from spm.forms import form_errors_add
from spm.models import Membership
from spm.permissions import MANAGERS
from spm.tenancy.views import TenantViewMixin


def _people_to_coach(view: TenantViewMixin) -> QuerySet[Membership]:
    ids = view.reach.manage_ids.members
    qs = Membership.objects.filter(tenant=view.tenant, is_active=True).exclude(
        pk=view.membership.pk
    )
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.select_related("user").order_by("user__last_name", "user__first_name")


class MyMeetingsView(TenantViewMixin, TemplateView):
    """The member's 1:1s, upcoming and past; a manager starts a series here."""

    template_name = "coaching/home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["meetings"] = selectors.my_meetings(self.tenant, member=self.membership)
        context["overdue"] = selectors.overdue_actions(
            self.tenant, member=self.membership, today=tenant_today(self.tenant)
        )
        if self.reach.sets_targets:
            context.setdefault("series_form", SeriesForm(people=_people_to_coach(self)))
        return context


class SeriesCreateView(TenantViewMixin, TemplateView):
    """Start a recurring 1:1 with someone the manager manages."""

    template_name = "coaching/home.html"
    allowed_roles = MANAGERS

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        people = Membership.objects.filter(tenant=self.tenant, is_active=True)
        form = SeriesForm(request.POST, people=people)
        if form.is_valid():
            try:
                series = services.series_create(
                    self.tenant, actor=self.membership, **form.cleaned_data
                )
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                meeting = series.meetings.filter(tenant=self.tenant).earliest("scheduled_at")
                messages.success(request, f"1:1 with {series.member.display_name} scheduled.")
                return HttpResponseRedirect(_meeting_url(self.tenant.slug, meeting.pk))
        view = MyMeetingsView()
        view.setup(request, *args, **kwargs)
        view.tenant, view.membership, view.reach = self.tenant, self.membership, self.reach
        return view.render_to_response(view.get_context_data(series_form=form), status=400)


def _meeting_url(slug: str, pk: int) -> str:
    return reverse("coaching:meeting", kwargs={"tenant_slug": slug, "pk": pk})


class MeetingMixin(TenantViewMixin):
    """A meeting in the member's reach (404 otherwise)."""

    model = Meeting

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.meetings_visible(self.tenant, reach=self.reach).select_related(
            "manager__user", "member__user", "series"
        )

    def meeting(self) -> Meeting:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])


class MeetingView(MeetingMixin, TemplateView):
    """A 1:1: the agenda (pre-filled items link to what they are about), the
    shared notes, the manager's private notes, the action items."""

    template_name = "coaching/meeting.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        meeting = kwargs.get("meeting") or self.meeting()
        slug = self.tenant.slug
        agenda = list(
            meeting.agenda.filter(tenant=self.tenant)
            .select_related("dispute")
            .order_by("position", "id")
        )
        for item in agenda:
            item.meeting = meeting
        actions = list(
            selectors.actions_visible(self.tenant, reach=self.reach)
            .filter(member=meeting.member)
            .exclude(status="cancelled")
            .select_related("owner__user", "deal", "goal", "skill")
            .order_by("status", "due_on", "id")
        )
        is_manager = meeting.manager_id == self.membership.pk
        context.update(
            meeting=meeting,
            agenda=[(item, agenda_link(item, slug=slug)) for item in agenda],
            actions=[(a, action_link(a, slug=slug)) for a in actions],
            private_notes=list(
                selectors.private_notes_visible(self.tenant, reach=self.reach)
                .filter(meeting=meeting)
                .select_related("author__user")
            ),
            is_participant=self.membership.pk in (meeting.manager_id, meeting.member_id),
            is_manager=is_manager,
            is_open=meeting.status == MeetingStatus.SCHEDULED,
            today=tenant_today(self.tenant),
        )
        context.setdefault("topic_form", TopicForm(prefix="topic"))
        context.setdefault(
            "notes_form", NotesForm(prefix="notes", initial={"shared_notes": meeting.shared_notes})
        )
        context.setdefault("private_form", PrivateNoteForm(prefix="private"))
        context.setdefault("action_form", self.action_form(meeting))
        return context

    def action_form(self, meeting: Meeting, data: Any = None) -> ActionForm:
        return ActionForm(
            data,
            prefix="action",
            deals=Deal.objects.filter(
                tenant=self.tenant, owner=meeting.member, status=DealStatus.OPEN
            ).order_by("name"),
            goals=Goal.objects.filter(tenant=self.tenant, owner_membership=meeting.member),
        )


class MeetingWriteView(MeetingView, View, metaclass=ABCMeta):
    """Base of the meeting page's POST views: run ``write`` with the bound
    form; on success go back to the page, on a refusal show it again with the
    error beside the field (400)."""

    form_name = ""
    success = ""

    @abstractmethod
    def bind(self, meeting: Meeting) -> Form:
        """The page's form of this write, bound to the POST."""

    @abstractmethod
    def write(self, meeting: Meeting, data: dict[str, Any]) -> None:
        """Call the service; a ValidationError shows beside the form's field."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        meeting = self.meeting()
        form = self.bind(meeting)
        if form.is_valid():
            try:
                self.write(meeting, form.cleaned_data)
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                if self.success:
                    messages.success(request, self.success)
                return HttpResponseRedirect(_meeting_url(self.tenant.slug, meeting.pk))
        context = self.get_context_data(meeting=meeting, **{self.form_name: form})
        return self.render_to_response(context, status=200 if self.htmx else 400)


class TopicAddView(MeetingWriteView):
    form_name = "topic_form"

    def bind(self, meeting: Meeting) -> Form:
        return TopicForm(self.request.POST, prefix="topic")

    def write(self, meeting: Meeting, data: dict[str, Any]) -> None:
        services.agenda_item_add(
            self.tenant, actor=self.membership, meeting=meeting, title=data["title"]
        )


class AgendaRefreshView(MeetingWriteView):
    form_name = "topic_form"
    success = "Agenda brought up to date."

    def bind(self, meeting: Meeting) -> Form:
        return Form(self.request.POST)

    def write(self, meeting: Meeting, data: dict[str, Any]) -> None:
        services.agenda_refresh_by(
            self.tenant, actor=self.membership, meeting=meeting, today=tenant_today(self.tenant)
        )


class AgendaTickView(MeetingWriteView):
    form_name = "topic_form"

    def bind(self, meeting: Meeting) -> Form:
        return Form(self.request.POST)

    def write(self, meeting: Meeting, data: dict[str, Any]) -> None:
        item = get_object_or_404(
            meeting.agenda.filter(tenant=self.tenant), pk=self.request.POST.get("item") or 0
        )
        item.meeting = meeting
        services.agenda_item_tick(
            self.tenant,
            actor=self.membership,
            item=item,
            is_done=self.request.POST.get("is_done") == "1",
        )


class NotesSaveView(MeetingWriteView):
    form_name = "notes_form"
    success = "Shared notes saved."

    def bind(self, meeting: Meeting) -> Form:
        return NotesForm(self.request.POST, prefix="notes")

    def write(self, meeting: Meeting, data: dict[str, Any]) -> None:
        services.meeting_notes_save(
            self.tenant, actor=self.membership, meeting=meeting, shared_notes=data["shared_notes"]
        )


class PrivateNoteAddView(MeetingWriteView):
    form_name = "private_form"

    def bind(self, meeting: Meeting) -> Form:
        return PrivateNoteForm(self.request.POST, prefix="private")

    def write(self, meeting: Meeting, data: dict[str, Any]) -> None:
        services.private_note_add(
            self.tenant, actor=self.membership, meeting=meeting, body=data["body"]
        )


class ActionAddView(MeetingWriteView):
    form_name = "action_form"

    def bind(self, meeting: Meeting) -> Form:
        return self.action_form(meeting, self.request.POST)

    def write(self, meeting: Meeting, data: dict[str, Any]) -> None:
        owner = meeting.manager if data["owner"] == "manager" else meeting.member
        services.action_create(
            self.tenant,
            actor=self.membership,
            member=meeting.member,
            owner=owner,
            meeting=meeting,
            title=data["title"],
            due_on=data["due_on"],
            deal=data["deal"],
            goal=data["goal"],
        )


class MeetingHoldView(MeetingWriteView):
    form_name = "topic_form"
    success = "1:1 marked held; the next one is scheduled."

    def bind(self, meeting: Meeting) -> Form:
        return Form(self.request.POST)

    def write(self, meeting: Meeting, data: dict[str, Any]) -> None:
        services.meeting_hold(self.tenant, actor=self.membership, meeting=meeting)


class ActionListView(TenantViewMixin, TemplateView):
    """The member's action items (as member or owner), open first."""

    template_name = "coaching/actions.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        slug = self.tenant.slug
        me = self.membership
        rows = list(
            selectors.actions_visible(self.tenant, reach=self.reach)
            .filter(Q(member=me) | Q(owner=me))
            .select_related("member__user", "owner__user", "deal", "goal", "skill")
            .order_by("status", "due_on", "id")
        )
        context["actions"] = [(a, action_link(a, slug=slug)) for a in rows]
        context["today"] = tenant_today(self.tenant)
        return context


class ActionStatusView(TenantViewMixin, View):
    """Set an action item's status (its owner, member or coach)."""

    model = ActionItem

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.actions_visible(self.tenant, reach=self.reach)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        action = get_object_or_404(self.get_queryset().select_related("member"), pk=kwargs["pk"])
        form = ActionStatusForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Choose open, done or cancelled.")
        else:
            services.action_set_status(
                self.tenant,
                actor=self.membership,
                action=action,
                status=form.cleaned_data["status"],
            )
        back = request.POST.get("next", "")
        if back.startswith(f"/{self.tenant.slug}/"):
            return HttpResponseRedirect(back)
        return HttpResponseRedirect(
            reverse("coaching:action-list", kwargs={"tenant_slug": self.tenant.slug})
        )


class TeamOverviewView(TenantViewMixin, TemplateView):
    """A manager's people: last and next 1:1, overdue action items, skills gaps."""

    template_name = "coaching/team.html"
    allowed_roles = MANAGERS

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["rows"] = selectors.team_overview(
            self.tenant, reach=self.reach, today=tenant_today(self.tenant)
        )
        return context
