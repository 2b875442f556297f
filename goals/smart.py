"""The SMART check of a goal: each property, and what is missing or weak.

One function used by the goal form, the API serializer and the services, so
a vague goal is refused the same way everywhere, with one message per field
that names the SMART property at fault.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from goals.models import LEVEL_RANK, PERCENT_METRICS, Goal, GoalLevel, Metric

MIN_WORDS = 3
SMART_ORDER = ["Specific", "Measurable", "Achievable", "Relevant", "Time-bound"]


@dataclass
class SmartResult:
    errors: dict[str, str] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)  # field -> SMART property
    target: Decimal | None = None
    baseline: Decimal = Decimal(0)

    def add(self, field_name: str, prop: str, message: str) -> None:
        if field_name not in self.errors:
            self.errors[field_name] = f"{prop}: {message}"
            self.properties[field_name] = prop

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def failing(self) -> list[str]:
        """The SMART properties at fault, in SMART order."""
        found = set(self.properties.values())
        return [p for p in SMART_ORDER if p in found]

    @property
    def summary(self) -> str:
        return (
            "This goal is not SMART yet. Missing or weak: " + ", ".join(self.failing) + "."
            if self.errors
            else ""
        )


def _words(text: str | None) -> int:
    return len([w for w in (text or "").split() if any(ch.isalnum() for ch in w)])


def parse_number(value: Any) -> tuple[Decimal | None, bool]:
    """(number, given): ('' or None) -> (None, False); 'abc' -> (None, True)."""
    if value is None:
        return None, False
    if isinstance(value, Decimal):
        return value, True
    if isinstance(value, int | float):
        return Decimal(str(value)), True
    text = str(value).strip().replace(",", "")
    if not text:
        return None, False
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None, True
    if not number.is_finite():
        return None, True
    return number, True


def smart_check_data(data: dict[str, Any]) -> SmartResult:
    """``smart_check`` of a goal's fields as a form or a service holds them."""
    return smart_check(
        title=data.get("title"),
        metric=data.get("metric"),
        target_value=data.get("target_value"),
        baseline_value=data.get("baseline_value"),
        rationale=data.get("rationale"),
        level=data.get("level", ""),
        parent=data.get("parent"),
        start_date=data.get("start_date"),
        due_date=data.get("due_date"),
    )


def smart_check(
    *,
    title: str | None,
    metric: str | None,
    target_value: Any,
    baseline_value: Any = None,
    rationale: str | None,
    level: str,
    parent: Goal | None,
    start_date: dt.date | None,
    due_date: dt.date | None,
) -> SmartResult:
    """Check each SMART property of a goal and say plainly what is missing or weak.

    Specific: a title of at least three words. Measurable: a metric and a
    numeric target that differs from the baseline. Achievable: a percentage
    target within 0-100%. Relevant: why it matters (three words or more) and,
    below company level, the higher goal it supports, which must sit at a
    higher level. Time-bound: start and due dates, due not before start.
    """
    result = SmartResult()
    title = (title or "").strip()
    if not title:
        result.add("title", "Specific", "say what will be achieved; the goal has no title.")
    elif _words(title) < MIN_WORDS:
        result.add(
            "title",
            "Specific",
            f"'{title}' is too vague; say what will be achieved in at least {MIN_WORDS} words "
            "(for example 'Win 5 new healthcare accounts').",
        )

    if not metric:
        result.add(
            "metric", "Measurable", "choose how progress is measured (a KPI or a manual measure)."
        )
    elif metric not in Metric.values:
        result.add("metric", "Measurable", f"'{metric}' is not a known metric.")
    target, given = parse_number(target_value)
    if not given:
        result.add("target_value", "Measurable", "there is no target; give the value to reach.")
    elif target is None:
        result.add("target_value", "Measurable", f"the target '{target_value}' is not a number.")
    baseline, baseline_given = parse_number(baseline_value)
    if baseline_given and baseline is None:
        result.add(
            "baseline_value",
            "Measurable",
            f"the starting value '{baseline_value}' is not a number.",
        )
    baseline = baseline if baseline is not None else Decimal(0)
    result.baseline = baseline
    result.target = target
    if target is not None and target == baseline:
        result.add(
            "target_value",
            "Measurable",
            "the target equals the starting value, so there is nothing to measure.",
        )
    if target is not None and metric in PERCENT_METRICS and not (0 <= target <= 100):
        result.add("target_value", "Achievable", "a percentage target must lie between 0 and 100.")

    if _words(rationale) < MIN_WORDS:
        result.add(
            "rationale",
            "Relevant",
            "say why this goal matters" + (" in at least three words." if rationale else "."),
        )
    if level != GoalLevel.COMPANY:
        if parent is None:
            result.add(
                "parent",
                "Relevant",
                "choose the higher goal this one supports (goals cascade "
                "company -> team -> member).",
            )
        elif LEVEL_RANK[GoalLevel(parent.level)] >= LEVEL_RANK[GoalLevel(level)]:
            result.add(
                "parent",
                "Relevant",
                f"a {level} goal must support a goal at a higher level, not a {parent.level} goal.",
            )
    elif parent is not None:
        result.add(
            "parent",
            "Relevant",
            "a company goal is the top of the cascade; it supports no other goal.",
        )

    if start_date is None:
        result.add("start_date", "Time-bound", "there is no start date.")
    if due_date is None:
        result.add("due_date", "Time-bound", "there is no due date.")
    if start_date and due_date and due_date < start_date:
        result.add("due_date", "Time-bound", "the due date is before the start date.")
    return result
