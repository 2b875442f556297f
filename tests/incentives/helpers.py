"""Frames for engine tests: deals and members written as short literals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd

from incentives.engine import CREDIT_COLUMNS, Window

Q1 = Window("quarter", dt.date(2027, 1, 1), dt.date(2027, 3, 31), "Q1 2027")
Q2 = Window("quarter", dt.date(2027, 4, 1), dt.date(2027, 6, 30), "Q2 2027")
JAN = Window("month", dt.date(2027, 1, 1), dt.date(2027, 1, 31), "Jan 2027")
FEB = Window("month", dt.date(2027, 2, 1), dt.date(2027, 2, 28), "Feb 2027")
MAR = Window("month", dt.date(2027, 3, 1), dt.date(2027, 3, 31), "Mar 2027")
APR = Window("month", dt.date(2027, 4, 1), dt.date(2027, 4, 30), "Apr 2027")
YEAR = Window("year", dt.date(2027, 1, 1), dt.date(2027, 12, 31), "FY2027")


def credits(*rows: tuple) -> pd.DataFrame:
    """(credit_id, member_id, amount, date[, role, deal_type, product_line])."""
    out = []
    for row in rows:
        credit_id, member_id, amount, day, *rest = row
        role = rest[0] if len(rest) > 0 else "direct"
        deal_type = rest[1] if len(rest) > 1 else "new_business"
        product = rest[2] if len(rest) > 2 else ""
        out.append(
            {
                "credit_id": credit_id,
                "deal_id": credit_id,
                "deal_name": f"D{credit_id}",
                "member_id": member_id,
                "role": role,
                "amount": Decimal(amount),
                "credit_date": day,
                "deal_type": deal_type,
                "product_line": product,
            }
        )
    return pd.DataFrame(out, columns=CREDIT_COLUMNS)


def members(*ids: int, target_incentive: str = "0", owed: str = "0.00") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "member_id": list(ids),
            "target_incentive": [Decimal(target_incentive)] * len(ids),
            "owed": [Decimal(owed)] * len(ids),
        }
    )


def quotas(window: Window, **amounts: str) -> pd.DataFrame:
    """quotas(Q1, m1="100000") -> member 1's quota for Q1."""
    return pd.DataFrame(
        {
            "member_id": [int(k[1:]) for k in amounts],
            "window": [window.key] * len(amounts),
            "amount": [Decimal(v) for v in amounts.values()],
        }
    )
