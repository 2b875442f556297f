"""API of the coaching pillar: 1:1 series and meetings with their agenda,
private notes and action items; skills, assessments, training, practice and
development plans; review cycles and reviews; recognition; notification
preferences and the tenant's coaching settings.

Thin: every write goes through ``coaching.services``; every queryset through
``coaching.selectors`` (``spm.reach``): a rep reads their own coaching
records, a manager their subtree's, admins all; private notes only their
author's reach, never the member the meeting is with.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from coaching import selectors, services
from coaching.links import action_link, agenda_link
from coaching.models import (
    ActionItem,
    ActionStatus,
    AgendaItem,
    Assessment,
    CoachingSettings,
    DevelopmentItem,
    Meeting,
    NotificationPreference,
    PracticeLog,
    PracticeRating,
    PrivateNote,
    Recognition,
    Review,
    ReviewCycle,
    Series,
    Skill,
    TrainingAssignment,
)
from goals.models import Goal
from pipeline.models import Deal
from pipeline.services import tenant_today
from spm.api.base import TenantGenericViewSet, TenantPrimaryKeyRelatedField
from spm.api.csv import CsvListModelMixin
from spm.api.registry import tenant_router
from spm.models import FiscalPeriod, Membership
from spm.permissions import ADMIN, MANAGERS

# 1:1s -----------------------------------------------------------------------------------


class SeriesSerializer(serializers.ModelSerializer):
    class Meta:
        model = Series
        fields = ["id", "manager", "member", "every_days", "next_at", "is_active", "created_at"]
        read_only_fields = fields


class SeriesCreateSerializer(serializers.Serializer):
    member = TenantPrimaryKeyRelatedField(model=Membership)
    first_at = serializers.DateTimeField(help_text="When the first meeting is")
    every_days = serializers.IntegerField(default=14, help_text="Days between meetings (1-92)")


class SeriesViewSet(
    CsvListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, TenantGenericViewSet
):
    """Recurring 1:1s between a manager and someone they manage. Creating one
    schedules its first meeting with a pre-filled agenda; someone outside the
    manager's team is refused on ``member``."""

    model = Series
    serializer_class = SeriesSerializer
    write_roles = MANAGERS
    filterset_fields = ["manager", "member", "is_active"]
    ordering = ["manager_id", "member_id"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.series_visible(self.tenant, reach=self.reach)

    @extend_schema(request=SeriesCreateSerializer, responses={201: SeriesSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = SeriesCreateSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        series = services.series_create(self.tenant, actor=self.membership, **data.validated_data)
        return Response(SeriesSerializer(series).data, status=201)


class AgendaItemSerializer(serializers.ModelSerializer):
    link = serializers.SerializerMethodField(help_text="The page of what the item is about")

    class Meta:
        model = AgendaItem
        fields = [
            "id",
            "meeting",
            "kind",
            "title",
            "detail",
            "kpi",
            "deal",
            "goal",
            "objective",
            "action",
            "dispute",
            "link",
            "added_by",
            "is_done",
            "position",
        ]
        read_only_fields = fields

    def get_link(self, item: AgendaItem) -> str:
        return agenda_link(item, slug=self.context["tenant"].slug)


class MeetingSerializer(serializers.ModelSerializer):
    class Meta:
        model = Meeting
        fields = [
            "id",
            "series",
            "manager",
            "member",
            "scheduled_at",
            "status",
            "shared_notes",
            "held_at",
            "agenda_built_at",
        ]
        read_only_fields = [f for f in fields if f != "shared_notes"]


class MeetingViewSet(
    CsvListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, TenantGenericViewSet
):
    """1:1 meetings: the shared notes (PATCH, either person), ``hold`` (keeps
    the KPI baseline, schedules the next one), ``cancel``, ``agenda``
    (refresh the pre-filled part)."""

    model = Meeting
    serializer_class = MeetingSerializer
    filterset_fields = ["series", "member", "manager", "status"]
    ordering = ["-scheduled_at", "-id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.meetings_visible(self.tenant, reach=self.reach)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.meeting_notes_save(
            self.tenant,
            actor=self.membership,
            meeting=self.get_object(),
            shared_notes=serializer.validated_data.get("shared_notes", ""),
        )

    @extend_schema(request=None, responses=MeetingSerializer)
    @action(detail=True, methods=["post"])
    def hold(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        meeting = services.meeting_hold(
            self.tenant, actor=self.membership, meeting=self.get_object()
        )
        return Response(self.get_serializer(meeting).data)

    @extend_schema(request=None, responses=MeetingSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        meeting = services.meeting_cancel(
            self.tenant, actor=self.membership, meeting=self.get_object()
        )
        return Response(self.get_serializer(meeting).data)

    @extend_schema(request=None, responses=AgendaItemSerializer(many=True))
    @action(detail=True, methods=["post"])
    def agenda(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Refresh the pre-filled agenda from what changed since the previous 1:1."""
        items = services.agenda_refresh_by(
            self.tenant,
            actor=self.membership,
            meeting=self.get_object(),
            today=tenant_today(self.tenant),
        )
        return Response(
            AgendaItemSerializer(items, many=True, context=self.get_serializer_context()).data
        )


class AgendaItemCreateSerializer(serializers.Serializer):
    meeting = TenantPrimaryKeyRelatedField(model=Meeting)
    title = serializers.CharField(max_length=300)
    detail = serializers.CharField(required=False, allow_blank=True, default="")


class AgendaTickSerializer(serializers.Serializer):
    is_done = serializers.BooleanField()


class AgendaItemViewSet(
    CsvListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, TenantGenericViewSet
):
    """Agenda items of the 1:1s in reach, each with the ``link`` to what it
    is about. POST adds a topic (either person); PATCH ticks it."""

    model = AgendaItem
    serializer_class = AgendaItemSerializer
    filterset_fields = ["meeting", "kind", "is_done"]
    ordering = ["meeting_id", "position", "id"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.agenda_visible(self.tenant, reach=self.reach).select_related(
            "meeting", "dispute"
        )

    @extend_schema(request=AgendaItemCreateSerializer, responses={201: AgendaItemSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = AgendaItemCreateSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        meeting = _visible(
            self, selectors.meetings_visible, data.validated_data["meeting"], "meeting"
        )
        item = services.agenda_item_add(
            self.tenant,
            actor=self.membership,
            meeting=meeting,
            title=data.validated_data["title"],
            detail=data.validated_data["detail"],
        )
        return Response(self.get_serializer(item).data, status=201)

    @extend_schema(request=AgendaTickSerializer, responses=AgendaItemSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        item = self.get_object()
        data = AgendaTickSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = services.agenda_item_tick(
            self.tenant, actor=self.membership, item=item, is_done=data.validated_data["is_done"]
        )
        return Response(self.get_serializer(item).data)


def _visible(view: Any, selector: Any, obj: Any, field: str) -> Any:
    """``obj`` when the member's reach holds it, else a field error (no leak)."""
    if obj is None:
        return None
    if not selector(view.tenant, reach=view.reach).filter(pk=obj.pk).exists():
        raise serializers.ValidationError(
            {field: f'Invalid pk "{obj.pk}" - object does not exist.'}
        )
    return obj


class PrivateNoteSerializer(serializers.ModelSerializer):
    class Meta:
        model = PrivateNote
        fields = ["id", "meeting", "author", "body", "created_at"]
        read_only_fields = ["id", "author", "created_at"]

    meeting = TenantPrimaryKeyRelatedField(model=Meeting)


class PrivateNoteViewSet(
    CsvListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, TenantGenericViewSet
):
    """A manager's private notes on their 1:1s: read by their author and those
    whose reach holds the author, never by the member the meeting is with."""

    model = PrivateNote
    serializer_class = PrivateNoteSerializer
    write_roles = MANAGERS
    filterset_fields = ["meeting"]
    ordering = ["meeting_id", "created_at", "id"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.private_notes_visible(self.tenant, reach=self.reach)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        meeting = _visible(
            self, selectors.meetings_visible, serializer.validated_data["meeting"], "meeting"
        )
        serializer.instance = services.private_note_add(
            self.tenant,
            actor=self.membership,
            meeting=meeting,
            body=serializer.validated_data["body"],
        )


class ActionItemSerializer(serializers.ModelSerializer):
    member = TenantPrimaryKeyRelatedField(model=Membership)
    owner = TenantPrimaryKeyRelatedField(model=Membership, required=False)
    meeting = TenantPrimaryKeyRelatedField(model=Meeting, required=False, allow_null=True)
    deal = TenantPrimaryKeyRelatedField(model=Deal, required=False, allow_null=True)
    goal = TenantPrimaryKeyRelatedField(model=Goal, required=False, allow_null=True)
    skill = TenantPrimaryKeyRelatedField(model=Skill, required=False, allow_null=True)
    link = serializers.SerializerMethodField(help_text="The page of the deal or goal")

    class Meta:
        model = ActionItem
        fields = [
            "id",
            "member",
            "owner",
            "meeting",
            "title",
            "due_on",
            "status",
            "deal",
            "goal",
            "skill",
            "link",
            "created_by",
            "created_at",
            "completed_at",
        ]
        read_only_fields = ["id", "status", "created_by", "created_at", "completed_at"]

    def get_link(self, action: ActionItem) -> str:
        return action_link(action, slug=self.context["tenant"].slug)


class ActionStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ActionStatus.choices)


class ActionItemViewSet(
    CsvListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, TenantGenericViewSet
):
    """Action items of the coaching records in reach (and those one owns).
    PATCH sets the status (open, done, cancelled)."""

    model = ActionItem
    serializer_class = ActionItemSerializer
    filterset_fields = ["member", "owner", "status", "meeting"]
    ordering = ["due_on", "id"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.actions_visible(self.tenant, reach=self.reach)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        data["meeting"] = _visible(self, selectors.meetings_visible, data.get("meeting"), "meeting")
        serializer.instance = services.action_create(self.tenant, actor=self.membership, **data)

    @extend_schema(request=ActionStatusSerializer, responses=ActionItemSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        item = self.get_object()
        data = ActionStatusSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = services.action_set_status(
            self.tenant, actor=self.membership, action=item, status=data.validated_data["status"]
        )
        return Response(self.get_serializer(item).data)


# Skills, training, practice, development ------------------------------------------------


class SkillSerializer(serializers.ModelSerializer):
    class Meta:
        model = Skill
        fields = ["id", "name", "description", "position", "is_active"]


class SkillViewSet(
    CsvListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    TenantGenericViewSet,
):
    """The tenant's skills framework (everyone reads it, admins change it)."""

    model = Skill
    serializer_class = SkillSerializer
    write_roles = ADMIN
    filterset_fields = ["is_active"]
    ordering = ["position", "name"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.skill_save(
            self.tenant, actor=self.membership, **serializer.validated_data
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        skill = self.get_object()
        data = {
            "name": skill.name,
            "description": skill.description,
            "position": skill.position,
            "is_active": skill.is_active,
            **serializer.validated_data,
        }
        serializer.instance = services.skill_save(
            self.tenant, actor=self.membership, skill=skill, **data
        )

    @extend_schema(request=None, responses=SkillSerializer(many=True))
    @action(detail=False, methods=["post"])
    def defaults(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Give a tenant without skills the default framework."""
        skills = services.skills_ensure_default(self.tenant, actor=self.membership)
        return Response(SkillSerializer(skills, many=True).data)


class AssessmentSerializer(serializers.ModelSerializer):
    member = TenantPrimaryKeyRelatedField(model=Membership)
    skill = TenantPrimaryKeyRelatedField(model=Skill)
    level = serializers.IntegerField(help_text="1 to the tenant's skill levels")

    class Meta:
        model = Assessment
        fields = ["id", "member", "skill", "assessor", "kind", "level", "assessed_on", "comment"]
        read_only_fields = ["id", "assessor", "kind"]


class AssessmentViewSet(
    CsvListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, TenantGenericViewSet
):
    """Skill assessments: by the member (self) or their manager; a level out
    of the tenant's scale is refused on ``level``."""

    model = Assessment
    serializer_class = AssessmentSerializer
    filterset_fields = ["member", "skill", "kind"]
    ordering = ["member_id", "skill_id", "assessed_on", "id"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.assessments_visible(self.tenant, reach=self.reach)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.assessment_record(
            self.tenant, actor=self.membership, **serializer.validated_data
        )


class TrainingSerializer(serializers.ModelSerializer):
    member = TenantPrimaryKeyRelatedField(model=Membership)
    skill = TenantPrimaryKeyRelatedField(model=Skill, required=False, allow_null=True)

    class Meta:
        model = TrainingAssignment
        fields = ["id", "member", "title", "link", "due_on", "completed_on", "skill", "assigned_by"]
        read_only_fields = ["id", "assigned_by"]


class TrainingViewSet(
    CsvListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    TenantGenericViewSet,
):
    """Training assignments (title, link, due and completion dates); PATCH
    ``completed_on`` to record completion."""

    model = TrainingAssignment
    serializer_class = TrainingSerializer
    filterset_fields = ["member", "skill"]
    ordering = ["due_on", "id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.training_visible(self.tenant, reach=self.reach)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        data.pop("completed_on", None)
        serializer.instance = services.training_assign(self.tenant, actor=self.membership, **data)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.training_complete(
            self.tenant,
            actor=self.membership,
            training=self.get_object(),
            completed_on=serializer.validated_data.get("completed_on"),
        )


class PracticeRatingSerializer(serializers.Serializer):
    skill = TenantPrimaryKeyRelatedField(model=Skill)
    rating = serializers.IntegerField()


class PracticeLogSerializer(serializers.ModelSerializer):
    member = TenantPrimaryKeyRelatedField(model=Membership)
    customer_played_by = TenantPrimaryKeyRelatedField(
        model=Membership, required=False, allow_null=True
    )
    ratings = PracticeRatingSerializer(many=True)

    class Meta:
        model = PracticeLog
        fields = [
            "id",
            "member",
            "scenario",
            "customer_played_by",
            "practiced_on",
            "feedback",
            "ratings",
            "logged_by",
        ]
        read_only_fields = ["id", "logged_by"]


class PracticeLogViewSet(
    CsvListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, TenantGenericViewSet
):
    """Practice and role-play logs with a rating per skill."""

    model = PracticeLog
    serializer_class = PracticeLogSerializer
    filterset_fields = ["member"]
    ordering = ["-practiced_on", "-id"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.practice_visible(self.tenant, reach=self.reach).prefetch_related(
            Prefetch("ratings", queryset=PracticeRating.objects.filter(tenant=self.tenant))
        )

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        ratings = {row["skill"]: row["rating"] for row in data.pop("ratings")}
        serializer.instance = services.practice_log(
            self.tenant, actor=self.membership, ratings=ratings, **data
        )


class DevelopmentItemSerializer(serializers.ModelSerializer):
    member = TenantPrimaryKeyRelatedField(model=Membership)
    skill = TenantPrimaryKeyRelatedField(model=Skill)
    action = TenantPrimaryKeyRelatedField(model=ActionItem, required=False, allow_null=True)
    training = TenantPrimaryKeyRelatedField(
        model=TrainingAssignment, required=False, allow_null=True
    )

    class Meta:
        model = DevelopmentItem
        fields = ["id", "member", "skill", "target_level", "note", "action", "training"]
        read_only_fields = ["id"]


class DevelopmentItemViewSet(
    CsvListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, TenantGenericViewSet
):
    """Development plans: skills to grow with the actions and training that serve them."""

    model = DevelopmentItem
    serializer_class = DevelopmentItemSerializer
    filterset_fields = ["member", "skill"]
    ordering = ["member_id", "skill_id", "id"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.development_visible(self.tenant, reach=self.reach)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.development_item_add(
            self.tenant, actor=self.membership, **serializer.validated_data
        )


# Reviews --------------------------------------------------------------------------------


class ReviewCycleSerializer(serializers.ModelSerializer):
    period = TenantPrimaryKeyRelatedField(model=FiscalPeriod)
    questions = serializers.JSONField(
        help_text='[{"key": "wins", "text": "What went well?", "kind": "rating" | "text"}]'
    )

    class Meta:
        model = ReviewCycle
        fields = [
            "id",
            "name",
            "period",
            "questions",
            "rating_scale",
            "status",
            "opened_at",
            "closed_at",
        ]
        read_only_fields = ["id", "status", "opened_at", "closed_at"]


class ReviewCycleViewSet(
    CsvListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, TenantGenericViewSet
):
    """Review cycles: an admin opens one for a period with its questions (one
    review per rep active in the period) and ``close``s it."""

    model = ReviewCycle
    serializer_class = ReviewCycleSerializer
    write_roles = ADMIN
    filterset_fields = ["period", "status"]
    ordering = ["-opened_at", "-id"]

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.cycle_open(
            self.tenant, actor=self.membership, **serializer.validated_data
        )

    @extend_schema(request=None, responses=ReviewCycleSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        cycle = services.cycle_close(self.tenant, actor=self.membership, cycle=self.get_object())
        return Response(self.get_serializer(cycle).data)


class ReviewSerializer(serializers.ModelSerializer):
    self_answers = serializers.SerializerMethodField()
    manager_answers = serializers.SerializerMethodField()
    overall_rating = serializers.SerializerMethodField()

    class Meta:
        model = Review
        fields = [
            "id",
            "cycle",
            "member",
            "manager",
            "self_answers",
            "self_submitted_at",
            "manager_answers",
            "manager_submitted_at",
            "overall_rating",
            "acknowledged_at",
        ]
        read_only_fields = fields

    def _sides(self, review: Review) -> selectors.ReviewSides:
        return selectors.review_sides(review, viewer=self.context["membership"])

    def get_self_answers(self, review: Review) -> dict[str, Any] | None:
        return self._sides(review).self_answers

    def get_manager_answers(self, review: Review) -> dict[str, Any] | None:
        return self._sides(review).manager_answers

    def get_overall_rating(self, review: Review) -> int | None:
        return self._sides(review).overall_rating


class ReviewSubmitSerializer(serializers.Serializer):
    answers = serializers.JSONField(help_text="Question key -> rating (int) or text")
    overall_rating = serializers.IntegerField(
        required=False, help_text="The manager's proposed overall rating"
    )


class ReviewViewSet(CsvListModelMixin, mixins.RetrieveModelMixin, TenantGenericViewSet):
    """Reviews in reach; each side's answers show to the other once both are
    submitted. ``submit`` (self: the member; manager: their coach, with
    ``overall_rating``) and ``acknowledge`` (the member)."""

    model = Review
    serializer_class = ReviewSerializer
    filterset_fields = ["cycle", "member", "manager"]
    ordering = ["cycle_id", "member_id"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.reviews_visible(self.tenant, reach=self.reach).select_related("cycle")

    @extend_schema(request=ReviewSubmitSerializer, responses=ReviewSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        review = self.get_object()
        data = ReviewSubmitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if review.member_id == self.membership.pk:
            review = services.review_submit_self(
                self.tenant,
                actor=self.membership,
                review=review,
                answers=data.validated_data["answers"],
            )
        else:
            review = services.review_submit_manager(
                self.tenant,
                actor=self.membership,
                review=review,
                answers=data.validated_data["answers"],
                overall_rating=data.validated_data.get("overall_rating"),
            )
        return Response(self.get_serializer(review).data)

    @extend_schema(request=None, responses=ReviewSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        review = services.review_acknowledge(
            self.tenant, actor=self.membership, review=self.get_object()
        )
        return Response(self.get_serializer(review).data)


# Recognition, preferences, settings -----------------------------------------------------


class RecognitionSerializer(serializers.ModelSerializer):
    recipient = TenantPrimaryKeyRelatedField(model=Membership)

    class Meta:
        model = Recognition
        fields = ["id", "recipient", "giver", "kind", "message", "period", "goal", "created_at"]
        read_only_fields = ["id", "giver", "kind", "period", "goal", "created_at"]


class RecognitionViewSet(
    CsvListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, TenantGenericViewSet
):
    """The recognition feed (everyone reads it); POST gives kudos to another
    member of the tenant (refused on ``recipient`` otherwise)."""

    model = Recognition
    serializer_class = RecognitionSerializer
    filterset_fields = ["recipient", "kind"]
    ordering = ["-created_at", "-id"]

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.kudos_give(
            self.tenant, actor=self.membership, **serializer.validated_data
        )


class PreferenceSerializer(serializers.ModelSerializer):
    meeting_reminders = serializers.BooleanField(help_text="1:1 reminders the day before")
    review_steps = serializers.BooleanField(help_text="Review steps")
    kudos_received = serializers.BooleanField(help_text="Kudos received")

    class Meta:
        model = NotificationPreference
        fields = ["meeting_reminders", "review_steps", "kudos_received"]


class CoachingSettingsSerializer(serializers.ModelSerializer):
    class Meta:
        model = CoachingSettings
        fields = [
            "bookings_change",
            "pacing_gap",
            "win_rate_change",
            "cycle_change_days",
            "activities_change",
            "skill_levels",
        ]


class CoachingMeViewSet(TenantGenericViewSet):
    """The member's own coaching email choices, and the tenant's coaching
    settings (agenda thresholds, skill levels; admins change them)."""

    model = NotificationPreference
    serializer_class = PreferenceSerializer

    @extend_schema(request=PreferenceSerializer, responses=PreferenceSerializer)
    @action(detail=False, methods=["get", "put"])
    def preferences(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if request.method == "PUT":
            data = PreferenceSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            services.preferences_save(self.tenant, actor=self.membership, **data.validated_data)
        prefs = services.preferences_of(self.tenant, member=self.membership)
        return Response(PreferenceSerializer(prefs).data)

    @extend_schema(request=CoachingSettingsSerializer, responses=CoachingSettingsSerializer)
    @action(detail=False, methods=["get", "put"], url_path="settings")
    def coaching_settings(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if request.method == "PUT":
            data = CoachingSettingsSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            services.coaching_settings_save(
                self.tenant, actor=self.membership, **data.validated_data
            )
        return Response(CoachingSettingsSerializer(services.settings_of(self.tenant)).data)


tenant_router.register("coaching/series", SeriesViewSet, basename="coaching-series")
tenant_router.register("coaching/meetings", MeetingViewSet, basename="coaching-meeting")
tenant_router.register("coaching/agenda-items", AgendaItemViewSet, basename="coaching-agenda-item")
tenant_router.register(
    "coaching/private-notes", PrivateNoteViewSet, basename="coaching-private-note"
)
tenant_router.register("coaching/action-items", ActionItemViewSet, basename="coaching-action-item")
tenant_router.register("coaching/skills", SkillViewSet, basename="coaching-skill")
tenant_router.register("coaching/assessments", AssessmentViewSet, basename="coaching-assessment")
tenant_router.register("coaching/training", TrainingViewSet, basename="coaching-training")
tenant_router.register("coaching/practice", PracticeLogViewSet, basename="coaching-practice")
tenant_router.register(
    "coaching/development", DevelopmentItemViewSet, basename="coaching-development"
)
tenant_router.register("coaching/review-cycles", ReviewCycleViewSet, basename="coaching-cycle")
tenant_router.register("coaching/reviews", ReviewViewSet, basename="coaching-review")
tenant_router.register("coaching/recognition", RecognitionViewSet, basename="coaching-recognition")
tenant_router.register("coaching/me", CoachingMeViewSet, basename="coaching-me")
