"""Credit allocation (docs/formulas.md section 2): pure arithmetic, no database."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

from spm.money import CENT, round_half_up


def equal_share(count: int) -> Decimal:
    """The percentage that enters an equal split of ``count`` members: 100 / count,
    half-up to two decimals (33.33 for three, 14.29 for seven)."""
    return round_half_up(Fraction(100, count))


def split_shares(percents: Sequence[Decimal]) -> list[Decimal | Fraction]:
    """The exact shares of split ``percents``: as entered when they add up to
    100; exactly 100 / n each when every one of the n splits is the equal share
    (33.33 three times is a third each, so 100,000.00 credits 33,333.34 +
    33,333.33 + 33,333.33). Anything else is returned as entered (the caller
    refuses a total other than 100)."""
    count = len(percents)
    if (
        count
        and sum(percents, Decimal(0)) != 100
        and all(p == equal_share(count) for p in percents)
    ):
        return [Fraction(100, count)] * count
    return list(percents)


def allocate_credit(amount: Decimal, percents: Sequence[Decimal | Fraction]) -> list[Decimal]:
    """Split ``amount`` by ``percents`` (adding up to 100) into cents that add
    up to ``amount`` exactly, none negative.

    Largest remainder on cents: each share is ``amount x percent / 100``
    rounded down to cents, and the cents left over (fewer than the number of
    splits) go one each to the shares with the largest remainders, ties to the
    earlier split. Percents may be exact fractions (an equal three-way split is
    ``Fraction(100, 3)`` each): 100,000.00 -> 33,333.34 + 33,333.33 + 33,333.33;
    0.02 over four equal splits -> 0.01, 0.01, 0.00, 0.00.
    """
    if not percents:
        return []
    exact = [Fraction(amount) * Fraction(p) / 100 * 100 for p in percents]  # in cents
    floors = [value.numerator // value.denominator for value in exact]
    left = int(amount * 100) - sum(floors)
    by_remainder = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in by_remainder[:left]:
        floors[i] += 1
    return [(Decimal(cents) / 100).quantize(CENT) for cents in floors]
