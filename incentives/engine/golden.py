"""Golden examples: a plan document carries deals and the payouts it expects.

``golden_run`` computes each example through ``compute_period`` as one
member in one measurement window (the plan's effective start to the last
example deal, or the plan's first quarter) and compares every expected
figure, so that a plan can be reviewed like code (``manage.py plan_check``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

from incentives.document import Example, PlanDocument
from incentives.engine.frames import CREDIT_COLUMNS, Window
from incentives.engine.run import PeriodInputs, compute_period


@dataclass(frozen=True)
class GoldenResult:
    name: str
    expected: dict[str, Decimal]
    actual: dict[str, Decimal]

    @property
    def passed(self) -> bool:
        return self.expected == {key: self.actual.get(key) for key in self.expected}

    def describe(self) -> str:
        status = "pass" if self.passed else "FAIL"
        figures = ", ".join(
            f"{key} {self.actual.get(key, Decimal('0.00'))}"
            + ("" if self.actual.get(key) == value else f" (expected {value})")
            for key, value in self.expected.items()
        )
        return f"{status}: {self.name}: {figures}"


def _window(plan: PlanDocument, example: Example) -> Window:
    start = plan.effective_from
    dates = [deal.date for deal in example.deals if deal.date is not None]
    end = max([start + dt.timedelta(days=89), *dates])
    return Window("example", start, end, f"example {example.name}")


def _inputs(plan: PlanDocument, example: Example) -> PeriodInputs:
    window = _window(plan, example)
    credits = pd.DataFrame(
        [
            {
                "credit_id": i,
                "deal_id": i,
                "deal_name": f"deal {i}",
                "member_id": 1,
                "role": "direct",
                "amount": deal.amount,
                "credit_date": deal.date or window.start,
                "deal_type": deal.deal_type,
                "product_line": deal.product_line,
            }
            for i, deal in enumerate(example.deals, start=1)
        ],
        columns=CREDIT_COLUMNS,
    )
    windows = {kind: window for kind in ("month", "quarter", "year")}
    one = {"member_id": [1], "window": [window.key]}
    return PeriodInputs(
        period=window,
        windows=windows,
        members=pd.DataFrame(
            {
                "member_id": [1],
                "target_incentive": [example.target_incentive],
                "owed": [Decimal("0.00")],
            }
        ),
        credits=credits,
        quotas=pd.DataFrame(
            {**one, "amount": [example.quota]}
            if example.quota is not None
            else {"member_id": [], "window": [], "amount": []}
        ),
        team_attainment=pd.DataFrame({**one, "attainment": [example.team_attainment]}),
        kpi_values=pd.DataFrame(
            {
                "member_id": [1] * len(example.kpi_values),
                "window": [window.key] * len(example.kpi_values),
                "kpi": list(example.kpi_values),
                "value": list(example.kpi_values.values()),
            }
        ),
        objectives=pd.DataFrame(
            {**one, "weight": [Decimal("1")], "score": [example.mbo_score]}
            if example.mbo_score is not None
            else {"member_id": [], "window": [], "weight": [], "score": []}
        ),
    )


def golden_run(plan: PlanDocument) -> list[GoldenResult]:
    """Run every example of ``plan``; one result per example, in order."""
    results = []
    for example in plan.examples:  # the document's few examples
        lines = compute_period(plan, _inputs(plan, example)).lines
        per_component = lines.groupby("component")["amount"].sum()
        actual = {str(k): v for k, v in per_component.items()}
        actual["total"] = sum(lines["amount"], Decimal("0.00"))
        results.append(GoldenResult(example.name, dict(example.expected), actual))
    return results
