from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from pipeline.credit import allocate_credit, equal_share, split_shares


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


def test_left_over_cents_go_to_the_largest_remainders_never_below_a_smaller_share():
    # 1.5 + 1.5 + 2 cents: floors 1 + 1 + 2, the cent left to the first largest remainder
    # (rounding each half-up and taking the excess from the largest share gave the 40% 0.01).
    assert allocate_credit(Decimal("0.05"), [Decimal("30"), Decimal("30"), Decimal("40")]) == [
        Decimal("0.02"),
        Decimal("0.01"),
        Decimal("0.02"),
    ]


def test_many_equal_splits_of_a_few_cents_are_never_negative():
    assert allocate_credit(Decimal("0.02"), split_shares([Decimal("25")] * 4)) == [
        Decimal("0.01"),
        Decimal("0.01"),
        Decimal("0.00"),
        Decimal("0.00"),
    ]


def test_single_owner_gets_everything():
    assert allocate_credit(Decimal("1234.56"), [Decimal("100")]) == [Decimal("1234.56")]


def test_three_equal_shares_of_33_33_are_exact_thirds():
    shares = split_shares([Decimal("33.33")] * 3)

    assert shares == [Fraction(100, 3)] * 3
    assert allocate_credit(Decimal("100000.00"), shares) == [
        Decimal("33333.34"),
        Decimal("33333.33"),
        Decimal("33333.33"),
    ]


def test_percentages_that_add_up_to_100_are_taken_as_entered():
    assert split_shares([Decimal("33.33"), Decimal("33.33"), Decimal("33.34")]) == [
        Decimal("33.33"),
        Decimal("33.33"),
        Decimal("33.34"),
    ]
    assert split_shares([Decimal("33.33"), Decimal("33.33")]) == [
        Decimal("33.33"),
        Decimal("33.33"),
    ]


amounts = st.decimals(min_value=Decimal("0.00"), max_value=Decimal("9999999999999999.99"), places=2)


@given(amount=amounts, count=st.integers(min_value=1, max_value=40))
def test_equal_splits_credit_the_whole_amount_within_a_cent_of_each_other(amount, count):
    credits = allocate_credit(amount, split_shares([equal_share(count)] * count))

    assert sum(credits, Decimal("0.00")) == amount
    assert max(credits) - min(credits) <= Decimal("0.01")
    assert credits == sorted(credits, reverse=True)


@given(
    amount=amounts,
    cuts=st.lists(st.integers(min_value=1, max_value=9999), min_size=0, max_size=9, unique=True),
)
def test_percentages_adding_up_to_100_credit_the_whole_amount(amount, cuts):
    edges = [0, *sorted(cuts), 10000]
    percents = [Decimal(b - a) / 100 for a, b in zip(edges, edges[1:], strict=False)]
    assert sum(percents) == 100

    credits = allocate_credit(amount, split_shares(percents))

    assert sum(credits, Decimal("0.00")) == amount
    for credit, percent in zip(credits, percents, strict=True):
        assert abs(credit - amount * percent / 100) <= Decimal("0.01") * len(percents)
