"""``compute``: one recompute of a tenant's periods (facts of the given
months, then every value of the periods), and ``clear``."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection

from kpis.engine.base import (
    CLEAR_SQL,
    COLLECT_SQL,
    DIFF_COUNTS_SQL,
    DIFF_SQL,
    INSERT_SQL,
    RUN_TABLE_SQL,
    SETUP_SQL,
    STALE_SQL,
    UPDATE_SQL,
)
from kpis.engine.facts import (
    FACT_STATEMENTS,
    FACT_TABLES_SQL,
    FACTS_WRITE_SQL,
    FROZEN_MONTHS_SQL,
    MISSING_MONTHS_SQL,
)
from kpis.engine.values import CUSTOM_SQL, VALUE_STATEMENTS
from kpis.formula import compile_sql
from kpis.models import CustomKpi
from kpis.sql import CHOICES
from spm.models import Tenant
from spm.services import period_require_open

# Memory per sort or hash of a recompute (SET LOCAL: the recompute's transaction
# only): a tenant-year of 100,000 deals groups ~500,000 (subject, deal) rows.
WORK_MEM = "256MB"


def compute(
    tenant: Tenant,
    *,
    period_ids: Sequence[int],
    custom: Sequence[CustomKpi] | None = None,
    fact_months: Iterable[dt.date] | None = None,
) -> int:
    """Recompute every KPI of ``period_ids`` for every subject of ``tenant``.

    ``fact_months`` are the calendar months (any day of each) whose facts
    changed and are computed again; by default every month of the periods.
    Months of the periods never computed before are always computed. Call
    inside ``tenant_context(tenant)`` (one transaction). ``custom`` are the
    tenant's custom KPIs (read by the caller); an invalid stored formula is
    skipped, never evaluated. Returns the number of values computed; only the
    changed ones are written (``last_written`` holds how many were upserted
    and deleted).
    """
    ids = sorted({int(pk) for pk in period_ids})
    if not ids:
        return 0
    period_require_open(tenant, period_ids=ids, what="its KPI values are frozen")
    with connection.cursor() as cursor:
        cursor.execute(
            'SELECT MIN(start), MAX("end") FROM spm_fiscalperiod '
            "WHERE tenant_id = %s AND id = ANY(%s)",
            [tenant.pk, ids],
        )
        lo, hi = cursor.fetchone()
        if lo is None:
            return 0
        # The run's first and last days go in as constants, so every date filter
        # is applied (and indexed) before any join.
        params = {
            **CHOICES,
            "t": tenant.pk,
            "pids": ids,
            "tz": tenant.time_zone,
            "lo": lo,
            "hi": hi,
            "fsm": tenant.fiscal_year_start_month,
        }
        # Sorts and hashes of a tenant-year stay in memory (this transaction only).
        cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        # The plans are large but run once: JIT compilation cost more than it saved.
        cursor.execute("SET LOCAL jit = off")
        clock = _Clock()
        cursor.execute(SETUP_SQL, params)
        if fact_months is None:
            cursor.execute("SELECT DISTINCT ms FROM kpis_mp")
            months = {row[0] for row in cursor.fetchall()}
        else:
            months = {d.replace(day=1) for d in fact_months}
        # A closed month's facts are frozen with its values, so the quarter
        # and year around it keep adding up to what was closed.
        cursor.execute(FROZEN_MONTHS_SQL, params)
        months -= {row[0] for row in cursor.fetchall()}
        cursor.execute(MISSING_MONTHS_SQL, params)
        months |= {row[0] for row in cursor.fetchall()}
        clock.lap("setup")
        _compute_facts(cursor, params, sorted(months), clock)
        cursor.execute(RUN_TABLE_SQL)
        # The planner's estimates of these CTE chains are far too low, so left
        # alone it groups by sorting; hashes are several times faster at scale.
        cursor.execute("SET LOCAL enable_sort = off")
        for name, select in VALUE_STATEMENTS:
            cursor.execute(COLLECT_SQL.format(select=select), params)
            clock.lap(name)
        cursor.execute("SET LOCAL enable_sort = on")
        for kpi in custom or []:
            _compute_custom(cursor, kpi)
        clock.lap("custom")
        cursor.execute("SELECT count(*) FROM kpis_run")
        rows = int(cursor.fetchone()[0])
        # Hash joins whatever the estimates (a nested loop over the unindexed
        # run table would be quadratic).
        cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute(DIFF_SQL, [tenant.pk, ids])
        cursor.execute("SET LOCAL enable_nestloop = on")
        cursor.execute("ANALYZE kpis_diff")
        cursor.execute(DIFF_COUNTS_SQL)
        changed, new, stale = cursor.fetchone()
        clock.lap("diff")
        upserted, deleted = 0, 0
        if changed:
            cursor.execute(UPDATE_SQL, [tenant.pk])
            upserted += cursor.rowcount
        if new:
            cursor.execute(INSERT_SQL, [tenant.pk])
            upserted += cursor.rowcount
        clock.lap("write")
        if stale:
            cursor.execute(STALE_SQL, [tenant.pk])
            deleted = cursor.rowcount
        clock.lap("stale")
        cursor.execute(
            "DROP TABLE kpis_run, kpis_diff, kpis_p, kpis_mp, kpis_m, kpis_teams, "
            "kpis_msub, kpis_subj"
        )
    last_written.update(upserted=upserted, deleted=deleted)
    last_seconds.clear()
    last_seconds.update(clock.laps)
    last_seconds["fact months"] = len(months)
    return rows


def _month_ranges(months: Sequence[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Sorted month starts -> (first day, last day) of each run of consecutive months."""
    ranges: list[tuple[dt.date, dt.date]] = []
    for start in months:
        end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        if ranges and ranges[-1][1] + dt.timedelta(days=1) == start:
            ranges[-1] = (ranges[-1][0], end)
        else:
            ranges.append((start, end))
    return ranges


