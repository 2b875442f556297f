"""The pure computations against every worked example of docs/formulas.md
sections 1 (quotas) and 4 (bonus on a goal, MBO), to the cent."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from goals import engine


def test_proration_of_a_mid_quarter_start_is_50_000():
    # docs/formulas.md section 1: Q1 2027 (90 days), 90,000.00, start Feb 10 -> 50 active days.
    prorated = engine.prorate(
        Decimal("90000.00"),
        period_start=dt.date(2027, 1, 1),
        period_end=dt.date(2027, 3, 31),
        member_start=dt.date(2027, 2, 10),
        member_end=None,
    )
    assert prorated == Decimal("50000.00")
    assert str(prorated) == "50000.00"


def test_proration_of_a_leaver_counts_both_ends():
    prorated = engine.prorate(
        Decimal("90000.00"),
        period_start=dt.date(2027, 1, 1),
        period_end=dt.date(2027, 3, 31),
        member_start=dt.date(2020, 1, 1),
        member_end=dt.date(2027, 1, 30),
    )
    assert prorated == Decimal("30000.00")


def test_proration_of_a_full_period_member_keeps_the_amount():
    prorated = engine.prorate(
        Decimal("1234.50"),
        period_start=dt.date(2027, 1, 1),
        period_end=dt.date(2027, 1, 31),
        member_start=dt.date(2026, 5, 1),
        member_end=None,
    )
    assert prorated == Decimal("1234.50")


def test_proration_rounds_half_up_to_cents():
    # 0.05 x 1 / 2 = 0.025 -> 0.03
    assert engine.prorate(
        Decimal("0.05"),
        period_start=dt.date(2027, 1, 1),
        period_end=dt.date(2027, 1, 2),
        member_start=dt.date(2027, 1, 2),
        member_end=None,
    ) == Decimal("0.03")


def test_top_down_allocation_by_prior_bookings_matches_formulas():
    # docs/formulas.md section 1: team 1,000,000; A 410,000, B 290,000, C 200,000; unit 1,000.
    parts = engine.allocate(
        Decimal("1000000"),
        [Decimal("410000"), Decimal("290000"), Decimal("200000")],
        unit=Decimal("1000"),
    )
    assert parts == [Decimal("456000"), Decimal("322000"), Decimal("222000")]
    assert sum(parts) == Decimal("1000000")


def test_largest_remainder_gives_ties_to_the_earlier_part():
    parts = engine.largest_remainder(Decimal("100000.00"), [Decimal(1)] * 3)
    assert parts == [Decimal("33333.34"), Decimal("33333.33"), Decimal("33333.33")]


def test_over_assignment_factor_allocates_factor_times_the_team_quota():
    parts = engine.allocate(
        Decimal("1000000"),
        [Decimal("410000"), Decimal("290000"), Decimal("200000")],
        unit=Decimal("1000"),
        factor=Decimal("1.10"),
    )
    # 1,100,000 x 41/90 = 501,111.11; x 29/90 = 354,444.44; x 20/90 = 244,444.44: floors
    # 501/354/244 thousand leave one unit, for the largest remainder, B before C on the tie.
    assert parts == [Decimal("501000"), Decimal("355000"), Decimal("244000")]
    assert sum(parts) == Decimal("1100000")


def test_allocation_refuses_an_amount_that_is_not_whole_units():
    with pytest.raises(ValidationError) as exc:
        engine.allocate(Decimal("1000500"), [Decimal(1), Decimal(1)], unit=Decimal("1000"))
    assert exc.value.message_dict == {
        "unit": ["1000500.00 is not a whole number of units of 1000; choose another unit."]
    }


def test_allocation_refuses_zero_weights_and_a_bad_factor():
    with pytest.raises(ValidationError) as zero:
        engine.allocate(Decimal("1000"), [Decimal(0), Decimal(0)])
    assert zero.value.message_dict == {
        "weights": ["The weights add up to zero; nothing can be allocated."]
    }
    with pytest.raises(ValidationError) as factor:
        engine.allocate(Decimal("1000"), [Decimal(1)], factor=Decimal("0.9"))
    assert factor.value.message_dict == {
        "factor": ["The over-assignment factor must be between 1.00 and 3.00."]
    }


def test_even_spread_of_a_quarter_adds_up_to_the_cent():
    assert engine.spread(Decimal("100000.00"), engine.equal_weights(3)) == [
        Decimal("33333.34"),
        Decimal("33333.33"),
        Decimal("33333.33"),
    ]


def test_spread_by_profile_follows_the_weights():
    assert engine.spread(Decimal("90000.00"), [Decimal("1"), Decimal("1"), Decimal("2")]) == [
        Decimal("22500.00"),
        Decimal("22500.00"),
        Decimal("45000.00"),
    ]


def test_mbo_score_matches_formulas():
    # docs/formulas.md section 4: weights 40/35/25 scored 100/80/50 -> 0.805;
    # bonus 5,000.00 -> 4,025.00.
    score = engine.mbo_score(
        [
            (Decimal("0.40"), Decimal("1.00")),
            (Decimal("0.35"), Decimal("0.80")),
            (Decimal("0.25"), Decimal("0.50")),
        ]
    )
    assert score == Decimal("0.805")
    assert engine.mbo_payout(score, Decimal("5000.00")) == Decimal("4025.00")
    assert str(engine.mbo_payout(score, Decimal("5000.00"))) == "4025.00"


def test_mbo_score_above_100_percent_up_to_a_cap():
    score = engine.mbo_score([(Decimal("0.5"), Decimal("1.20")), (Decimal("0.5"), Decimal("1.00"))])
    assert score == Decimal("1.1")


def test_mbo_score_refuses_weights_that_do_not_add_up_to_100_percent():
    with pytest.raises(ValidationError) as exc:
        engine.mbo_score([(Decimal("0.40"), Decimal("1")), (Decimal("0.35"), Decimal("1"))])
    assert exc.value.message_dict == {
        "weight": ["The weights add up to 75%; they must add up to 100%."]
    }


def test_goal_progress_up_and_down():
    assert engine.goal_progress(current=Decimal("30"), target=Decimal("40")) == Decimal("0.7500")
    # Shorten the sales cycle from 60 to 40 days: at 50 days, halfway there.
    assert engine.goal_progress(
        current=Decimal("50"), target=Decimal("40"), baseline=Decimal("60")
    ) == Decimal("0.5000")
    assert engine.goal_progress(current=None, target=Decimal("40")) is None
