"""Calculation runs: start, execute (the task's body), publish; adjustments."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from incentives import document as document_module
from incentives import engine as engine_package
from incentives.engine import LINE_COLUMNS, PeriodResult, compute_period
from incentives.engine.currency import MissingRateError, Rates, lines_convert, rate_change_lines
from incentives.models import (
    Adjustment,
    Approval,
    ApprovalStatus,
    CalcRun,
    Credit,
    PlanVersion,
    Statement,
)
from incentives.selectors import VersionInputs, run_inputs, run_reach_start
from incentives.services.acknowledgements import acknowledgements_open
from incentives.services.credits import credits_refresh
from pipeline.models import DealSplit
from pipeline.services import exchange_rate_table
from spm import events
from spm.db.locks import LockBusyError, try_advisory_xact_lock
from spm.models import FiscalPeriod, Membership, Tenant
from spm.outbox import enqueue_on_commit
from spm.services import (
    audit_record,
    period_require_open,
    task_run,
    task_run_create,
)
from spm.tenancy.context import tenant_context

RUN_KIND = "incentives.calc_run"
EXECUTE_TASK = "incentives.tasks.calc_run_execute_task"


# How a closed period refuses a run, a publish or an adjustment.
STATEMENTS_FROZEN = "its statements are never rewritten"


def calc_run_start(tenant: Tenant, *, period: FiscalPeriod, actor: Membership | None) -> CalcRun:
    """Create a preview run of ``period`` and queue it after commit.

    Raises ``ValidationError`` on ``period`` when it is closed."""
    with transaction.atomic():
        period_require_open(tenant, period_ids=[period.pk], what=STATEMENTS_FROZEN)
        task = task_run_create(
            tenant, kind=RUN_KIND, label=f"Commission run {period.label}", created_by=actor
        )
        run = CalcRun.objects.create(tenant=tenant, period=period, task_run=task, created_by=actor)
        audit_record(
            tenant,
            actor=actor.user if actor else None,
            action="calc_run.start",
            obj=run,
            data={"period": period.label},
        )
        # By name: incentives.tasks imports this module.
        enqueue_on_commit(EXECUTE_TASK, tenant.pk, run.pk)
    return run


def _digest(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _frame_digest(frame: pd.DataFrame) -> str:
    """A frame's content as a digest: its columns, then every row's values
    (vectorised: pandas hashes the rows with a fixed key; object columns by
    their values' text)."""
    rows = b""
    if not frame.empty:
        rows = pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()
    return hashlib.sha256(json.dumps(list(frame.columns)).encode() + rows).hexdigest()


def _inputs_digest(prepared: VersionInputs) -> dict[str, Any]:
    inputs = prepared.inputs
    frames = {
        "credits": inputs.credits,
        "members": inputs.members,
        "quotas": inputs.quotas,
        "posted": inputs.posted,
        "adjustments": inputs.adjustments,
        "kpis": inputs.kpi_values,
        "objectives": inputs.objectives,
        "team": inputs.team_attainment,
    }
    return {
        "version": prepared.version_id,
        "document": dict(prepared.document.raw),
        "currencies": prepared.currency_of,
        **{name: _frame_digest(frame) for name, frame in frames.items()},
    }


def _paid_lines(
    tenant: Tenant,
    period: FiscalPeriod,
    prepared: VersionInputs,
    result: PeriodResult,
    rates: Rates,
) -> pd.DataFrame:
    """The engine's lines paid in each member's currency, with the plan's
    rate adjustments when it asks for them."""
    try:
        lines = lines_convert(
            result.lines,
            currency_of=prepared.currency_of,
            rates=rates,
            tenant_currency=tenant.currency,
            period_end=period.end,
        )
        if prepared.document.exchange_rate_changes != "adjust":
            return lines
        moved = rate_change_lines(
            prepared.paid_foreign, rates=rates, tenant_currency=tenant.currency
        )
    except MissingRateError as exc:
        raise ValidationError({"period": str(exc)}) from exc
    return pd.concat([lines, moved], ignore_index=True) if not moved.empty else lines


def _engine_fingerprint() -> str:
    """A digest of the code that turns inputs into lines (the engine, the plan
    document's rules and this module). Part of the inputs hash: a release that
    changes the arithmetic computes again what unchanged inputs would skip."""
    sources = [
        *sorted(Path(engine_package.__file__).parent.glob("*.py")),
        Path(document_module.__file__),
        Path(__file__),
    ]
    digest = hashlib.sha256()
    for source in sources:
        digest.update(source.read_bytes())
    return digest.hexdigest()


_ENGINE_FINGERPRINT = _engine_fingerprint()


def _inputs_hash(tenant: Tenant, prepared: list[VersionInputs], rates: Rates) -> str:
    return _digest(
        [_ENGINE_FINGERPRINT]
        + [_inputs_digest(p) for p in prepared]
        + [_used_rates(prepared, rates, tenant)]
    )


def _used_rates(prepared: list[VersionInputs], rates: Rates, tenant: Tenant) -> list[Any]:
    """The rates of the currencies members are paid in (part of the inputs)."""
    codes = {c for p in prepared for c in p.currency_of.values()} - {tenant.currency}
    return sorted([code, month, rate] for (code, month), rate in rates.items() if code in codes)


@dataclass
class _Computed:
    """A run's output before it is written: the lines (``columns`` are their
    INSERT parameters, built once and hashed as they are written), each
    member's draw balance, currency and plan version, and the output hash."""

    lines: pd.DataFrame
    columns: list[Any]
    balances: dict[int, Decimal]
    currency_of: dict[int, str]
    version_of: dict[int, int]
    output_hash: str


def _compute(
    tenant: Tenant, period: FiscalPeriod, prepared: list[VersionInputs], rates: Rates
) -> _Computed:
    computed = [(p, compute_period(p.document, p.inputs)) for p in prepared]
    paid = [
        _paid_lines(tenant, period, p, r, rates).assign(version_id=p.version_id)
        for p, r in computed
    ]
    lines = pd.concat(paid, ignore_index=True) if paid else pd.DataFrame(columns=LINE_COLUMNS)
    lines = lines.astype(object).where(lines.notna(), None)
    columns = _line_parameters(lines)
    balances = {
        int(m): owed
        for _, r in computed
        for m, owed in zip(r.balances["member_id"], r.balances["owed"], strict=True)
    }
    currency_of = {m: c for p in prepared for m, c in p.currency_of.items()}
    lines_digest = hashlib.sha256()
    for text in [
        _number_array(lines["member_id"]),
        _number_array(lines["version_id"]) if "version_id" in lines else "",
        *columns,
    ]:
        lines_digest.update(text.encode())
        lines_digest.update(_SEPARATOR.encode())
    return _Computed(
        lines=lines,
        columns=columns,
        balances=balances,
        currency_of=currency_of,
        version_of={int(m): p.version_id for p in prepared for m in p.inputs.members["member_id"]},
        output_hash=_digest(
            {"lines": lines_digest.hexdigest(), "balances": balances, "members": currency_of}
        ),
    )


def statement_preview(
    tenant: Tenant, *, period: FiscalPeriod, membership: Membership
) -> tuple[pd.DataFrame, Decimal]:
    """One member's statement of ``period`` computed now and not written:
    the lines (``LINE_COLUMNS`` with ``base_amount`` and ``fx_rate``, paid in
    their currency) and the total. The credits of the deals the member holds
    a split or a credit of in the run's reach are refreshed first, so a deal
    just changed shows at once; a deal new to a manager's subtree reaches
    their overlay at the next run of the period."""
    start = run_reach_start(tenant, period=period, members=[membership.pk])
    deal_ids = set(
        DealSplit.objects.filter(
            tenant=tenant, member=membership, deal__close_date__range=(start, period.end)
        ).values_list("deal_id", flat=True)
    ) | set(
        Credit.objects.filter(
            tenant=tenant, recipient=membership, credit_date__range=(start, period.end)
        ).values_list("deal_id", flat=True)
    )
    with transaction.atomic():
        credits_refresh(tenant, start=start, end=period.end, deal_ids=sorted(deal_ids))
    rates = exchange_rate_table(tenant)
    paid = [
        _paid_lines(tenant, period, p, compute_period(p.document, p.inputs), rates)
        for p in run_inputs(tenant, period=period, members=[membership.pk])
    ]
    lines = pd.concat(paid, ignore_index=True) if paid else pd.DataFrame(columns=LINE_COLUMNS)
    return lines, sum(lines["amount"], Decimal("0.00"))


def calc_run_execute(tenant: Tenant, *, run_id: int) -> CalcRun:
    """Compute a preview run and write its statements in one transaction.

    Refreshes the period's credits, computes every plan version's members in
    one engine pass each, and writes statements and lines, replacing the
    period's earlier preview. When the output equals the latest preview's
    (same hash), nothing is written. Holds the (tenant, period) advisory lock;
    a run that finds it taken fails with a message saying so."""
    with tenant_context(tenant):
        run = CalcRun.objects.select_related("period").get(tenant=tenant, pk=run_id)
    with task_run(
        tenant,
        kind=RUN_KIND,
        label=f"Commission run {run.period.label}",
        run_id=run.task_run_id,
        total=3,
    ) as progress:
        output_hash = _execute(tenant, run)
        progress.outcome(
            rows=run.lines_written,
            result={"run": run.pk, "lines": run.lines_written, "output_hash": output_hash},
        )
    return run


def _execute(tenant: Tenant, run: CalcRun) -> str:
    """The run's one transaction: compute, then write unless unchanged; returns
    the output hash. Inputs equal to the latest preview's (same hash, which
    includes the engine's code) give its output: the engine is not run."""
    with tenant_context(tenant), transaction.atomic():
        period = run.period
        if not try_advisory_xact_lock(tenant.pk, f"incentives.run:{period.pk}"):
            raise LockBusyError({"period": f"A run of {period.label} is already running."})
        period_require_open(tenant, period_ids=[period.pk], what=STATEMENTS_FROZEN)
        credits_refresh(tenant, start=run_reach_start(tenant, period=period), end=period.end)
        prepared = run_inputs(tenant, period=period)
        rates = exchange_rate_table(tenant)
        inputs_hash = _inputs_hash(tenant, prepared, rates)
        previous = (
            CalcRun.objects.filter(tenant=tenant, period=period, status=CalcRun.Status.PREVIEW)
            .exclude(pk=run.pk)
            .order_by("-created_at", "-id")
            .first()
        )
        if previous is not None and previous.inputs_hash == inputs_hash:
            return _keep_previous(run, previous, inputs_hash, previous.output_hash)
        computed = _compute(tenant, period, prepared, rates)
        if previous is not None and previous.output_hash == computed.output_hash:
            return _keep_previous(run, previous, inputs_hash, computed.output_hash)
        run.inputs_hash, run.output_hash = inputs_hash, computed.output_hash
        CalcRun.objects.filter(tenant=tenant, period=period, status=CalcRun.Status.PREVIEW).exclude(
            pk=run.pk
        ).update(status=CalcRun.Status.SUPERSEDED)
        # Superseded previews go; once-published runs stay (their statements
        # were acknowledged or disputed, and "what changed" compares them).
        _superseded_preview_lines_delete(tenant, period)
        Statement.objects.filter(
            tenant=tenant,
            run__period=period,
            run__status=CalcRun.Status.SUPERSEDED,
            run__published_at__isnull=True,
        ).delete()
        run.lines_written = _write(tenant, run, computed)
        run.save(update_fields=["inputs_hash", "output_hash", "lines_written"])
    return computed.output_hash


def _keep_previous(run: CalcRun, previous: CalcRun, inputs_hash: str, output_hash: str) -> str:
    """The run's output equals the latest preview's: that preview stands (its
    inputs confirmed current) and this run is recorded as superseded."""
    run.inputs_hash, run.output_hash = inputs_hash, output_hash
    run.status = CalcRun.Status.SUPERSEDED
    run.lines_written = 0
    run.save(update_fields=["inputs_hash", "output_hash", "status", "lines_written"])
    CalcRun.objects.filter(pk=previous.pk).update(inputs_hash=inputs_hash)
    return output_hash


# Lines of previews never published: nothing refers to them (a dispute or a
# payroll line needs a published statement), so one statement deletes them
# where the ORM's delete would first fetch every line to look for references.
_DELETE_SUPERSEDED_PREVIEW_LINES = """
DELETE FROM incentives_statementline l
USING incentives_statement s, incentives_calcrun r
WHERE l.tenant_id = %(tenant)s AND s.tenant_id = %(tenant)s AND r.tenant_id = %(tenant)s
  AND l.statement_id = s.id AND s.run_id = r.id AND r.period_id = %(period)s
  AND r.status = %(superseded)s AND r.published_at IS NULL
"""


def _superseded_preview_lines_delete(tenant: Tenant, period: FiscalPeriod) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            _DELETE_SUPERSEDED_PREVIEW_LINES,
            {"tenant": tenant.pk, "period": period.pk, "superseded": CalcRun.Status.SUPERSEDED},
        )


