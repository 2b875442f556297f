"""The statistical forecast (docs/formulas.md section 7, "Statistical
forecast"): frames in, arrays out; no ORM, no Celery.

1. ``fit``: from the tenant's stage visits known as of day D, how often a deal
   that sat in stage s for a days closed won within H days (H = the days left
   in the period), by stage, by stage and age band, by size band and by
   owner; every rate smoothed toward the level above it (stage and age toward
   the stage, the stage toward the tenant's average, size and owner toward
   the average) with ``SMOOTHING`` pseudo-observations, so thin history
   leans on the average.
2. ``score``: an open deal's probability combines them on the log-odds scale:
   logit p = logit(stage x age rate) + (logit size rate - logit average)
   + (logit owner rate - logit average). Each factor's effect is reported.
3. ``new_deal_rates``: the expected number of deals not yet created that an
   owner wins in the rest of the period, from the same stretch of the past
   periods (created after the same day of the period, won by its end),
   smoothed toward the average owner, and the amounts they had.
4. ``simulate``: seeded draws of which open deals close (Bernoulli p) and
   how many new deals land (Poisson) with their amounts (drawn from the
   past ones), summed per owner, in chunks of deals (vectorised).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

AGE_BANDS = np.array([0, 15, 31, 61, 121])
AGE_LABELS = ["under 15 days", "15-30 days", "31-60 days", "61-120 days", "over 120 days"]
SIZE_LABELS = ["smallest quarter", "second quarter", "third quarter", "largest quarter"]
SMOOTHING = 20.0
NEW_DEAL_SMOOTHING = 2.0
SIMULATIONS = 1000
CHUNK = 4096
EPSILON = 1e-4


def _logit(p: Any) -> Any:
    p = np.clip(p, EPSILON, 1 - EPSILON)
    return np.log(p / (1 - p))


def _sigmoid(x: Any) -> Any:
    return 1 / (1 + np.exp(-x))


def _smooth(wins: pd.Series, n: pd.Series, prior: Any) -> pd.Series:
    return (wins + SMOOTHING * prior) / (n + SMOOTHING)


@dataclass(frozen=True)
class Fit:
    """The rates of one fit (JSON-able through ``to_json`` / ``from_json``)."""

    horizon: int
    base_rate: float
    observations: int
    stage: dict[int, float]
    stage_age: dict[tuple[int, int], float]
    size_edges: list[float]
    size: list[float]
    owner: dict[int, float]

    def to_json(self) -> dict[str, Any]:
        return {
            "horizon": self.horizon,
            "base_rate": self.base_rate,
            "observations": self.observations,
            "stage": {str(k): v for k, v in self.stage.items()},
            "stage_age": [[s, b, v] for (s, b), v in self.stage_age.items()],
            "size_edges": self.size_edges,
            "size": self.size,
            "owner": {str(k): v for k, v in self.owner.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fit:
        return cls(
            horizon=int(data["horizon"]),
            base_rate=float(data["base_rate"]),
            observations=int(data["observations"]),
            stage={int(k): float(v) for k, v in data["stage"].items()},
            stage_age={(int(s), int(b)): float(v) for s, b, v in data["stage_age"]},
            size_edges=[float(x) for x in data["size_edges"]],
            size=[float(x) for x in data["size"]],
            owner={int(k): float(v) for k, v in data["owner"].items()},
        )


def observations(visits: pd.DataFrame, *, day: dt.date, horizon: int) -> pd.DataFrame:
    """One row per (stage visit, age band) whose next ``horizon`` days are
    fully known by ``day``: the deal was still in the stage at the band's
    lower age, and ``won`` says whether it closed won within the horizon
    from there (columns stage_id, band, amount, owner_id, won)."""
    end = pd.Timestamp(day)
    span = pd.Timedelta(days=horizon)
    parts = []
    for band, lower in enumerate(AGE_BANDS):
        observed = visits["entered"] + pd.Timedelta(days=int(lower))
        keep = (visits["left_on"].isna() | (visits["left_on"] > observed)) & (
            observed + span <= end
        )
        part = visits.loc[keep, ["stage_id", "amount", "owner_id"]].copy()
        close = visits.loc[keep, "close_date"]
        start = observed[keep]
        part["won"] = (
            (visits.loc[keep, "status"] == "won")
            & (close >= start)
            & (close <= start + span)
            & (close <= end)
        ).astype(float)
        part["band"] = band
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=["stage_id", "band", "amount", "owner_id", "won"])
    return pd.concat(parts, ignore_index=True)


def fit(visits: pd.DataFrame, *, day: dt.date, horizon: int) -> Fit:
    """The rates as of ``day`` for a horizon of ``horizon`` days (see the module)."""
    rows = observations(visits, day=day, horizon=horizon)
    if rows.empty:
        return Fit(horizon, 0.0, 0, {}, {}, [], [], {})
    base = float(rows["won"].mean())
    by_stage = rows.groupby("stage_id")["won"].agg(["sum", "count"])
    stage = _smooth(by_stage["sum"], by_stage["count"], base)
    by_cell = rows.groupby(["stage_id", "band"])["won"].agg(["sum", "count"])
    prior = stage.reindex(by_cell.index.get_level_values(0)).to_numpy()
    stage_age = _smooth(by_cell["sum"], by_cell["count"], prior)
    entry = rows.loc[rows["band"] == 0, "amount"].to_numpy()
    edges = np.quantile(entry, [0.25, 0.5, 0.75]) if len(entry) else np.array([])
    size_idx = np.searchsorted(edges, rows["amount"].to_numpy(), side="right")
    by_size = rows.groupby(size_idx)["won"].agg(["sum", "count"]).reindex(range(4), fill_value=0)
    size = _smooth(by_size["sum"], by_size["count"], base)
    by_owner = rows.loc[rows["band"] == 0].groupby("owner_id")["won"].agg(["sum", "count"])
    owner = _smooth(by_owner["sum"], by_owner["count"], base)
    return Fit(
        horizon=horizon,
        base_rate=base,
        observations=len(rows),
        stage={int(k): float(v) for k, v in stage.items()},
        stage_age={(int(s), int(b)): float(v) for (s, b), v in stage_age.items()},
        size_edges=[float(x) for x in edges],
        size=[float(x) for x in size],
        owner={int(k): float(v) for k, v in owner.items()},
    )


def score(deals: pd.DataFrame, model: Fit, *, day: dt.date) -> pd.DataFrame:
    """Each open deal's probability to close won within the horizon, with the
    effect of each factor (columns probability, base_rate, stage_effect,
    age_effect, size_effect, owner_effect, age_days, size_band). Without any
    history the stage's own probability stands, with no effects. A deal the
    history already shows in a won (lost) stage, its close date still to
    come, is certain (impossible)."""
    out = pd.DataFrame(index=deals.index)
    age = (pd.Timestamp(day) - deals["entered"]).dt.days.clip(lower=0).to_numpy()
    out["age_days"] = age
    edges = np.array(model.size_edges)
    size_band = np.searchsorted(edges, deals["amount"].to_numpy(), side="right")
    out["size_band"] = size_band if len(edges) else 0
    if model.observations == 0:
        out["probability"] = deals["stage_probability"].to_numpy() / 100
        for column in ("base_rate", "stage_effect", "age_effect", "size_effect", "owner_effect"):
            out[column] = 0.0
        return _settled(out, deals)
    base = model.base_rate
    band = np.searchsorted(AGE_BANDS, age, side="right") - 1
    stages = deals["stage_id"].to_numpy()
    p_stage = pd.Series(stages).map(model.stage).fillna(base).to_numpy()
    cells = pd.Series(list(zip(stages, band, strict=True))).map(model.stage_age)
    p_cell = cells.fillna(pd.Series(p_stage)).to_numpy(dtype=float)
    p_size = np.array(model.size)[size_band]
    p_owner = deals["owner_id"].map(model.owner).fillna(base).to_numpy()
    size_term = _logit(p_size) - _logit(base)
    owner_term = _logit(p_owner) - _logit(base)
    total = _logit(p_cell) + size_term + owner_term
    probability = _sigmoid(total)
    out["probability"] = probability
    out["base_rate"] = base
    out["stage_effect"] = p_stage - base
    out["age_effect"] = p_cell - p_stage
    out["size_effect"] = probability - _sigmoid(total - size_term)
    out["owner_effect"] = probability - _sigmoid(total - owner_term)
    return _settled(out, deals)


def _settled(out: pd.DataFrame, deals: pd.DataFrame) -> pd.DataFrame:
    """Probability 1 in a won stage and 0 in a lost one, with no effects."""
    if "stage_won" not in deals:
        return out
    won = deals["stage_won"].fillna(False).to_numpy(dtype=bool)
    lost = deals["stage_lost"].fillna(False).to_numpy(dtype=bool)
    settled = won | lost
    out.loc[settled, "probability"] = np.where(won[settled], 1.0, 0.0)
    for column in ("stage_effect", "age_effect", "size_effect", "owner_effect"):
        out.loc[settled, column] = 0.0
    return out


@dataclass(frozen=True)
class NewDeals:
    """Deals not yet created: expected wins per owner in the rest of the
    period, and the amounts such deals had."""

    rate: dict[int, float]
    default_rate: float
    amounts: np.ndarray

    @property
    def mean_amount(self) -> float:
        return float(self.amounts.mean()) if len(self.amounts) else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "rate": {str(k): v for k, v in self.rate.items()},
            "default_rate": self.default_rate,
            "amounts": [float(x) for x in self.amounts],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NewDeals:
        return cls(
            rate={int(k): float(v) for k, v in data["rate"].items()},
            default_rate=float(data["default_rate"]),
            amounts=np.array(data["amounts"], dtype=float),
        )


def new_deal_rates(
    won: pd.DataFrame, *, past: list[tuple[dt.date, dt.date]], offset_days: int
) -> NewDeals:
    """From won deals (owner_id, amount, created_on, close_date) and past
    periods (start, end): per owner, the mean number of deals created after
    ``offset_days`` into a past period and won by its end, smoothed toward
    the average owner with ``NEW_DEAL_SMOOTHING`` periods."""
    if won.empty or not past:
        return NewDeals({}, 0.0, np.array([]))
    parts = []
    for start, end in past:
        cut = pd.Timestamp(start + dt.timedelta(days=offset_days))
        mask = (
            (won["created_on"] > cut)
            & (won["close_date"] > cut)
            & (won["close_date"] <= pd.Timestamp(end))
        )
        parts.append(won.loc[mask, ["owner_id", "amount"]])
    landed = pd.concat(parts, ignore_index=True)
    owners = won["owner_id"].unique()
    periods = len(past)
    counts = landed.groupby("owner_id").size().reindex(owners, fill_value=0)
    average = float(counts.sum()) / (periods * max(len(owners), 1))
    rate = (counts + NEW_DEAL_SMOOTHING * average) / (periods + NEW_DEAL_SMOOTHING)
    return NewDeals(
        rate={int(k): float(v) for k, v in rate.items()},
        default_rate=NEW_DEAL_SMOOTHING * average / (periods + NEW_DEAL_SMOOTHING),
        amounts=landed["amount"].to_numpy(dtype=float),
    )


def simulate(
    *,
    probability: np.ndarray,
    amount: np.ndarray,
    owner_index: np.ndarray,
    owners: int,
    new_rate: np.ndarray,
    new_amounts: np.ndarray,
    seed: list[int],
    simulations: int = SIMULATIONS,
) -> np.ndarray:
    """Simulated bookings per owner (simulations x owners): open deals close
    with their probability, new deals land Poisson(new_rate[owner]) with
    amounts drawn from ``new_amounts``. Seeded: the same inputs give the
    same draws."""
    rng = np.random.default_rng(seed)
    totals = np.zeros((simulations, owners))
    for start in range(0, len(probability), CHUNK):
        p = probability[start : start + CHUNK].astype(np.float32)
        wins = rng.random((simulations, len(p)), dtype=np.float32) < p
        owner_ids, local = np.unique(owner_index[start : start + CHUNK], return_inverse=True)
        # Deal amounts placed in their owner's column: one matrix product sums
        # each simulation's wins per owner.
        placed = np.zeros((len(p), len(owner_ids)))
        placed[np.arange(len(p)), local] = amount[start : start + CHUNK]
        totals[:, owner_ids] += wins.astype(np.float64) @ placed
    if len(new_amounts) and new_rate.any():
        counts = rng.poisson(new_rate, size=(simulations, owners))
        draws = rng.choice(new_amounts, size=int(counts.sum()))
        cells = np.repeat(np.arange(simulations * owners), counts.ravel())
        totals += np.bincount(cells, weights=draws, minlength=simulations * owners).reshape(
            simulations, owners
        )
    return totals
