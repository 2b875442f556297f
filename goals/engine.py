"""Pure computations of the goals pillar: proration, largest-remainder
allocation and spreading, MBO scores, goal progress.

No database, no HTTP. Exact arithmetic: Decimal in and out, ``Fraction`` in
between so no intermediate rounding leaks into a result. Invalid input raises
``django.core.exceptions.ValidationError`` naming the field at fault.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

from django.core.exceptions import ValidationError

from spm.money import CENT, round_half_up
from spm.periods import active_days

ONE = Decimal("1")


def prorate(
    amount: Decimal,
    *,
    period_start: dt.date,
    period_end: dt.date,
    member_start: dt.date,
    member_end: dt.date | None,
) -> Decimal:
    """quota x active_days / days_in_period, both ends inclusive, half-up to cents
    (docs/formulas.md section 1). A member active the whole period keeps ``amount``."""
    days = (period_end - period_start).days + 1
    active = active_days(period_start, period_end, member_start, member_end)
    if active == days:
        return round_half_up(amount)
    return round_half_up(Fraction(amount) * active / days)


def largest_remainder(
    total: Decimal, weights: Sequence[Decimal], *, unit: Decimal = CENT
) -> list[Decimal]:
    """Split ``total`` in proportion to ``weights`` into multiples of ``unit``
    that add up to ``total`` exactly (docs/formulas.md section 1, top-down).

    Each part gets the floor of its raw share in units; the units left over go
    one each to the parts with the largest remainders, ties to the earlier part.
    Raises ValidationError when a weight is negative, all weights are zero,
    the unit is not positive, or ``total`` is not a whole number of units.
    """
    if unit <= 0:
        raise ValidationError({"unit": "The rounding unit must be greater than zero."})
    if total < 0:
        raise ValidationError({"amount": "The amount cannot be negative."})
    if not weights:
        raise ValidationError({"weights": "There is no one to allocate to."})
    if any(w < 0 for w in weights):
        raise ValidationError({"weights": "Weights cannot be negative."})
    weight_sum = sum((Fraction(w) for w in weights), Fraction(0))
    if weight_sum == 0:
        raise ValidationError({"weights": "The weights add up to zero; nothing can be allocated."})
    units_total = Fraction(total) / Fraction(unit)
    if units_total.denominator != 1:
        raise ValidationError(
            {"unit": f"{total} is not a whole number of units of {unit}; choose another unit."}
        )
    n_units = units_total.numerator
    raw = [units_total * Fraction(w) / weight_sum for w in weights]
    floors = [r.numerator // r.denominator for r in raw]
    left = n_units - sum(floors)
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    places = unit if unit.as_tuple().exponent < 0 else ONE  # type: ignore[operator]
    return [(Decimal(f) * unit).quantize(places) for f in floors]


def allocate(
    team_amount: Decimal, weights: Sequence[Decimal], *, unit: Decimal = CENT, factor: Decimal = ONE
) -> list[Decimal]:
    """Top-down allocation: ``factor x team_amount`` split by ``weights`` with the
    largest-remainder method. ``factor`` (over-assignment, e.g. 1.10) is at
    least 1 and at most 3; the allocated total is rounded half-up to cents."""
    if factor < 1 or factor > 3:
        raise ValidationError(
            {"factor": "The over-assignment factor must be between 1.00 and 3.00."}
        )
    target = round_half_up(Fraction(team_amount) * Fraction(factor))
    return largest_remainder(target, weights, unit=unit)


def equal_weights(count: int) -> list[Decimal]:
    return [ONE] * count


def spread(amount: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Spread a quarter's or a year's amount to its months by ``weights`` (equal
    weights for an even spread), in cents that add up to ``amount`` exactly."""
    return largest_remainder(amount, weights, unit=CENT)


def mbo_score(items: Sequence[tuple[Decimal, Decimal]]) -> Decimal:
    """Weighted MBO score: sum of weight x score over (weight, score) pairs
    (docs/formulas.md section 4, "MBO bonus"). Weights must add up to exactly 1;
    the result is exact (0.40 x 1.00 + 0.35 x 0.80 + 0.25 x 0.50 = 0.805)."""
    if not items:
        raise ValidationError({"objectives": "There are no objectives to score."})
    total_weight = sum((w for w, _ in items), Decimal(0))
    if total_weight != ONE:
        raise ValidationError(
            {"weight": f"The weights add up to {percent(total_weight)}; they must add up to 100%."}
        )
    return sum((w * s for w, s in items), Decimal(0)).normalize()


def mbo_counted(achieved: Decimal, cap: Decimal) -> Decimal:
    """What an objective's achievement counts in the weighted score: as
    measured, up to the objective's cap (achieved 1.40 with a 1.20 cap counts 1.20)."""
    return min(achieved, cap)


def mbo_payout(score: Decimal, target_bonus: Decimal) -> Decimal:
    """Target bonus x weighted score, half-up to cents (0.805 x 5,000.00 = 4,025.00)."""
    return round_half_up(Fraction(score) * Fraction(target_bonus))


def goal_progress(
    *, current: Decimal | None, target: Decimal, baseline: Decimal = Decimal(0)
) -> Decimal | None:
    """How far ``current`` has come from ``baseline`` towards ``target``, as a
    fraction (may exceed 1 or fall below 0). None when there is no value yet or
    the target equals the baseline. Works for goals that go down (a shorter
    sales cycle) as well as up."""
    if current is None or target == baseline:
        return None
    return round_half_up(
        Fraction(current - baseline) / Fraction(target - baseline), Decimal("0.0001")
    )


def percent(fraction: Decimal) -> str:
    """0.805 -> '80.5%'; 1 -> '100%' (display only)."""
    value = round_half_up(fraction * 100).normalize()
    text = format(value, "f")
    return f"{text}%"
