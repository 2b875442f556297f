"""The KPI SQL binds choice values from the models (kpis.sql.CHOICES): a
statement that spells out a status, role, kind or level fails here, so a
renamed choice cannot leave a statement behind that silently counts zero."""

from __future__ import annotations

import re

import pytest

from goals.models import GoalLevel, Measure, Metric
from kpis.definitions import BY_KEY
from kpis.engine import base, facts, values
from kpis.models import SubjectKind
from kpis.selectors import boards
from kpis.services import goal_progress, queue, recompute
from kpis.sql import CHOICES
from pipeline.models import ActivityKind, DealStatus
from spm.models import PeriodKind
from spm.roles import Role

MODULES = [base, facts, values, boards, goal_progress, queue, recompute]
ENUMS = [DealStatus, Role, SubjectKind, PeriodKind, ActivityKind, GoalLevel, Measure, Metric]
# KPI keys are names the engine writes, not choices of a model (a goal's
# metric is the KPI key itself).
CHOICE_VALUES = {v for enum in ENUMS for v in enum.values} - set(BY_KEY)


def _statements() -> list[tuple[str, str]]:
    return [
        (f"{module.__name__}.{name}", text)
        for module in MODULES
        for name, text in vars(module).items()
        if name.endswith("_SQL") and isinstance(text, str)
    ]


def test_the_statements_are_found():
    names = {name for name, _ in _statements()}
    assert {"kpis.engine.base.SETUP_SQL", "kpis.selectors.boards.BOARD_SQL"} <= names
    assert len(names) >= 20


@pytest.mark.parametrize(("name", "sql"), _statements())
def test_no_statement_spells_out_a_choice_value(name, sql):
    # (PostgreSQL's own words, like date_trunc's 'month', are not choices.)
    text = re.sub(r"date_trunc\('[a-z]+'", "date_trunc(", sql)
    spelled = sorted(set(re.findall(r"'([a-z_]+)'", text)) & CHOICE_VALUES)

    assert spelled == [], f"{name} spells out {spelled}: bind them from kpis.sql.CHOICES"


def test_the_bound_values_are_the_models_choices():
    assert CHOICES["status_won"] == DealStatus.WON
    assert CHOICES["role_rep"] == Role.REP
    assert CHOICES["kind_tenant"] == SubjectKind.TENANT
    assert [k for k, v in CHOICES.items() if not any(v in e.values for e in ENUMS)] == []
