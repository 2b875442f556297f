"""API of approvals and plan acceptance.

``approvals/``: admins and finance ask to publish a run (``run``) or to
activate a draft plan version (``version``, admins), and decide them
(``{id}/approve/``, ``{id}/reject/`` with a required ``answer``): finance
decides publications, admins activations, never their own request while the
tenant has another member of the deciding role (403 naming why).

``plan-acceptances/``: a member accepts a plan they are assigned
(``assignment``: their own, else 404) and reads the acceptances in their
reach (a rep their own, a manager their subtree's, admins and finance all).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from incentives import services
from incentives.models import Approval, Assignment, CalcRun, PlanAcceptance, PlanVersion
from incentives.services.approvals import approval_subject
from spm.api.base import TenantGenericViewSet, TenantPrimaryKeyRelatedField
from spm.api.csv import CsvListModelMixin
from spm.api.idempotency import idempotent
from spm.api.registry import tenant_router
from spm.api.scopes import Scope
from spm.permissions import ALL_ROLES, READ_ALL


class ApprovalSerializer(serializers.ModelSerializer):
    subject = serializers.SerializerMethodField()
    requester_name = serializers.CharField(
        source="requested_by.display_name", read_only=True, default=""
    )
    decider_name = serializers.CharField(
        source="decided_by.display_name", read_only=True, default=""
    )
    may_decide = serializers.SerializerMethodField(
        help_text="Whether you may approve or reject it now"
    )

    class Meta:
        model = Approval
        fields = [
            "id",
            "kind",
            "run",
            "version",
            "subject",
            "status",
            "requested_by",
            "requester_name",
            "requested_at",
            "note",
            "decided_by",
            "decider_name",
            "decided_at",
            "answer",
            "may_decide",
        ]
        read_only_fields = fields

    def get_subject(self, obj: Approval) -> str:
        return approval_subject(obj)

    def get_may_decide(self, obj: Approval) -> bool:
        deciders = self.context.get("deciders")
        actor = self.context.get("membership")
        if deciders is None or actor is None:
            return False
        refusal = services.approval_may_decide(
            approval=obj, actor=actor, deciders=deciders[obj.kind]
        )
        return refusal is None


class ApprovalCreateSerializer(serializers.Serializer):
    run = TenantPrimaryKeyRelatedField(
        model=CalcRun, required=False, help_text="A finished preview run to publish"
    )
    version = TenantPrimaryKeyRelatedField(
        model=PlanVersion, required=False, help_text="A draft plan version to activate"
    )
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("run" in attrs) == ("version" in attrs):
            raise serializers.ValidationError({"run": "Name a run or a version (one of them)."})
        return attrs


class ApprovalDecideSerializer(serializers.Serializer):
    answer = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        help_text="Why (required to reject)",
    )


class ApprovalViewSet(CsvListModelMixin, mixins.RetrieveModelMixin, TenantGenericViewSet):
    """Requests to publish a run's statements (finance decides) and to
    activate a draft plan version (admins decide), newest first."""

    model = Approval
    serializer_class = ApprovalSerializer
    token_read_scope = Scope.INCENTIVES_READ
    read_roles = READ_ALL
    write_roles = READ_ALL
    filterset_fields = ["status", "kind", "run", "version"]
    ordering = ["-requested_at", "-id"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.filter(self.reach.approvals()).select_related(
            "run__period", "version__plan", "requested_by__user", "decided_by__user"
        )

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if getattr(self, "tenant", None) is not None and getattr(self, "membership", None):
            if not hasattr(self, "_deciders"):
                self._deciders = services.approval_deciders(self.tenant)
            context.update(deciders=self._deciders, membership=self.membership)
        return context

    def _answer(self, approval: Approval, status: int = 200) -> Response:
        fresh = self.tenant_queryset().get(pk=approval.pk)
        return Response(self.get_serializer(fresh).data, status=status)

    @extend_schema(request=ApprovalCreateSerializer, responses={201: ApprovalSerializer})
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Ask for an approval: ``run`` (publish it; finance decides) or
        ``version`` (activate the draft; admins decide), with an optional note."""
        data = ApprovalCreateSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        values = data.validated_data
        approval = services.approval_request(
            self.tenant,
            actor=self.membership,
            run=values.get("run"),
            version=values.get("version"),
            note=values["note"],
        )
        return self._answer(approval, status=201)

    @extend_schema(request=ApprovalDecideSerializer, responses=ApprovalSerializer)
    @action(detail=True, methods=["post"])
    @idempotent
    def approve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Approve: a publication lets the run be published; an activation
        makes the version active."""
        return self._decide(request, approve=True)

    @extend_schema(request=ApprovalDecideSerializer, responses=ApprovalSerializer)
    @action(detail=True, methods=["post"])
    @idempotent
    def reject(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Reject with an ``answer`` saying why."""
        return self._decide(request, approve=False)

    def _decide(self, request: Request, *, approve: bool) -> Response:
        approval = self.get_object()
        data = ApprovalDecideSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decided = services.approval_decide(
            self.tenant,
            approval=approval,
            actor=self.membership,
            approve=approve,
            answer=data.validated_data["answer"],
        )
        return self._answer(decided)


class PlanAcceptanceSerializer(serializers.ModelSerializer):
    member_name = serializers.CharField(source="membership.display_name", read_only=True)
    plan = serializers.SerializerMethodField()

    class Meta:
        model = PlanAcceptance
        fields = ["id", "assignment", "membership", "member_name", "plan", "accepted_at"]
        read_only_fields = fields

    def get_plan(self, obj: PlanAcceptance) -> str:
        return str(obj.assignment.version)


class PlanAcceptanceCreateSerializer(serializers.Serializer):
    assignment = serializers.IntegerField(help_text="One of your own assignments")


class PlanAcceptanceViewSet(CsvListModelMixin, mixins.RetrieveModelMixin, TenantGenericViewSet):
    """Acceptances of assigned plans, with their date. POST accepts one of
    your own assignments (someone else's: 404); accepting again answers the
    first acceptance."""

    model = PlanAcceptance
    serializer_class = PlanAcceptanceSerializer
    token_read_scope = Scope.INCENTIVES_READ
    read_roles = ALL_ROLES
    write_roles = ALL_ROLES
    filterset_fields = ["membership", "assignment"]
    ordering = ["-accepted_at", "-id"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.filter(self.reach.plan_acceptances()).select_related(
            "membership__user", "assignment__version__plan"
        )

    @extend_schema(
        request=PlanAcceptanceCreateSerializer,
        responses={201: PlanAcceptanceSerializer, 200: PlanAcceptanceSerializer},
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = PlanAcceptanceCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        assignment = (
            Assignment.objects.filter(
                tenant=self.tenant, membership=self.membership, pk=data.validated_data["assignment"]
            )
            .select_related("version__plan")
            .first()
        )
        if assignment is None:
            raise NotFound("No such assignment of yours.")
        before = PlanAcceptance.objects.filter(tenant=self.tenant, assignment=assignment).exists()
        acceptance = services.plan_accept(self.tenant, assignment=assignment, actor=self.membership)
        fresh = self.tenant_queryset().get(pk=acceptance.pk)
        return Response(self.get_serializer(fresh).data, status=200 if before else 201)


tenant_router.register("approvals", ApprovalViewSet, basename="approval")
tenant_router.register("plan-acceptances", PlanAcceptanceViewSet, basename="plan-acceptance")
