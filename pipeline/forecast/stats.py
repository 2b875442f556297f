"""The statistical forecast as a service: read what was known as of a day,
fit, score, simulate, and store the snapshot rows pages and the API read
(``StatForecast`` per member, team subtree and company; ``DealOdds`` per open
deal; ``ForecastFit`` to score a changed deal again without the history).

``stat_forecast_compute`` is the nightly job; ``stat_forecast_refresh``
re-scores the deals an event named with the stored fit and re-simulates from
the stored odds (no history read), for the update after a change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.utils import timezone

from pipeline.forecast.forecast import (
    SIMULATIONS,
    Fit,
    NewDeals,
    fit,
    new_deal_rates,
    score,
    simulate,
)
from pipeline.forecast.history import deals_as_of, stage_visits
from pipeline.models import DealStatus, ForecastFit, StatForecast, SubjectKind
from spm.models import FiscalPeriod, Membership, Team, Tenant

LOOKBACK_DAYS = 730
PAST_PERIODS = 6
ODDS_COLUMNS = [
    "probability",
    "base_rate",
    "stage_effect",
    "age_effect",
    "size_effect",
    "owner_effect",
]


@dataclass(frozen=True)
class StatRun:
    """What a computation did: the day it stood on, the deals scored, the
    history rows it learned from and the subject rows written."""

    as_of: dt.date
    deals: int
    observations: int
    subjects: int


def as_of_day(period: FiscalPeriod, day: dt.date) -> dt.date:
    """``day`` held inside the period."""
    return min(max(day, period.start), period.end)


def past_periods(
    tenant: Tenant, *, period: FiscalPeriod, day: dt.date
) -> list[tuple[dt.date, dt.date]]:
    """The last ``PAST_PERIODS`` periods of the same kind that ended before ``day``."""
    rows = (
        FiscalPeriod.objects.filter(tenant=tenant, kind=period.kind, end__lt=day)
        .order_by("-start")
        .values_list("start", "end")[:PAST_PERIODS]
    )
    return list(rows)


WON_SQL = """
SELECT owner_id, base_amount::float8 AS amount, created_on, close_date
FROM pipeline_deal
WHERE tenant_id = %(tenant)s AND status = %(won)s AND close_date BETWEEN %(since)s AND %(day)s
"""


def won_history(tenant: Tenant, *, since: dt.date, day: dt.date) -> pd.DataFrame:
    """Deals won between ``since`` and ``day`` (owner_id, amount, created_on, close_date)."""
    with connection.cursor() as cursor:
        cursor.execute(
            WON_SQL, {"tenant": tenant.pk, "won": DealStatus.WON, "since": since, "day": day}
        )
        frame = pd.DataFrame(
            cursor.fetchall(), columns=["owner_id", "amount", "created_on", "close_date"]
        )
    for column in ("created_on", "close_date"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


CLOSED_SQL = """
SELECT owner_id, SUM(base_amount)::float8 FROM pipeline_deal
WHERE tenant_id = %(tenant)s AND status = %(won)s AND close_date BETWEEN %(start)s AND %(end)s
GROUP BY owner_id
"""


def closed_by_owner(tenant: Tenant, *, period: FiscalPeriod) -> pd.Series:
    """Each owner's won amount in the period as the deals stand now (one query)."""
    params: dict[str, Any] = {
        "tenant": tenant.pk,
        "won": DealStatus.WON,
        "start": period.start,
        "end": period.end,
    }
    with connection.cursor() as cursor:
        cursor.execute(CLOSED_SQL, params)
        return pd.Series(dict(cursor.fetchall()), dtype=float)


@dataclass(frozen=True)
class Estimate:
    """Everything one forecast stands on, as of one day (also the backtest's)."""

    day: dt.date
    model: Fit
    new: NewDeals
    candidates: pd.DataFrame
    scored: pd.DataFrame
    closed: pd.Series


def estimate(tenant: Tenant, *, period: FiscalPeriod, day: dt.date) -> Estimate:
    """Fit as of ``day`` and score the deals open then that are expected to
    close by the period's end; ``closed`` is each owner's won amount in the
    period up to ``day``. Reads only what was known by ``day``."""
    horizon = (period.end - day).days
    since = day - dt.timedelta(days=LOOKBACK_DAYS)
    model = fit(stage_visits(tenant, day=day, since=since), day=day, horizon=horizon)
    deals = deals_as_of(tenant, day=day, from_day=period.start)
    open_now = (deals["status"] == DealStatus.OPEN) & (
        deals["expected_close_date"] <= pd.Timestamp(period.end)
    )
    candidates = deals.loc[open_now].sort_values(["owner_id", "deal_id"]).reset_index(drop=True)
    won = deals.loc[deals["status"] == DealStatus.WON]
    closed = won.groupby("owner_id")["amount"].sum()
    past = past_periods(tenant, period=period, day=day)
    new = new_deal_rates(
        won_history(tenant, since=min((s for s, _e in past), default=day), day=day),
        past=past,
        offset_days=(day - period.start).days,
    )
    return Estimate(day, model, new, candidates, score(candidates, model, day=day), closed)