def _write(tenant: Tenant, run: CalcRun, computed: _Computed) -> int:
    lines = computed.lines
    totals: dict[int, Decimal] = dict.fromkeys(computed.currency_of, Decimal("0.00"))
    if not lines.empty:
        sums = lines.groupby(lines["member_id"].astype("int64"))["amount"].sum()
        totals.update({int(m): total for m, total in sums.items()})
    statements = Statement.objects.bulk_create(
        Statement(
            tenant=tenant,
            run=run,
            period=run.period,
            membership_id=member,
            version_id=computed.version_of.get(member),
            currency=computed.currency_of[member],
            total=totals[member],
            draw_owed=computed.balances.get(member, Decimal("0.00")),
        )
        for member in sorted(computed.currency_of)
    )
    statement_of = {s.membership_id: s.pk for s in statements}
    _insert_lines(tenant, run, computed, statement_of)
    return len(lines)


# Statement line columns and their types, as one INSERT ... unnest writes
# them (the engine's, then the payout's). COPY is not allowed under RLS.
_LINE_TYPES = {
    "component": "text",
    "kind": "text",
    "window": "text",
    "deal_id": "bigint",
    "credit_id": "bigint",
    "credit_date": "date",
    "credit_amount": "numeric",
    "band": "smallint",
    "base": "numeric",
    "rate": "numeric",
    "amount": "numeric",
    "explanation": "text",
    "line_key": "text",
    "base_amount": "numeric",
    "fx_rate": "numeric",
}
# Constant column names; the values are parameters: each column travels as one
# text value that PostgreSQL splits in one go (numbers as an array literal,
# ``{1,2,NULL}``; text and dates joined by a separator), where a Python list
# would be adapted element by element (seconds for 60,000 lines). ``base`` and
# ``rate`` are rounded to their six decimals by the columns' own type, half
# away from zero like ``spm.money.round_half_up``.
_SEPARATOR, _NULL = "\x1f", "\x1e"
_TEXT_TYPES = ("text", "date")
_INSERT_LINES = (
    "INSERT INTO incentives_statementline (tenant_id, period_id, statement_id, position, "  # noqa: S608
    + ", ".join(f'"{c}"' for c in _LINE_TYPES)
    + ") SELECT %s, %s, * FROM unnest(%s::text::bigint[], %s::text::int[], "
    + ", ".join(
        f"string_to_array(%s, %s, %s)::{t}[]" if t in _TEXT_TYPES else f"%s::text::{t}[]"
        for t in _LINE_TYPES.values()
    )
    + ")"
)


