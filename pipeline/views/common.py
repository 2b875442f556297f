"""Helpers shared by the pipeline pages: id parsing, form errors, the deal filters."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import (
    QueryDict,
)

from pipeline import selectors, services
from pipeline.models import (
    Deal,
    DealStatus,
    DealType,
)
from spm.models import FiscalPeriod, Membership, Team, Tenant
from spm.reach import Reach

MAX_ID = 2**63 - 1


def parse_id(value: str | None) -> int | None:
    """A database id from a query or form value, or None when it is not one."""
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if 0 < number <= MAX_ID else None


class DealFilters:
    """The owner / team / period / type / stage / status filters shared by the
    board and the deal list, read from the query string. ``default_status``
    applies when the query names no status (``status=all`` asks for any)."""

    def __init__(
        self,
        tenant: Tenant,
        reach: Reach,
        params: QueryDict,
        *,
        default_status: str | None = None,
    ) -> None:
        self.tenant = tenant
        self.reach = reach
        self.params = params
        self.default_status = default_status
        self.periods = list(
            FiscalPeriod.objects.filter(
                tenant=self.tenant, kind__in=["month", "quarter", "year"]
            ).order_by("start", "-end")
        )
        today = services.tenant_today(self.tenant)
        self.default_period = next(
            (p for p in self.periods if p.kind == "quarter" and p.start <= today <= p.end), None
        )

    def _int(self, name: str) -> int | None:
        return parse_id(self.params.get(name))

    def period(self, *, default: bool) -> FiscalPeriod | None:
        pk = self._int("period")
        if pk is not None:
            return next((p for p in self.periods if p.pk == pk), None)
        if self.params.get("period") == "all":
            return None
        return self.default_period if default else None

    @property
    def status(self) -> str | None:
        if "status" not in self.params:
            return self.default_status
        value = self.params["status"]
        return value if value in DealStatus.values else None

    def period_groups(self) -> list[tuple[str, list[FiscalPeriod]]]:
        """The close-period choices by kind, each in date order."""
        return [
            (label, [p for p in self.periods if p.kind == kind])
            for kind, label in (("quarter", "Quarters"), ("month", "Months"), ("year", "Years"))
        ]

    def apply(self, qs: QuerySet[Deal], *, default_period: bool) -> QuerySet[Deal]:
        owner = self._int("owner")
        if owner is not None:
            qs = qs.filter(owner_id=owner)
        team_id = self._int("team")
        if team_id is not None:
            team = Team.objects.filter(tenant=self.tenant, pk=team_id).first()
            qs = qs.filter(owner__team__path__startswith=team.path) if team else qs.none()
        if self.params.get("type") in DealType.values:
            qs = qs.filter(deal_type=self.params["type"])
        if self.status is not None:
            qs = qs.filter(status=self.status)
        stage = self._int("stage")
        if stage is not None:
            qs = qs.filter(stage_id=stage)
        query = self.params.get("q", "").strip()
        if query:
            qs = qs.filter(
                Q(name__icontains=query)
                | Q(account__name__icontains=query)
                | Q(external_id__iexact=query)
            )
        period = self.period(default=default_period)
        if period is not None:
            qs = selectors.deals_closing_between(qs, start=period.start, end=period.end)
        return qs

    def context(self, *, default_period: bool) -> dict[str, Any]:
        selected = self.period(default=default_period)
        return {
            "owners": Membership.objects.filter(self.reach.members(), tenant=self.tenant)
            .select_related("user")
            .order_by("user__first_name", "user__last_name"),
            "teams": Team.objects.filter(tenant=self.tenant).order_by("path"),
            "period_groups": self.period_groups(),
            "selected_period": selected,
            "selected_status": self.status,
            "deal_types": DealType.choices,
            "statuses": DealStatus.choices,
            "params": self.params,
        }
