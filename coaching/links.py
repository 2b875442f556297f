"""Where an agenda item or an action item points: the page of the deal, goal,
objective, KPI, action item or disputed statement it is about (paths under the tenant's slug)."""

from __future__ import annotations

from django.urls import reverse

from coaching.models import ActionItem, AgendaItem


def agenda_link(item: AgendaItem, *, slug: str) -> str:
    """The page of what ``item`` is about ("" for a topic)."""
    kwargs = {"tenant_slug": slug}
    if item.deal_id:
        return reverse("pipeline:deal-detail", kwargs={**kwargs, "pk": item.deal_id})
    if item.goal_id:
        return reverse("goals:goal-detail", kwargs={**kwargs, "pk": item.goal_id})
    if item.objective_id:
        return reverse("goals:objective-list", kwargs=kwargs)
    if item.action_id:
        return reverse("coaching:action-list", kwargs=kwargs) + f"#action-{item.action_id}"
    if item.dispute is not None:
        return reverse(
            "incentives:statement-detail", kwargs={**kwargs, "pk": item.dispute.statement_id}
        )
    if item.kpi:
        return reverse("kpis:rep", kwargs={**kwargs, "pk": item.meeting.member_id})
    return ""


def action_link(action: ActionItem, *, slug: str) -> str:
    """The page of the deal or goal an action item is about ("" otherwise)."""
    kwargs = {"tenant_slug": slug}
    if action.deal_id:
        return reverse("pipeline:deal-detail", kwargs={**kwargs, "pk": action.deal_id})
    if action.goal_id:
        return reverse("goals:goal-detail", kwargs={**kwargs, "pk": action.goal_id})
    return ""
