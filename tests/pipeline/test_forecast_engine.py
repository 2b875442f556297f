"""The statistical forecast's computation on frames worked out by hand
(docs/formulas.md section 7, "Statistical forecast")."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from pipeline.forecast.forecast import fit, new_deal_rates, observations, score, simulate

T = pd.Timestamp


def logit(p: float) -> float:
    return math.log(p / (1 - p))


@pytest.fixture
def visits():
    """Two stays in stage 10 from 1 Jan: A (owner 1, 100.00) won on 11 Jan;
    B (owner 2, 300.00) lost on 1 Mar."""
    return pd.DataFrame(
        {
            "deal_id": [1, 2],
            "stage_id": [10, 10],
            "entered": [T("2026-01-01"), T("2026-01-01")],
            "left_on": [T("2026-01-11"), T("2026-03-01")],
            "owner_id": [1, 2],
            "amount": [100.0, 300.0],
            "status": ["won", "lost"],
            "close_date": [T("2026-01-11"), T("2026-03-01")],
        }
    )


def test_observations_keep_stays_still_in_the_stage_at_each_age(visits):
    rows = observations(visits, day=dt.date(2026, 12, 31), horizon=30)

    # A only at age 0 (it left on day 10); B at 0, 15 and 31 days (it left on day 59).
    assert sorted(zip(rows["owner_id"], rows["band"], rows["won"], strict=True)) == [
        (1, 0, 1.0),
        (2, 0, 0.0),
        (2, 1, 0.0),
        (2, 2, 0.0),
    ]


def test_fit_smooths_each_rate_toward_the_level_above(visits):
    model = fit(visits, day=dt.date(2026, 12, 31), horizon=30)

    assert model.base_rate == 0.25
    assert model.stage[10] == pytest.approx((1 + 20 * 0.25) / (4 + 20))
    assert model.stage_age[(10, 0)] == pytest.approx((1 + 20 * 0.25) / (2 + 20))
    assert model.size_edges == [150.0, 200.0, 250.0]
    assert model.size == pytest.approx([6 / 21, 0.25, 0.25, 5 / 23])
    assert model.owner == pytest.approx({1: 6 / 21, 2: 5 / 21})


def test_nothing_after_the_as_of_day_is_learned(visits):
    model = fit(visits, day=dt.date(2026, 1, 20), horizon=30)

    # Neither stay's 30 days after 1 Jan are over by 20 Jan.
    assert model.observations == 0


def test_score_adds_size_and_owner_to_the_stage_and_age_on_the_log_odds_scale(visits):
    model = fit(visits, day=dt.date(2026, 12, 31), horizon=30)
    deals = pd.DataFrame(
        {
            "stage_id": [10],
            "entered": [T("2026-12-26")],
            "amount": [120.0],
            "owner_id": [1],
            "stage_probability": [40.0],
        }
    )

    scored = score(deals, model, day=dt.date(2026, 12, 31))

    cell, lift = 6 / 22, logit(6 / 21) - logit(0.25)
    expected = 1 / (1 + math.exp(-(logit(cell) + 2 * lift)))
    assert scored.loc[0, "probability"] == pytest.approx(expected)
    assert scored.loc[0, "stage_effect"] == pytest.approx(0.0)
    assert scored.loc[0, "age_effect"] == pytest.approx(cell - 0.25)
    assert (scored.loc[0, "age_days"], scored.loc[0, "size_band"]) == (5, 0)


def test_without_history_the_stage_probability_stands():
    model = fit(
        pd.DataFrame(columns=["stage_id", "entered", "left_on", "owner_id", "amount", "status",
                              "close_date"]).astype({"entered": "datetime64[ns]",
                                                     "left_on": "datetime64[ns]",
                                                     "close_date": "datetime64[ns]"}),
        day=dt.date(2026, 12, 31),
        horizon=30,
    )  # fmt: skip
    deals = pd.DataFrame(
        {
            "stage_id": [10],
            "entered": [T("2026-12-01")],
            "amount": [500.0],
            "owner_id": [1],
            "stage_probability": [60.0],
        }
    )

    assert score(deals, model, day=dt.date(2026, 12, 31)).loc[0, "probability"] == 0.6


def test_new_deal_rates_count_deals_created_after_the_same_day_and_won_by_the_end():
    won = pd.DataFrame(
        {
            "owner_id": [1, 1, 2, 1],
            "amount": [1000.0, 2000.0, 3000.0, 4000.0],
            "created_on": [T("2026-01-10"), T("2026-02-05"), T("2026-05-01"), T("2026-04-30")],
            "close_date": [T("2026-02-01"), T("2026-03-01"), T("2026-06-01"), T("2026-05-02")],
        }
    )
    past = [
        (dt.date(2026, 1, 1), dt.date(2026, 3, 31)),
        (dt.date(2026, 4, 1), dt.date(2026, 6, 30)),
    ]

    new = new_deal_rates(won, past=past, offset_days=28)

    # Owner 1: two such deals, owner 2: one, over 2 periods; average 3 / (2 x 2) = 0.75.
    assert new.rate == pytest.approx({1: (2 + 2 * 0.75) / 4, 2: (1 + 2 * 0.75) / 4})
    assert new.default_rate == pytest.approx(2 * 0.75 / 4)
    assert sorted(new.amounts) == [2000.0, 3000.0, 4000.0]


def test_simulation_is_seeded_and_exact_at_the_extremes():
    args = {
        "probability": np.array([1.0, 0.0, 0.5]),
        "amount": np.array([100.0, 200.0, 50.0]),
        "owner_index": np.array([0, 0, 1]),
        "owners": 2,
        "new_rate": np.array([0.0, 0.0]),
        "new_amounts": np.array([]),
        "simulations": 400,
    }

    first = simulate(**args, seed=[1, 2, 3])
    again = simulate(**args, seed=[1, 2, 3])

    assert np.array_equal(first, again)
    assert set(first[:, 0]) == {100.0}
    assert set(first[:, 1]) == {0.0, 50.0}
    assert 0.4 < (first[:, 1] == 50.0).mean() < 0.6