def _number_array(values: pd.Series) -> str:
    """A PostgreSQL array literal of numbers (``None`` is NULL)."""
    return "{" + ",".join(map(str, values.astype(object).where(values.notna(), "NULL"))) + "}"


def _text_array(values: pd.Series) -> list[str]:
    """Parameters of ``string_to_array``: the values joined by a separator,
    the separator, the NULL marker. Either control character inside a value
    (a deal named so) would split it: there it is written as U+FFFD."""
    present = values.notna()
    joined = _SEPARATOR.join(map(str, values.astype(object).where(present, _NULL)))
    if joined.count(_SEPARATOR) != len(values) - 1 or joined.count(_NULL) != (~present).sum():
        text = values[present].astype(str).str.replace(_SEPARATOR, "\ufffd")
        text = text.str.replace(_NULL, "\ufffd")
        joined = _SEPARATOR.join(
            map(str, values.astype(object).where(~present, text).where(present, _NULL))
        )
    return [joined, _SEPARATOR, _NULL]


def _column(lines: pd.DataFrame, name: str) -> list[Any]:
    values = lines[name]
    if _LINE_TYPES[name] in _TEXT_TYPES:
        return _text_array(values)
    if _LINE_TYPES[name] in ("bigint", "smallint"):  # pandas may hold them as floats
        values = pd.Series(pd.array(values.tolist(), dtype="Int64"), index=values.index)
    return [_number_array(values)]


