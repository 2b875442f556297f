"""The pre-filled 1:1 agenda: what changed for a member since their previous 1:1
(docs/formulas.md, "Coaching agenda").

``agenda_findings`` reads snapshots and records and returns ``Finding`` rows;
it writes nothing (``coaching.services.agenda_refresh`` stores them as agenda
items). A fixed number of queries whatever the number of deals or goals.

- KPI movements: the member's values of the current quarter against the
  baseline kept when the previous 1:1 was held (same quarter only): bookings
  and activities by their relative change, win rate by points, the sales
  cycle by days, each against the tenant's threshold (``CoachingSettings``);
- attainment pacing: attainment below the elapsed share of the quarter by at
  least the tenant's pacing gap (no baseline needed);
- deals: the member's open deals past their expected close date or without a
  stage change for the tenant's ``stalled_after_days``;
- goals behind pace (progress below the elapsed share of their dates) and MBO
  objectives of the current periods whose score is below the elapsed share;
- open action items of the member, the overdue ones said so;
- the member's open commission disputes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q

from coaching.models import ActionItem, ActionStatus, AgendaKind, CoachingSettings
from goals.models import Goal, Objective
from goals.selectors import objective_sets
from incentives.models import Dispute, DisputeStatus
from kpis.models import SubjectKind
from kpis.selectors import values_of
from pipeline.models import Deal
from pipeline.selectors import deals_needing_attention
from spm.formatting import Formats, formats_for
from spm.models import FiscalPeriod, Membership, Tenant
from spm.selectors import period_containing
from spm.start.selectors import goals_behind

BASELINE_KPIS = ["bookings", "attainment", "win_rate", "sales_cycle_length", "activities"]
DEAL_LIMIT = 10


@dataclass(frozen=True)
class Finding:
    """One agenda item the builder found, with what it is about."""

    kind: str
    title: str
    detail: str = ""
    kpi: str = ""
    deal_id: int | None = None
    goal_id: int | None = None
    objective_id: int | None = None
    action_id: int | None = None
    dispute_id: int | None = None

    @property
    def key(self) -> tuple[str, Any]:
        """What the item is about: one item per KPI, deal, goal, objective,
        action item or dispute."""
        return (
            self.kind,
            self.kpi
            or self.deal_id
            or self.goal_id
            or self.objective_id
            or self.action_id
            or self.dispute_id,
        )


def baseline_of(tenant: Tenant, *, member: Membership, today: dt.date) -> dict[str, Any]:
    """The member's KPI values of the quarter containing ``today``, as kept on a
    held meeting: ``{"period_id": id, "values": {kpi: "decimal" | None}}``."""
    quarter = period_containing(tenant, day=today, kind="quarter")
    if quarter is None:
        return {}
    values = values_of(
        tenant, period=quarter, kind=SubjectKind.MEMBER, subject_ids=[member.pk], kpis=BASELINE_KPIS
    ).get(member.pk, {})
    return {
        "period_id": quarter.pk,
        "values": {k: (None if v is None else str(v)) for k, v in values.items()},
    }


def _relative(old: Decimal, new: Decimal) -> Decimal | None:
    return None if old == 0 else (new - old) / old


def _pct(fraction: Decimal) -> str:
    return Formats().percent(abs(fraction), 0)


def _shown(fmt: Formats, value: Decimal, unit: str) -> str:
    if unit == "money":
        return fmt.money(value, 0)
    if unit == "ratio":
        return fmt.percent(value, 0)
    return fmt.number(value, 1 if unit == "days" else 0)


def kpi_movements(
    *,
    settings: CoachingSettings,
    old: dict[str, Decimal | None],
    new: dict[str, Decimal | None],
    fmt: Formats,
) -> list[Finding]:
    """KPI findings from the baseline ``old`` to the current ``new`` values."""
    found: list[Finding] = []

    def pair(kpi: str) -> tuple[Decimal, Decimal] | None:
        a, b = old.get(kpi), new.get(kpi)
        return None if a is None or b is None else (a, b)

    def moved(kpi: str, label: str, unit: str, change: Decimal, limit: Decimal, text: str) -> None:
        values = pair(kpi)
        if values is None or abs(change) < limit or change == 0:
            return
        a, b = values
        direction = "up" if change > 0 else "down"
        found.append(
            Finding(
                kind=AgendaKind.KPI,
                kpi=kpi,
                title=f"{label} {direction} {text} since the last 1:1",
                detail=f"{_shown(fmt, a, unit)} → {_shown(fmt, b, unit)}",
            )
        )

    for kpi, label, unit, limit in (
        ("bookings", "Bookings", "money", settings.bookings_change),
        ("activities", "Activities", "count", settings.activities_change),
    ):
        values = pair(kpi)
        rel = _relative(*values) if values else None
        if rel is not None:
            moved(kpi, label, unit, rel, limit, _pct(rel))
    values = pair("win_rate")
    if values:
        points = values[1] - values[0]
        moved(
            "win_rate",
            "Win rate",
            "ratio",
            points,
            settings.win_rate_change,
            f"{fmt.number(abs(points) * 100)} points",
        )
    values = pair("sales_cycle_length")
    if values:
        days = values[1] - values[0]
        moved(
            "sales_cycle_length",
            "Sales cycle",
            "days",
            days,
            settings.cycle_change_days,
            f"{fmt.number(abs(days), 1)} days",
        )
    return found


def elapsed_share(period: FiscalPeriod, *, today: dt.date) -> Decimal:
    """Days of ``period`` passed up to and including ``today``, over its days (0 to 1)."""
    passed = min(max((today - period.start).days + 1, 0), period.days)
    return Decimal(passed) / Decimal(period.days)


def pacing(
    *, settings: CoachingSettings, attainment: Decimal | None, quarter: FiscalPeriod, today: dt.date
) -> list[Finding]:
    if attainment is None:
        return []
    share = elapsed_share(quarter, today=today)
    if attainment > share - settings.pacing_gap:
        return []
    return [
        Finding(
            kind=AgendaKind.KPI,
            kpi="attainment",
            title=f"Attainment behind pace in {quarter.label}",
            detail=f"{_pct(attainment)} of quota with {_pct(share)} of the quarter gone",
        )
    ]


def deal_findings(tenant: Tenant, *, member: Membership, today: dt.date) -> list[Finding]:
    fmt = formats_for(tenant)
    # Annotated by deals_with_flags: is_overdue, is_stalled, last_moved_on.
    deals: list[Any] = list(
        deals_needing_attention(
            Deal.objects.filter(tenant=tenant, owner=member),
            today=today,
            stalled_after_days=tenant.stalled_after_days,
        )[:DEAL_LIMIT]
    )
    found = []
    for deal in deals:
        reasons = []
        if deal.is_overdue:
            reasons.append(f"expected to close on {fmt.date(deal.expected_close_date)}")
        if deal.is_stalled:
            reasons.append(f"no stage change for {(today - deal.last_moved_on).days} days")
        state = "stalled" if deal.is_stalled else "past its close date"
        found.append(
            Finding(
                kind=AgendaKind.DEAL,
                deal_id=deal.pk,
                title=f"Deal {deal.name} {state}",
                detail=f"{deal.stage.name}: " + "; ".join(reasons),
            )
        )
    return found


def goal_findings(tenant: Tenant, *, member: Membership, today: dt.date) -> list[Finding]:
    fmt = formats_for(tenant)
    goals = Goal.objects.filter(tenant=tenant, owner_membership=member)
    return [
        Finding(
            kind=AgendaKind.GOAL,
            goal_id=goal.pk,
            title=f"Goal behind pace: {goal.title}",
            detail=f"{_pct(goal.progress or Decimal(0))} done, due {fmt.date(goal.due_date)}",
        )
        for goal in goals_behind(goals, today=today)
    ]


def objective_findings(tenant: Tenant, *, member: Membership, today: dt.date) -> list[Finding]:
    found: list[Finding] = []
    for objective_set in objective_sets(tenant, viewer=member, membership=member):
        period = objective_set.period
        if not period.start <= today <= period.end:
            continue
        objectives: list[Objective] = objective_set.objectives
        share = elapsed_share(period, today=today)
        found.extend(
            Finding(
                kind=AgendaKind.OBJECTIVE,
                objective_id=objective.pk,
                title=f"Objective behind pace: {objective.title}",
                detail=f"scored {_pct(objective.current_score)} with {_pct(share)} of "
                f"{period.label} gone",
            )
            for objective in objectives
            if objective.current_score is not None and objective.current_score < share
        )
    return found


def action_findings(tenant: Tenant, *, member: Membership, today: dt.date) -> list[Finding]:
    fmt = formats_for(tenant)
    actions = ActionItem.objects.filter(
        Q(member=member) | Q(owner=member), tenant=tenant, status=ActionStatus.OPEN
    ).order_by("due_on", "id")
    return [
        Finding(
            kind=AgendaKind.ACTION,
            action_id=action.pk,
            title=f"{'Overdue' if action.due_on < today else 'Open'} action: {action.title}",
            detail=f"due {fmt.date(action.due_on)}",
        )
        for action in actions
    ]


def dispute_findings(tenant: Tenant, *, member: Membership) -> list[Finding]:
    disputes = (
        Dispute.objects.filter(tenant=tenant, membership=member, status=DisputeStatus.OPEN)
        .select_related("statement__period")
        .order_by("created_at", "id")
    )
    return [
        Finding(
            kind=AgendaKind.DISPUTE,
            dispute_id=dispute.pk,
            title=f"Open commission dispute on the {dispute.statement.period.label} statement",
            detail=dispute.reason[:200],
        )
        for dispute in disputes
    ]


def agenda_findings(
    tenant: Tenant,
    *,
    member: Membership,
    settings: CoachingSettings,
    baseline: dict[str, Any],
    today: dt.date,
) -> list[Finding]:
    """Everything the next 1:1 of ``member`` should cover (module docstring),
    KPI movements first, then deals, goals, objectives and action items."""
    found: list[Finding] = []
    quarter = period_containing(tenant, day=today, kind="quarter")
    if quarter is not None:
        current = values_of(
            tenant,
            period=quarter,
            kind=SubjectKind.MEMBER,
            subject_ids=[member.pk],
            kpis=BASELINE_KPIS,
        ).get(member.pk, {})
        if baseline.get("period_id") == quarter.pk:
            old = {
                k: (None if v is None else Decimal(v))
                for k, v in baseline.get("values", {}).items()
            }
            found += kpi_movements(settings=settings, old=old, new=current, fmt=formats_for(tenant))
        found += pacing(
            settings=settings, attainment=current.get("attainment"), quarter=quarter, today=today
        )
    found += deal_findings(tenant, member=member, today=today)
    found += goal_findings(tenant, member=member, today=today)
    found += objective_findings(tenant, member=member, today=today)
    found += action_findings(tenant, member=member, today=today)
    found += dispute_findings(tenant, member=member)
    return found
