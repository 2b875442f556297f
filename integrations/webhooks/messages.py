"""Domain events (``spm.events``) as webhook messages.

A message is its event type and its ``data`` (JSON: ids, decimal strings,
ISO dates). One service call makes at most one message per type: a bulk
write that sets forty quotas is one ``quota.changed`` listing them. The
payload sent is ``{"type": ..., "timestamp": ..., "data": ...}``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from django.db.models import Q

from goals.models import GoalStatus, Quota
from integrations.models import WebhookEvent
from kpis.services.recompute import RUN_FULL, RUN_INCREMENTAL
from pipeline.models import Deal, DealStatus
from spm import events
from spm.models import Tenant

Message = tuple[str, dict[str, Any]]
KPI_RUN_KINDS = frozenset({RUN_FULL, RUN_INCREMENTAL})

# The events a subscription can be told about, and the ones the dispatch listens to.
SOURCE_EVENTS: tuple[type[events.Event], ...] = (
    events.DealCreated,
    events.DealChanged,
    events.QuotaSet,
    events.QuotaDeleted,
    events.StatementsPublished,
    events.StatementDisputed,
    events.StatementDisputeResolved,
    events.ForecastSubmitted,
    events.GoalStatusChanged,
    events.ReviewCompleted,
    events.TaskRunFinished,
)


def _deals_won(tenant: Tenant, batch: Sequence[events.Event]) -> list[Message]:
    won: list[events.DealFigures] = []
    for event in batch:
        match event:
            case events.DealCreated(deals=created):
                won += [d for d in created if d.status == DealStatus.WON]
            case events.DealChanged(deals=changes):
                won += [
                    c.new
                    for c in changes
                    if c.new.status == DealStatus.WON and c.old.status != DealStatus.WON
                ]
    if not won:
        return []
    names = {
        pk: (name, external_id)
        for pk, name, external_id in Deal.objects.filter(
            tenant=tenant, pk__in=[d.deal_id for d in won]
        ).values_list("pk", "name", "external_id")
    }
    rows = [
        {
            "deal_id": d.deal_id,
            "name": names.get(d.deal_id, ("", None))[0],
            "external_id": names.get(d.deal_id, ("", None))[1],
            "owner_id": d.owner_id,
            "amount": str(d.base_amount),
            "currency": tenant.currency,
            "close_date": d.close_date.isoformat() if d.close_date else None,
        }
        for d in won
    ]
    return [(WebhookEvent.DEAL_WON, {"deals": rows})]


def _quota_rows(refs: Sequence[events.QuotaRef], amounts: dict[tuple, str]) -> list[dict]:
    return [
        {
            "period_id": ref.period_id,
            "membership_id": ref.membership_id,
            "team_id": ref.team_id,
            "measure": ref.measure,
            "amount": amounts.get((ref.period_id, ref.membership_id, ref.team_id, ref.measure)),
        }
        for ref in refs
    ]


def _quotas_changed(tenant: Tenant, batch: Sequence[events.Event]) -> list[Message]:
    set_refs = [q for e in batch if isinstance(e, events.QuotaSet) for q in e.quotas]
    deleted = [q for e in batch if isinstance(e, events.QuotaDeleted) for q in e.quotas]
    if not (set_refs or deleted):
        return []
    amounts: dict[tuple, str] = {}
    if set_refs:
        rows = Quota.objects.filter(
            Q(membership_id__in={r.membership_id for r in set_refs} - {None})
            | Q(team_id__in={r.team_id for r in set_refs} - {None}),
            tenant=tenant,
            period_id__in={r.period_id for r in set_refs},
        ).values_list("period_id", "membership_id", "team_id", "measure", "amount")
        amounts = {tuple(row[:4]): str(row[4]) for row in rows}
    data = {"set": _quota_rows(set_refs, amounts), "deleted": _quota_rows(deleted, {})}
    return [(WebhookEvent.QUOTA_CHANGED, data)]


def _statements_published(tenant: Tenant, batch: Sequence[events.Event]) -> list[Message]:
    return [
        (
            WebhookEvent.STATEMENT_PUBLISHED,
            {
                "run_id": e.run_id,
                "period_id": e.period_id,
                "statements": [
                    {
                        "statement_id": s.statement_id,
                        "membership_id": s.membership_id,
                        "total": str(s.total),
                        "currency": s.currency,
                    }
                    for s in e.statements
                ],
            },
        )
        for e in batch
        if isinstance(e, events.StatementsPublished)
    ]


def _goals_approved(tenant: Tenant, batch: Sequence[events.Event]) -> list[Message]:
    return [
        (
            WebhookEvent.GOAL_APPROVED,
            {
                "goal_id": e.goal_id,
                "owner_membership_id": e.owner_membership_id,
                "owner_team_id": e.owner_team_id,
                "approved_by_id": e.actor_id,
            },
        )
        for e in batch
        if isinstance(e, events.GoalStatusChanged) and e.new_status == GoalStatus.APPROVED
    ]


def _kpi_runs_finished(tenant: Tenant, batch: Sequence[events.Event]) -> list[Message]:
    return [
        (
            WebhookEvent.KPI_RUN_FINISHED,
            {"run_id": e.run_id, "status": e.status, "rows": e.rows, "message": e.message},
        )
        for e in batch
        if isinstance(e, events.TaskRunFinished) and e.kind in KPI_RUN_KINDS
    ]


# Events whose fields are the message's data as they are (ids and a status).
AS_PUBLISHED: dict[type[events.Event], str] = {
    events.StatementDisputed: WebhookEvent.STATEMENT_DISPUTED,
    events.StatementDisputeResolved: WebhookEvent.STATEMENT_DISPUTE_RESOLVED,
    events.ForecastSubmitted: WebhookEvent.FORECAST_SUBMITTED,
    events.ReviewCompleted: WebhookEvent.REVIEW_COMPLETED,
}


def _as_published(tenant: Tenant, batch: Sequence[events.Event]) -> list[Message]:
    return [
        (
            AS_PUBLISHED[type(e)],
            {
                k: str(v) if isinstance(v, Decimal) else v
                for k, v in dataclasses.asdict(e).items()
                if k != "tenant_id"
            },
        )
        for e in batch
        if type(e) in AS_PUBLISHED
    ]


BUILDERS: tuple[
    tuple[frozenset[str], Callable[[Tenant, Sequence[events.Event]], list[Message]]], ...
] = (
    (frozenset({WebhookEvent.DEAL_WON}), _deals_won),
    (frozenset({WebhookEvent.QUOTA_CHANGED}), _quotas_changed),
    (frozenset({WebhookEvent.STATEMENT_PUBLISHED}), _statements_published),
    (frozenset({WebhookEvent.GOAL_APPROVED}), _goals_approved),
    (frozenset({WebhookEvent.KPI_RUN_FINISHED}), _kpi_runs_finished),
    (frozenset(AS_PUBLISHED.values()), _as_published),
)


def webhook_messages(
    tenant: Tenant, batch: Sequence[events.Event], *, wanted: set[str]
) -> list[Message]:
    """The messages of types ``wanted`` that ``batch`` (one tenant's events of
    one service call) makes, in a fixed order. Call inside the tenant's
    context (deal names and quota amounts are read: one query each, only
    when such messages are wanted and the batch has their events)."""
    return [
        message
        for types, build in BUILDERS
        if types & wanted
        for message in build(tenant, batch)
        if message[0] in wanted
    ]
