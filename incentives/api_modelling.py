"""API of plan modelling: a draft version applied to a past period's credits
for every member on a plan, compared with the plans in force (admins)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from incentives.modelling import PlanModel, plan_model
from incentives.models import PlanVersion
from spm.api.base import TenantGenericViewSet
from spm.api.scopes import Scope
from spm.models import FiscalPeriod
from spm.money import MONEY_KWARGS
from spm.permissions import ADMIN

SHARE_KWARGS: dict[str, Any] = {"max_digits": 12, "decimal_places": 2, "allow_null": True}


class PlanModelQuerySerializer(serializers.Serializer):
    period = serializers.IntegerField(help_text="A fiscal period id (a month or quarter)")


class ModelMemberSerializer(serializers.Serializer):
    member = serializers.IntegerField(source="member_id")
    name = serializers.CharField()
    bookings = serializers.DecimalField(**MONEY_KWARGS)
    current = serializers.DecimalField(**MONEY_KWARGS, help_text="Under the plan in force")
    modelled = serializers.DecimalField(**MONEY_KWARGS, help_text="Under the draft")
    change = serializers.DecimalField(**MONEY_KWARGS)


class PlanModelSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    period = serializers.IntegerField()
    bookings = serializers.DecimalField(**MONEY_KWARGS)
    current = serializers.DecimalField(**MONEY_KWARGS, help_text="Cost under the plans in force")
    modelled = serializers.DecimalField(**MONEY_KWARGS, help_text="Cost under the draft")
    change = serializers.DecimalField(**MONEY_KWARGS)
    current_share = serializers.DecimalField(
        **SHARE_KWARGS, help_text="Cost in force as a percentage of bookings"
    )
    modelled_share = serializers.DecimalField(
        **SHARE_KWARGS, help_text="Cost under the draft as a percentage of bookings"
    )
    members = ModelMemberSerializer(many=True, help_text="Largest gain first")
    gainers = ModelMemberSerializer(many=True, help_text="The five who gain most")
    losers = ModelMemberSerializer(many=True, help_text="The five who lose most")


def plan_model_data(model: PlanModel) -> dict[str, Any]:
    return {
        "version": model.version.pk,
        "period": model.period.pk,
        "bookings": model.bookings,
        "current": model.current,
        "modelled": model.modelled,
        "change": model.change,
        "current_share": model.current_share,
        "modelled_share": model.modelled_share,
        "members": model.members.to_dict("records"),
        "gainers": model.gainers.to_dict("records"),
        "losers": model.losers.to_dict("records"),
    }


class PlanModelViewSet(TenantGenericViewSet):
    """``GET plan-models/<version id>/?period=<id>``: the version's document
    applied to the period's credits for every member on a plan then, from an
    empty ledger, against the plans in force: cost, cost as a share of
    bookings, each member's payout and change, who gains and loses most."""

    model = PlanVersion
    token_read_scope = Scope.INCENTIVES_READ
    serializer_class = PlanModelSerializer
    read_roles = ADMIN
    write_roles = ADMIN

    @extend_schema(parameters=[PlanModelQuerySerializer], responses=PlanModelSerializer)
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        version = self.get_object()
        query = PlanModelQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        period = FiscalPeriod.objects.filter(
            tenant=self.tenant, pk=query.validated_data["period"]
        ).first()
        if period is None:
            raise serializers.ValidationError({"period": ["No such period."]})
        model = plan_model(self.tenant, version=version, period=period)
        return Response(PlanModelSerializer(plan_model_data(model)).data)
