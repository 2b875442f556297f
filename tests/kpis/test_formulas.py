"""Custom KPI formulas: the safe parser (an ``ast`` whitelist compiled to SQL,
never ``eval``), its refusals with the exact message, and custom KPI values
computed by the engine."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from goals import services as goal_services
from kpis import services
from kpis.formula import FormulaError, compile_sql, validate
from kpis.models import CustomKpi
from pipeline.models import ActivityKind
from spm.tenancy.context import tenant_context
from tests.conftest import client_for
from tests.kpis.factories import lost_deal, period, recompute, value, won_deal
from tests.pipeline.factories import AccountFactory, ActivityFactory

D = dt.date
ALLOWED = "use measures, numbers, + - * /, parentheses, min(), max() and abs()."
KNOWN = (
    "activities, activities_call, activities_demo, activities_email, activities_meeting, "
    "attainment, average_deal_size, bookings, deals_lost, deals_won, lead_conversion, "
    "leads_action, leads_awareness, leads_decision, leads_interest, open_deals, open_pipeline, "
    "pipeline_coverage, quota, retention_rate, sales_cycle_length, sales_velocity, "
    "weighted_pipeline, win_rate"
)


def _message(formula: str) -> str:
    with pytest.raises(FormulaError) as exc:
        validate(formula)
    return exc.value.message_dict["formula"][0]


@pytest.mark.parametrize(
    ("formula", "sql", "params", "measures"),
    [
        (
            "bookings / activities",
            "(m.bookings / NULLIF(m.activities, 0))",
            (),
            {"bookings", "activities"},
        ),
        # * binds tighter than +, parentheses override it
        (
            "bookings + deals_won * 2",
            "(m.bookings + (m.deals_won * %s::numeric))",
            (2,),
            {"bookings", "deals_won"},
        ),
        (
            "(bookings + deals_won) * 2",
            "((m.bookings + m.deals_won) * %s::numeric)",
            (2,),
            {"bookings", "deals_won"},
        ),
        (
            "bookings - quota - 1",
            "((m.bookings - m.quota) - %s::numeric)",
            (1,),
            {"bookings", "quota"},
        ),
        (
            "bookings / deals_won / 2",
            "((m.bookings / NULLIF(m.deals_won, 0)) / NULLIF(%s::numeric, 0))",
            (2,),
            {"bookings", "deals_won"},
        ),
        ("-bookings + 0.5", "((-m.bookings) + %s::numeric)", (Decimal("0.5"),), {"bookings"}),
        # min / max empty the result when an argument has no value (LEAST / GREATEST would skip it)
        (
            "max(0, quota - bookings)",
            "CASE WHEN num_nulls(%s::numeric, (m.quota - m.bookings)) > 0 THEN NULL "
            "ELSE GREATEST(%s::numeric, (m.quota - m.bookings)) END",
            (0, 0),
            {"quota", "bookings"},
        ),
        (
            "abs(min(win_rate, 1, attainment))",
            "ABS(CASE WHEN num_nulls(m.win_rate, %s::numeric, m.attainment) > 0 THEN NULL "
            "ELSE LEAST(m.win_rate, %s::numeric, m.attainment) END)",
            (1, 1),
            {"win_rate", "attainment"},
        ),
    ],
)
def test_valid_formulas_compile_to_sql_with_parameters(formula, sql, params, measures):
    compiled = compile_sql(formula)

    assert compiled.sql == sql
    assert compiled.params == tuple(Decimal(p) for p in params)
    assert compiled.measures == frozenset(measures)


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("revenue / activities", f"'revenue' is not a measure. Known measures: {KNOWN}."),
        ("open(bookings)", "Only the functions min(), max() and abs() may be called."),
        ('__import__("os")', "Only the functions min(), max() and abs() may be called."),
        ("__import__", f"'__import__' is not a measure. Known measures: {KNOWN}."),
        (
            "bookings.real",
            f"Attribute access (a dot after a name) is not allowed in a formula; {ALLOWED}",
        ),
        (
            "abs.__class__",
            f"Attribute access (a dot after a name) is not allowed in a formula; {ALLOWED}",
        ),
        ("(lambda: bookings)()", "Only the functions min(), max() and abs() may be called."),
        ("lambda: bookings", f"A lambda is not allowed in a formula; {ALLOWED}"),
        ('"bookings"', "'bookings' is not a number; only numbers and measures are allowed."),
        ("bookings + 'x'", "'x' is not a number; only numbers and measures are allowed."),
        ("True * bookings", "True is not a number; only numbers and measures are allowed."),
        ("bookings[0]", f"Indexing with [ ] is not allowed in a formula; {ALLOWED}"),
        (
            "bookings if win_rate else quota",
            f"An if / else expression is not allowed in a formula; {ALLOWED}",
        ),
        ("bookings > quota", f"A comparison is not allowed in a formula; {ALLOWED}"),
        ("bookings ** 2", "The operator '**' is not allowed; use + - * /."),
        ("bookings // 2", "The operator '//' is not allowed; use + - * /."),
        ("~bookings", "Only a leading minus or plus is allowed before a value."),
        ("(bookings", "Syntax error at character 1: '(' was never closed."),
        ("", "Enter a formula, e.g. bookings / activities."),
        ("10 / 2", "A formula must use at least one measure, e.g. bookings / activities."),
        ("max(bookings)", "max() needs at least two values."),
        ("abs(bookings, quota)", "abs() takes exactly one value."),
        ("min(bookings, quota, key=1)", "min() takes no named arguments."),
        ("max + bookings", "max is a function; call it with values, e.g. max(a, b)."),
        ("bookings + " * 46 + "1", "A formula has at most 500 characters."),
        ("bookings" + "+1" * 40, "The formula is too long (more than 100 parts)."),
    ],
)
def test_refusals_name_the_problem(formula, message):
    assert _message(formula) == message


# Custom KPIs through the engine ------------------------------------------------------


@time_machine.travel(dt.datetime(2027, 3, 31, 18, 0, tzinfo=dt.UTC), tick=False)
@pytest.mark.django_db
def test_custom_kpis_are_computed_by_the_engine(world_a, in_tenant_a):
    """Q1 2027. rep1: quota 90,000; won 20,000 and 30,000, lost 25,000; 4
    activities. rep2: no quota, won 12,000, no activity. other_rep: nothing.

    per_activity = bookings / activities: rep1 50,000 / 4 = 12,500; rep2
    divides by 0: no value; West 62,000 / 4 = 15,500; company the same.
    gap = max(0, quota - bookings): rep1 40,000; rep2 has no quota: no value
    (not 0: max() does not skip a missing value). floor_per_activity =
    max(1000, bookings / activities): rep1 12,500; rep2's division by zero
    empties it.
    my_win_rate = deals_won / (deals_won + deals_lost): rep1 2 / 3, equal to
    the built-in win rate; other_rep 0 / 0: no value."""
    t, w = world_a.tenant, world_a
    q1 = period(t, "quarter")
    goal_services.quota_set(
        t, actor=w.admin, period=q1, membership=w.rep1, amount=Decimal("90000.00")
    )
    won_deal(t, w.rep1, "20000.00", D(2027, 1, 5), D(2027, 2, 4))
    won_deal(t, w.rep1, "30000.00", D(2027, 1, 10), D(2027, 3, 1))
    lost_deal(t, w.rep1, "25000.00", D(2027, 2, 1), D(2027, 3, 15))
    won_deal(t, w.rep2, "12000.00", D(2027, 2, 10), D(2027, 3, 2))
    account = AccountFactory(tenant=t)
    for day in (D(2027, 1, 4), D(2027, 2, 4), D(2027, 3, 4), D(2027, 3, 30)):
        ActivityFactory(
            tenant=t, member=w.rep1, kind=ActivityKind.CALL, occurred_on=day, account=account
        )
    for key, formula in [
        ("per_activity", "bookings / activities"),
        ("gap", "max(0, quota - bookings)"),
        ("floor_per_activity", "max(1000, bookings / activities)"),
        ("my_win_rate", "deals_won / (deals_won + deals_lost)"),
    ]:
        services.custom_kpi_save(t, actor=w.admin, key=key, name=key, formula=formula)

    recompute(t, q1)

    assert value(t, q1, "member", w.rep1.pk, "custom:per_activity") == Decimal("12500.0000000000")
    assert value(t, q1, "member", w.rep2.pk, "custom:per_activity") is None
    assert value(t, q1, "team", w.team.pk, "custom:per_activity") == Decimal("15500.0000000000")
    assert value(t, q1, "tenant", 0, "custom:per_activity") == Decimal("15500.0000000000")
    assert value(t, q1, "member", w.rep1.pk, "custom:gap") == Decimal("40000.0000000000")
    assert value(t, q1, "member", w.rep2.pk, "custom:gap") is None
    assert value(t, q1, "member", w.rep1.pk, "custom:floor_per_activity") == Decimal(
        "12500.0000000000"
    )
    assert value(t, q1, "member", w.rep2.pk, "custom:floor_per_activity") is None
    assert value(t, q1, "member", w.rep1.pk, "custom:my_win_rate") == Decimal("0.6666666667")
    assert value(t, q1, "member", w.rep1.pk, "win_rate") == Decimal("0.6666666667")
    assert value(t, q1, "member", w.other_rep.pk, "custom:my_win_rate") is None


@pytest.mark.django_db
def test_settings_page_refuses_a_bad_formula_beside_the_field(world_a):
    w = world_a
    response = client_for(w.admin.user).post(
        f"/{w.tenant.slug}/kpis/settings/",
        {"form": "custom", "key": "per_call", "name": "Per call", "unit": "number",
         "direction": "higher", "formula": "bookings / calls"},
    )  # fmt: skip

    assert response.status_code == 400
    form = response.context["custom_form"]
    assert form.errors == {"formula": [f"'calls' is not a measure. Known measures: {KNOWN}."]}
    with tenant_context(w.tenant):
        assert CustomKpi.objects.filter(tenant=w.tenant).count() == 0


@pytest.mark.django_db
def test_settings_page_saves_a_custom_kpi(world_a):
    w = world_a
    response = client_for(w.admin.user).post(
        f"/{w.tenant.slug}/kpis/settings/",
        {"form": "custom", "key": "per_activity", "name": "Bookings per activity",
         "unit": "money", "direction": "higher", "formula": " bookings / activities "},
    )  # fmt: skip

    assert response.status_code == 302
    with tenant_context(w.tenant):
        saved = list(
            CustomKpi.objects.filter(tenant=w.tenant).values_list("key", "formula", "unit")
        )
    assert saved == [("per_activity", "bookings / activities", "money")]
