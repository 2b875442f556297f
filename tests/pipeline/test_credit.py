from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from pipeline.credit import allocate_credit


def test_seventy_thirty_split_of_sixty_thousand():
    assert allocate_credit(Decimal("60000.00"), [Decimal("70"), Decimal("30")]) == [
        Decimal("42000.00"),
        Decimal("18000.00"),
    ]


def test_equal_three_way_split_gives_the_residual_cent_to_the_first_split():
    third = Fraction(100, 3)
    assert allocate_credit(Decimal("100000.00"), [third, third, third]) == [
        Decimal("33333.34"),
        Decimal("33333.33"),
        Decimal("33333.33"),
    ]


def test_residual_cent_goes_to_the_largest_share():
    assert allocate_credit(
        Decimal("0.10"), [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")]
    ) == [
        Decimal("0.03"),
        Decimal("0.03"),
        Decimal("0.04"),
    ]


def test_negative_residual_is_taken_from_the_largest_share():
    # 0.015 + 0.015 + 0.020 rounds half-up to 0.02 + 0.02 + 0.02 = 0.06 > 0.05.
    assert allocate_credit(Decimal("0.05"), [Decimal("30"), Decimal("30"), Decimal("40")]) == [
        Decimal("0.02"),
        Decimal("0.02"),
        Decimal("0.01"),
    ]


def test_single_owner_gets_everything():
    assert allocate_credit(Decimal("1234.56"), [Decimal("100")]) == [Decimal("1234.56")]