def subject_matrix(tenant: Tenant, owners: np.ndarray) -> tuple[list[int], np.ndarray]:
    """Team ids and the owners x teams indicator of who is in each team's
    subtree (two queries)."""
    teams = list(Team.objects.filter(tenant=tenant).values_list("id", "path"))
    member_team = dict(
        Membership.objects.filter(tenant=tenant, pk__in=owners.tolist()).values_list(
            "id", "team_id"
        )
    )
    path_of = dict(teams)
    matrix = np.zeros((len(owners), len(teams)))
    column = {team_id: j for j, (team_id, _path) in enumerate(teams)}
    for i, owner in enumerate(owners.tolist()):
        team_id = member_team.get(owner)
        if team_id is None:
            continue
        for ancestor in path_of.get(team_id, "").strip("/").split("/"):
            if ancestor and int(ancestor) in column:
                matrix[i, column[int(ancestor)]] = 1.0
    return [t for t, _p in teams], matrix


def _subject_rows(
    tenant: Tenant,
    *,
    period: FiscalPeriod,
    day: dt.date,
    owners: np.ndarray,
    closed: np.ndarray,
    open_expected: np.ndarray,
    new_expected: np.ndarray,
    sims: np.ndarray,
) -> list[StatForecast]:
    """StatForecast rows for each owner, each team subtree and the company."""
    team_ids, matrix = subject_matrix(tenant, owners)
    ones = np.ones((len(owners), 1))
    kinds = (
        [(SubjectKind.MEMBER, int(o)) for o in owners]
        + [(SubjectKind.TEAM, t) for t in team_ids]
        + [(SubjectKind.COMPANY, 0)]
    )
    weights = np.hstack([np.eye(len(owners)), matrix, ones])
    figures = np.vstack([closed, open_expected, new_expected]) @ weights
    percentiles = np.percentile(sims @ weights, [10, 50, 90], axis=0) + figures[0]
    now = timezone.now()
    rows = []
    for j, (kind, subject_id) in enumerate(kinds):
        c, o, n = (round(float(x), 2) for x in figures[:, j])
        p10, p50, p90 = (round(float(x), 2) for x in percentiles[:, j])
        rows.append(
            StatForecast(
                tenant=tenant,
                period=period,
                subject_kind=kind,
                subject_id=subject_id,
                closed=_money(c),
                open_expected=_money(o),
                new_expected=_money(n),
                expected=_money(c + o + n),
                p10=_money(p10),
                p50=_money(p50),
                p90=_money(p90),
                as_of=day,
                computed_at=now,
            )
        )
    return rows


def _money(value: float) -> Decimal:
    return Decimal(f"{value:.2f}")