def _line_parameters(lines: pd.DataFrame) -> list[Any]:
    """The line columns' parameters of ``_INSERT_LINES``, in its order."""
    if lines.empty:
        return []
    return [value for name in _LINE_TYPES for value in _column(lines, name)]


def _insert_lines(
    tenant: Tenant, run: CalcRun, computed: _Computed, statement_of: dict[int, int]
) -> None:
    """Write the lines in one statement, a column value each."""
    lines = computed.lines
    if lines.empty:
        return
    statements = lines["member_id"].astype("int64").map(statement_of)
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_LINES,
            [
                tenant.pk,
                run.period_id,
                _number_array(statements),
                _number_array(pd.Series(range(len(lines)))),
                *computed.columns,
            ],
        )


def _require_approval(tenant: Tenant, run: CalcRun) -> None:
    """Refuse publishing ``run`` until finance approved it, saying where the
    request stands."""
    latest = (
        Approval.objects.filter(tenant=tenant, run=run)
        .select_related("requested_by__user", "decided_by__user")
        .order_by("-requested_at", "-id")
        .first()
    )
    if latest is not None and latest.status == ApprovalStatus.APPROVED:
        return
    if latest is None:
        text = (
            "Publishing needs finance's approval: request it on the run's page "
            "(or POST approvals/ with this run) and publish once finance approves."
        )
    elif latest.status == ApprovalStatus.PENDING:
        who = latest.requested_by.display_name if latest.requested_by else "someone"
        text = (
            f"Publishing awaits finance's approval (requested by {who} on "
            f"{timezone.localtime(latest.requested_at):%Y-%m-%d})."
        )
    else:
        who = latest.decided_by.display_name if latest.decided_by else "finance"
        text = (
            f"Finance ({who}) rejected publishing this run"
            + (f": {latest.answer}" if latest.answer else "")
            + ". Request approval again once it is fixed."
        )
    raise ValidationError({"run": text})