def _compute_facts(cursor: Any, params: dict[str, Any], months: list[dt.date], clock: Any) -> None:
    """Compute and write the facts of ``months`` (month starts), one pass per
    run of consecutive months, so the date filters stay index ranges."""
    if not months:
        return
    cursor.execute(FACT_TABLES_SQL)
    for flo, fhi in _month_ranges(months):
        for name, sql, may_sort in FACT_STATEMENTS:
            cursor.execute(f"SET LOCAL enable_sort = {'on' if may_sort else 'off'}")
            cursor.execute(sql, {**params, "flo": flo, "fhi": fhi})
            clock.lap(name)
    cursor.execute("SET LOCAL enable_sort = on")
    cursor.execute(FACTS_WRITE_SQL, {**params, "months": months})
    clock.lap("facts write")


class _Clock:
    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._at = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(self.laps.get(name, 0.0) + now - self._at, 3)
        self._at = now


# Seconds per step of the last ``compute`` in this process (benchmarks, profiling).
last_seconds: dict[str, float] = {}
# How many rows the last ``compute`` in this process upserted and deleted (benchmarks, logs).
last_written: dict[str, int] = {"upserted": 0, "deleted": 0}


def clear(tenant: Tenant, *, period_ids: Sequence[int]) -> int:
    """Delete every stored value of ``period_ids`` (periods the engine no
    longer computes). Call inside ``tenant_context(tenant)``."""
    ids = sorted({int(pk) for pk in period_ids})
    if not ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(CLEAR_SQL, [tenant.pk, ids])
        return int(cursor.rowcount)


def _compute_custom(cursor: Any, kpi: CustomKpi) -> None:
    compiled = compile_sql(kpi.formula, column="m.{key}")
    measures = sorted(compiled.measures)
    # Measure keys come from the whitelist in kpis.definitions, never from input.
    columns = ", ".join(f"MAX(value) FILTER (WHERE kpi = '{key}') AS {key}" for key in measures)
    sql = CUSTOM_SQL.format(expr=compiled.sql, columns=columns)
    cursor.execute(sql, [kpi.value_key, *compiled.params, measures])