# The odds are upserted: a row whose figures did not change is not written,
# one that did is updated in place (the table keeps half of each page free,
# migration 0008, so the update stays on its page: no index entry written,
# no foreign key checked again), and the rows of deals in ``scope`` no longer
# scored are deleted. A night after the first thus costs far less than
# deleting and inserting every row (seven indexes, four deferred foreign-key
# checks a row).
STORE_ODDS_SQL = """
WITH fresh AS (
    SELECT %(tenant)s::bigint AS tenant_id, %(period)s::bigint AS period_id, d AS deal_id,
           o AS owner_id, ROUND(p::numeric, 6) AS probability, ROUND(a::numeric, 2) AS amount,
           ROUND((p * a)::numeric, 2) AS expected, ROUND(b::numeric, 6) AS base_rate,
           ROUND(se::numeric, 6) AS stage_effect, ROUND(ae::numeric, 6) AS age_effect,
           ROUND(ze::numeric, 6) AS size_effect, ROUND(oe::numeric, 6) AS owner_effect,
           ad AS age_days, sb AS size_band, %(horizon)s::int AS horizon_days
    FROM unnest(
        string_to_array(%(deal)s, ',')::bigint[], string_to_array(%(owner)s, ',')::bigint[],
        string_to_array(%(p)s, ',')::float8[], string_to_array(%(a)s, ',')::float8[],
        string_to_array(%(b)s, ',')::float8[], string_to_array(%(se)s, ',')::float8[],
        string_to_array(%(ae)s, ',')::float8[], string_to_array(%(ze)s, ',')::float8[],
        string_to_array(%(oe)s, ',')::float8[], string_to_array(%(ad)s, ',')::int[],
        string_to_array(%(sb)s, ',')::int[]
    ) AS t(d, o, p, a, b, se, ae, ze, oe, ad, sb)
), gone AS (
    DELETE FROM pipeline_dealodds x
    WHERE x.tenant_id = %(tenant)s AND x.period_id = %(period)s AND x.deal_id IN (
        SELECT deal_id FROM pipeline_dealodds
        WHERE tenant_id = %(tenant)s AND period_id = %(period)s {scope}
        EXCEPT SELECT deal_id FROM fresh)
)
INSERT INTO pipeline_dealodds AS x (tenant_id, period_id, deal_id, owner_id, probability,
    amount, expected, base_rate, stage_effect, age_effect, size_effect, owner_effect,
    age_days, size_band, horizon_days)
SELECT * FROM fresh
ON CONFLICT (tenant_id, period_id, deal_id) DO UPDATE SET
    owner_id = EXCLUDED.owner_id, probability = EXCLUDED.probability,
    amount = EXCLUDED.amount, expected = EXCLUDED.expected, base_rate = EXCLUDED.base_rate,
    stage_effect = EXCLUDED.stage_effect, age_effect = EXCLUDED.age_effect,
    size_effect = EXCLUDED.size_effect, owner_effect = EXCLUDED.owner_effect,
    age_days = EXCLUDED.age_days, size_band = EXCLUDED.size_band,
    horizon_days = EXCLUDED.horizon_days
WHERE (x.owner_id, x.probability, x.amount, x.expected, x.base_rate, x.stage_effect,
       x.age_effect, x.size_effect, x.owner_effect, x.age_days, x.size_band, x.horizon_days)
      IS DISTINCT FROM
      (EXCLUDED.owner_id, EXCLUDED.probability, EXCLUDED.amount, EXCLUDED.expected,
       EXCLUDED.base_rate, EXCLUDED.stage_effect, EXCLUDED.age_effect, EXCLUDED.size_effect,
       EXCLUDED.owner_effect, EXCLUDED.age_days, EXCLUDED.size_band, EXCLUDED.horizon_days)
"""


def _joined(values: Any) -> str:
    """A column as one comma-separated text parameter (binding a Python list
    as an array literal costs far more than the insert)."""
    return ",".join(map(repr, np.asarray(values).tolist()))


def _store_odds(
    tenant: Tenant,
    *,
    period: FiscalPeriod,
    candidates: pd.DataFrame,
    scored: pd.DataFrame,
    horizon: int,
    scope: list[int] | None = None,
) -> None:
    """Make the period's odds rows those of ``candidates`` (every deal, or
    the deals in ``scope``), in one statement (COPY is refused on RLS
    tables)."""
    params: dict[str, Any] = {
        "tenant": tenant.pk,
        "period": period.pk,
        "horizon": horizon,
        "deal": _joined(candidates["deal_id"]),
        "owner": _joined(candidates["owner_id"]),
        "p": _joined(scored["probability"]),
        "a": _joined(candidates["amount"]),
        "b": _joined(scored["base_rate"]),
        "se": _joined(scored["stage_effect"]),
        "ae": _joined(scored["age_effect"]),
        "ze": _joined(scored["size_effect"]),
        "oe": _joined(scored["owner_effect"]),
        "ad": _joined(scored["age_days"].astype(int)),
        "sb": _joined(scored["size_band"].astype(int)),
    }
    where = ""
    if scope is not None:
        params["scope"] = _joined(scope)
        where = "AND deal_id = ANY(string_to_array(%(scope)s, ',')::bigint[])"
    with connection.cursor() as cursor:
        cursor.execute(STORE_ODDS_SQL.format(scope=where), params)


