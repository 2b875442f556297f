"""Report and filter parameters: a malformed one is a 400 naming it; an id of
another tenant answers exactly as an id that does not exist."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from spm.models import FiscalPeriod
from spm.tenancy.context import tenant_context
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db

NO_SUCH_ID = 2**62


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(dt.datetime(2027, 2, 15, 12, tzinfo=dt.UTC), tick=False):
        yield


def _quarter(world) -> FiscalPeriod:
    with tenant_context(world.tenant):
        return FiscalPeriod.objects.get(tenant=world.tenant, kind="quarter", label="FY2027 Q1")


def _problem(response) -> tuple[int, str, dict]:
    return response.status_code, response["Content-Type"], response.json()


def _invalid(field: str, message: str) -> tuple[int, str, dict]:
    return (
        400,
        "application/problem+json",
        {
            "type": "about:blank",
            "title": "Invalid input",
            "status": 400,
            "detail": f"{field}: {message}",
            "errors": [{"field": field, "message": message}],
        },
    )


def _not_found(detail: str) -> tuple[int, str, dict]:
    return (
        404,
        "application/problem+json",
        {"type": "about:blank", "title": "Not Found", "status": 404, "detail": detail},
    )


@pytest.mark.parametrize(
    ("path", "field", "message"),
    [
        ("kpi-reports/leaderboard/?period=abc", "period", "A valid integer is required."),
        (
            "kpi-reports/series/?fiscal_year=-1",
            "fiscal_year",
            "Ensure this value is greater than or equal to 1.",
        ),
        (
            "kpi-reports/series/?period_kind=week",
            "period_kind",
            '"week" is not a valid choice.',
        ),
        (
            "kpi-reports/scorecard/?subject_kind=planet",
            "subject_kind",
            '"planet" is not a valid choice.',
        ),
        ("kpi-reports/scorecard/?subject_id=x", "subject_id", "A valid integer is required."),
        ("kpi-reports/leaderboard/?team=1.5", "team", "A valid integer is required."),
        ("objectives/summary/?period=abc", "period", "A valid integer is required."),
        (
            "objectives/summary/?membership=-3",
            "membership",
            "Ensure this value is greater than or equal to 1.",
        ),
        ("kpi-values/?kpi=%00", "kpi", "Null characters are not allowed."),
        (
            "kpi-values/?kpi=bogus",
            "kpi",
            "'bogus' is not a KPI; use keys such as bookings, attainment.",
        ),
        (
            "kpi-reports/series/?kpi=%00",
            "kpi",
            "'\\x00' is not a KPI; use keys such as bookings, attainment.",
        ),
        (
            "kpi-reports/series/?kpi=bookings,revenue",
            "kpi",
            "'revenue' is not a KPI; use keys such as bookings, attainment.",
        ),
        ("kpi-values/?fiscal_year=2027.5", "fiscal_year", "Enter a whole number."),
        ("deals/?owner=abc", "owner", "Enter a whole number."),
        ("deals/?close_date_after=2025-02-30", "close_date_after", "Enter a valid date."),
        ("goals/?parent=x", "parent", "Enter a whole number."),
        ("stages/?pipeline=x", "pipeline", "Enter a whole number."),
    ],
)  # fmt: skip
def test_a_malformed_parameter_is_a_400_naming_it(world_a, path, field, message):
    response = api_client_for(world_a.admin.user).get(f"/api/v1/alpha/{path}")

    assert _problem(response) == _invalid(field, message)


def test_a_team_report_needs_the_team_id(world_a):
    response = api_client_for(world_a.admin.user).get(
        "/api/v1/alpha/kpi-reports/scorecard/?subject_kind=team"
    )

    assert _problem(response) == _invalid("subject_id", "Give the team's id.")


def test_report_subjects_of_another_tenant_answer_as_ids_that_do_not_exist(world_a, world_b):
    client = api_client_for(world_a.admin.user)
    q1 = _quarter(world_a)
    cases = {
        "scorecard member": (
            f"kpi-reports/scorecard/?period={q1.pk}&subject_id=",
            world_b.rep1.pk,
            "subject_id: there is no such member.",
        ),
        "series team": (
            "kpi-reports/series/?subject_kind=team&subject_id=",
            world_b.team.pk,
            "subject_id: there is no such team.",
        ),
        "scorecard period": (
            f"kpi-reports/scorecard/?subject_id={world_a.rep1.pk}&period=",
            _quarter(world_b).pk,
            "period: there is no such period.",
        ),
        "leaderboard period": (
            "kpi-reports/leaderboard/?period=",
            _quarter(world_b).pk,
            "period: there is no such period.",
        ),
        "leaderboard team": (
            f"kpi-reports/leaderboard/?period={q1.pk}&team=",
            world_b.team.pk,
            "team: there is no such team.",
        ),
        "summary period": (
            "objectives/summary/?period=",
            _quarter(world_b).pk,
            "period: there is no such period.",
        ),
        "summary member": (
            "objectives/summary/?membership=",
            world_b.rep1.pk,
            "membership: there is no such member.",
        ),
    }
    answers = {}
    for name, (path, foreign_id, _detail) in cases.items():
        foreign = client.get(f"/api/v1/alpha/{path}{foreign_id}")
        missing = client.get(f"/api/v1/alpha/{path}{NO_SUCH_ID}")
        assert _problem(foreign) == _problem(missing), name
        answers[name] = _problem(foreign)
    assert answers == {name: _not_found(detail) for name, (_p, _i, detail) in cases.items()}


def test_a_subject_outside_a_reps_reach_answers_as_one_that_does_not_exist(world_a):
    client = api_client_for(world_a.rep1.user)

    outside = client.get(f"/api/v1/alpha/kpi-reports/scorecard/?subject_id={world_a.rep2.pk}")
    missing = client.get(f"/api/v1/alpha/kpi-reports/scorecard/?subject_id={NO_SUCH_ID}")

    assert (
        _problem(outside) == _problem(missing) == _not_found("subject_id: there is no such member.")
    )


@pytest.mark.parametrize(
    ("path", "attr"),
    [
        ("deals/?owner=", "rep1"),
        ("goals/?owner_membership=", "rep1"),
        ("goal-checkins/?goal=", None),
        ("objectives/?membership=", "rep1"),
        ("teams/?parent=", "root_team"),
        ("stages/?pipeline=", None),
        ("quotas/?team=", "team"),
        ("kpi-values/?subject_id=", "rep1"),
    ],
)
def test_list_filters_on_another_tenants_id_match_nothing_like_a_missing_id(
    world_a, world_b, path, attr
):
    client = api_client_for(world_a.admin.user)
    foreign_id = getattr(world_b, attr).pk if attr else world_b.tenant.pk + 10_000

    foreign = client.get(f"/api/v1/alpha/{path}{foreign_id}")
    missing = client.get(f"/api/v1/alpha/{path}{NO_SUCH_ID}")

    assert (foreign.status_code, foreign.json()) == (missing.status_code, missing.json())
    assert (foreign.status_code, foreign.json()["results"]) == (200, [])
