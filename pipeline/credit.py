"""Credit allocation (FORMULAS.md section 2): pure arithmetic, no database."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

from spm.money import CENT


def _fraction_to_cents(value: Fraction) -> Decimal:
    cents = value * 100
    whole, rest = divmod(cents.numerator, cents.denominator)
    # Half-up on the cents: add one when the remainder is at least half.
    if rest * 2 >= cents.denominator:
        whole += 1
    return (Decimal(whole) / 100).quantize(CENT)


def allocate_credit(amount: Decimal, percents: Sequence[Decimal | Fraction]) -> list[Decimal]:
    """Split ``amount`` by ``percents`` (adding up to 100) into cents that add
    up to ``amount`` exactly.

    Each share is ``amount x percent / 100`` rounded half-up to cents; the
    residual (a cent or a few) goes to the largest share, ties to the first
    split. Percents may be exact fractions (an equal three-way split is
    ``Fraction(100, 3)`` each): 100,000.00 -> 33,333.34 + 33,333.33 + 33,333.33.
    """
    if not percents:
        return []
    exact_amount = Fraction(amount)
    shares = [_fraction_to_cents(exact_amount * Fraction(p) / 100) for p in percents]
    residual = amount - sum(shares, Decimal("0.00"))
    if residual:
        largest = max(range(len(percents)), key=lambda i: (Fraction(percents[i]), -i))
        shares[largest] += residual
    return shares