def calc_run_publish(tenant: Tenant, *, run: CalcRun, actor: Membership | None) -> CalcRun:
    """Publish a preview run: its statements become the period's.

    Refused (``ValidationError`` on ``run``) when the run is not the current
    preview, when finance has not approved publishing it (an ``Approval`` of
    kind ``run_publish``, see ``incentives.services.approvals``), when the
    period is closed, or when the inputs changed since the preview was
    computed (run it again first). Locks the plan versions its statements
    used."""
    with transaction.atomic():
        run = (
            CalcRun.objects.select_for_update()
            .select_related("period")
            .get(tenant=tenant, pk=run.pk)
        )
        if run.status != CalcRun.Status.PREVIEW:
            raise ValidationError(
                {"run": f"Only a preview can be published; this run is {run.status}."}
            )
        _require_approval(tenant, run)
        period_require_open(tenant, period_ids=[run.period_id], what=STATEMENTS_FROZEN)
        if not try_advisory_xact_lock(tenant.pk, f"incentives.run:{run.period_id}"):
            raise ValidationError({"run": "A run of this period is in progress; try again."})
        prepared = run_inputs(tenant, period=run.period)
        if _inputs_hash(tenant, prepared, exchange_rate_table(tenant)) != run.inputs_hash:
            raise ValidationError(
                {
                    "run": "The inputs changed since this preview was computed (deals, quotas, "
                    "plans or adjustments); run the period again and publish that preview."
                }
            )
        CalcRun.objects.filter(
            tenant=tenant, period=run.period, status=CalcRun.Status.PUBLISHED
        ).update(status=CalcRun.Status.SUPERSEDED)
        run.status = CalcRun.Status.PUBLISHED
        run.published_at = timezone.now()
        run.published_by = actor
        run.save(update_fields=["status", "published_at", "published_by"])
        PlanVersion.objects.filter(
            tenant=tenant,
            pk__in=Statement.objects.filter(tenant=tenant, run=run).values("version_id"),
            locked_at__isnull=True,
        ).update(locked_at=run.published_at)
        acknowledgements_open(tenant, run=run)
        audit_record(
            tenant,
            actor=actor.user if actor else None,
            action="calc_run.publish",
            obj=run,
            data={"period": run.period.label, "output_hash": run.output_hash},
        )
        published = Statement.objects.filter(tenant=tenant, run=run).order_by("membership_id")
        events.publish(
            events.StatementsPublished(
                tenant_id=tenant.pk,
                run_id=run.pk,
                period_id=run.period_id,
                statements=tuple(
                    events.PublishedStatement(*row)
                    for row in published.values_list("pk", "membership_id", "total", "currency")
                ),
            )
        )
    return run