def _simulate_and_store(
    tenant: Tenant,
    *,
    period: FiscalPeriod,
    day: dt.date,
    odds: pd.DataFrame,
    closed: pd.Series,
    new: NewDeals,
    simulations: int,
) -> int:
    """Simulate from ``odds`` (owner_id, probability, amount; sorted by owner)
    and replace the period's StatForecast rows. Returns the rows written."""
    owner_ids = np.union1d(
        np.union1d(
            odds["owner_id"].to_numpy(dtype=np.int64), closed.index.to_numpy(dtype=np.int64)
        ),
        np.array(list(new.rate), dtype=np.int64),
    )
    index = np.searchsorted(owner_ids, odds["owner_id"].to_numpy(dtype=np.int64))
    probability = odds["probability"].to_numpy(dtype=float)
    amount = odds["amount"].to_numpy(dtype=float)
    new_rate = np.array([new.rate.get(int(o), new.default_rate) for o in owner_ids])
    sims = simulate(
        probability=probability,
        amount=amount,
        owner_index=index,
        owners=len(owner_ids),
        new_rate=new_rate,
        new_amounts=new.amounts,
        seed=[tenant.pk, period.pk, day.toordinal()],
        simulations=simulations,
    )
    open_expected = np.bincount(index, weights=probability * amount, minlength=len(owner_ids))
    rows = _subject_rows(
        tenant,
        period=period,
        day=day,
        owners=owner_ids,
        closed=closed.reindex(owner_ids, fill_value=0.0).to_numpy(dtype=float),
        open_expected=open_expected,
        new_expected=new_rate * new.mean_amount,
        sims=sims,
    )
    StatForecast.objects.filter(tenant=tenant, period=period).delete()
    StatForecast.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def stat_forecast_compute(
    tenant: Tenant,
    *,
    period: FiscalPeriod,
    day: dt.date,
    simulations: int = SIMULATIONS,
) -> StatRun:
    """Compute and store the statistical forecast of ``period`` as of ``day``
    (held inside the period). Call inside the tenant's context; the caller
    holds the period's advisory lock."""
    day = as_of_day(period, day)
    found = estimate(tenant, period=period, day=day)
    odds = found.candidates[["owner_id", "amount"]].assign(
        probability=found.scored["probability"].to_numpy()
    )
    with transaction.atomic():
        _store_odds(
            tenant,
            period=period,
            candidates=found.candidates,
            scored=found.scored,
            horizon=(period.end - day).days,
        )
        ForecastFit.objects.update_or_create(
            tenant=tenant,
            period=period,
            defaults={
                "as_of": day,
                "params": {
                    "fit": found.model.to_json(),
                    "new": found.new.to_json(),
                },
                "computed_at": timezone.now(),
            },
        )
        subjects = _simulate_and_store(
            tenant,
            period=period,
            day=day,
            odds=odds,
            closed=found.closed,
            new=found.new,
            simulations=simulations,
        )
    return StatRun(day, len(found.candidates), found.model.observations, subjects)


ODDS_READ_SQL = """
SELECT owner_id, probability::float8, amount::float8 FROM pipeline_dealodds
WHERE tenant_id = %s AND period_id = %s ORDER BY owner_id, deal_id
"""


def stat_forecast_refresh(
    tenant: Tenant,
    *,
    period: FiscalPeriod,
    deal_ids: list[int],
    simulations: int = SIMULATIONS,
) -> StatRun | None:
    """Score ``deal_ids`` again with the period's stored fit (as they stand
    now) and re-simulate every subject from the stored odds. None when the
    period has no fit yet (the nightly run makes it)."""
    stored = ForecastFit.objects.filter(tenant=tenant, period=period).first()
    if stored is None:
        return None
    model = Fit.from_json(stored.params["fit"])
    new = NewDeals.from_json(stored.params["new"])
    day = stored.as_of
    deals = deals_as_of(
        tenant, day=timezone.localdate(), from_day=period.start, deal_ids=sorted(set(deal_ids))
    )
    candidates = deals.loc[
        (deals["status"] == DealStatus.OPEN)
        & (deals["expected_close_date"] <= pd.Timestamp(period.end))
    ].reset_index(drop=True)
    scored = score(candidates, model, day=day)
    closed = closed_by_owner(tenant, period=period)
    with transaction.atomic():
        _store_odds(
            tenant,
            period=period,
            candidates=candidates,
            scored=scored,
            horizon=model.horizon,
            scope=deal_ids,
        )
        with connection.cursor() as cursor:
            cursor.execute(ODDS_READ_SQL, [tenant.pk, period.pk])
            odds = pd.DataFrame(cursor.fetchall(), columns=["owner_id", "probability", "amount"])
        subjects = _simulate_and_store(
            tenant,
            period=period,
            day=day,
            odds=odds,
            closed=closed,
            new=new,
            simulations=simulations,
        )
    return StatRun(day, len(candidates), model.observations, subjects)
