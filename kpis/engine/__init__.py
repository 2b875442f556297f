"""The KPI engine: every built-in KPI of a tenant's periods, for every member,
every team (rolled up the team tree) and the tenant, in a handful of SQL
statements, stored in ``kpis_kpivalue``.

Contract: ``compute(tenant, period_ids=[...])`` runs inside the tenant's
context (RLS) and inside one transaction; it returns the number of values
computed. No Python loop over deals or people and no query per rep: each
statement is set-based over the whole tenant and all the given months or
periods.

Two layers (timings per step in ``last_seconds``):
- facts: the additive figures of every subject per calendar month, unrounded
  (``kpis_monthfact``: bookings, won/lost counts, cycle-day sums, open and
  weighted pipeline, activities, leads; ``kpis_stagefact``: pipeline by stage
  and stage entries), computed for the months a run is given (``fact_months``;
  all months of the periods by default) and written where they changed;
- values: every period of the run is derived from its months' stored facts
  (sums and counts add up; averages keep sum and count; rounding happens once,
  on the period's total), with quotas and retention read per period. So a
  change to one deal recomputes the facts of its one or two months, and its
  quarter and year are re-derived from twelve stored months instead of a
  year of deals.

Each derived value goes into the temporary ``kpis_run``; one hash full join
against the stored values of the run's periods finds new rows, changed values
and rows the run no longer produces (a subject that lost its last deal); only
those are inserted, updated or deleted (``last_written``), so a recompute is
idempotent and exact, and an unchanged period costs no write.

Rules (docs/formulas.md sections 1-3):
- credits are the stored split amounts (``pipeline_dealsplit.credited_amount``);
  a team counts each deal once (its members' credits summed per deal, counts
  over distinct deals); the tenant counts every deal once;
- a member's quota is their bookings quota of the period prorated to their
  active days (half-up to cents); without one, the quotas of the shorter
  periods inside it add up (months into quarters, quarters into the year);
- a team's quota is its top-down quota, else the sum of its whole subtree's
  reps' quotas (managers' own quotas are overlays and are not added); the
  tenant's is the sum of its root teams' and team-less reps' quotas;
- open deals count by expected close date, won and lost deals by close date;
  the weighted and open pipeline is today's state of the open deals;
- stage conversion counts distinct deals per period: a deal that entered a
  stage twice in a quarter counts once in the quarter, by its first entry.
"""

from kpis.engine.run import clear, compute, last_seconds, last_written

__all__ = ["clear", "compute", "last_seconds", "last_written"]
