from decimal import Decimal

from pipeline.models import Deal


def test_weighted_amount_rounds_half_up_to_cents():
    # 10.05 x 50% = 5.025: half-up gives 5.03 (the default half-even would give 5.02).
    deal = Deal(base_amount=Decimal("10.05"), probability=Decimal("50.00"))
    assert deal.weighted_amount == Decimal("5.03")