def adjustment_create(
    tenant: Tenant,
    *,
    membership: Membership,
    period: FiscalPeriod,
    amount: Decimal,
    reason: str,
    actor: Membership | None,
) -> Adjustment:
    """A manual adjustment for the next run of ``period``; the reason is required
    and the period must be open."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why the adjustment is made."})
    if amount == 0:
        raise ValidationError({"amount": "An adjustment of 0.00 changes nothing."})
    with transaction.atomic():
        period_require_open(tenant, period_ids=[period.pk], what=STATEMENTS_FROZEN)
        adjustment = Adjustment.objects.create(
            tenant=tenant,
            membership=membership,
            period=period,
            amount=amount,
            reason=reason.strip(),
            created_by=actor,
        )
        audit_record(
            tenant,
            actor=actor.user if actor else None,
            action="adjustment.create",
            obj=adjustment,
            data={"amount": str(amount), "reason": adjustment.reason},
        )
    return adjustment


def calc_run_previews_refresh(tenant: Tenant) -> list[CalcRun]:
    """Start a new preview run of every open period that has a current preview
    (the nightly refresh: rates, quotas or KPI snapshots may have moved)."""
    previewed = CalcRun.objects.filter(tenant=tenant, status=CalcRun.Status.PREVIEW).values(
        "period_id"
    )
    periods = FiscalPeriod.objects.filter(tenant=tenant, is_closed=False, pk__in=previewed)
    return [calc_run_start(tenant, period=p, actor=None) for p in periods.order_by("start", "kind")]
