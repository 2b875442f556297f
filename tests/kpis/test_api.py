"""Report endpoints: values, series, leaderboard, scorecard; JSON and CSV;
scoping and the other tenant's ids; pinned query counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from goals import services as goal_services
from kpis import selectors
from kpis.models import KpiValue
from kpis.services import kpi_setting_save
from spm.models import FiscalPeriod
from spm.tenancy.context import tenant_context
from tests.conftest import api_client_for
from tests.kpis.factories import lost_deal, period, recompute, won_deal

D = dt.date
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _end_of_q1():
    with time_machine.travel(dt.datetime(2027, 3, 31, 18, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def computed(world_a, in_tenant_a):
    t, w = world_a.tenant, world_a
    q1 = period(t, "quarter")
    goal_services.quota_set(
        t, actor=w.admin, period=q1, membership=w.rep1, amount=Decimal("90000.00")
    )
    won_deal(t, w.rep1, "20000.00", D(2027, 1, 5), D(2027, 2, 4))
    won_deal(t, w.rep1, "30000.00", D(2027, 1, 10), D(2027, 3, 1))
    lost_deal(t, w.rep1, "25000.00", D(2027, 2, 1), D(2027, 3, 15))
    won_deal(t, w.other_rep, "70000.00", D(2027, 1, 5), D(2027, 2, 14))
    recompute(t, *FiscalPeriod.objects.filter(tenant=t, fiscal_year=2027))
    return w


def _api(w, path):
    return f"/api/v1/{w.tenant.slug}/{path}"


def test_rep_reads_own_values_only(computed, django_assert_max_num_queries):
    w = computed
    q1 = period(w.tenant, "quarter")
    client = api_client_for(w.rep1.user)
    with django_assert_max_num_queries(10):
        response = client.get(_api(w, f"kpi-values/?period={q1.pk}&kpi=bookings"))
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["subject_kind"], r["subject_id"], r["value"]) for r in rows] == [
        ("member", w.rep1.pk, "50000.00")
    ]
    other = KpiValue.objects.get(
        tenant=w.tenant, period=q1, subject_kind="member", subject_id=w.other_rep.pk, kpi="bookings"
    )
    assert client.get(_api(w, f"kpi-values/{other.pk}/")).status_code == 404


def test_values_as_csv(computed):
    w = computed
    q1 = period(w.tenant, "quarter")
    response = api_client_for(w.admin.user).get(
        _api(w, f"kpi-values/?period={q1.pk}&kpi=attainment&subject_kind=member&format=csv")
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = b"".join(response.streaming_content).decode().strip().splitlines()
    assert (
        lines[0]
        == "id,period,period_label,period_kind,subject_kind,subject_id,kpi,value,computed_at"
    )
    assert any(f",member,{w.rep1.pk},attainment,0.5555555556," in line for line in lines)


def test_series_scorecard_and_leaderboard(computed, django_assert_max_num_queries):
    w = computed
    q1 = period(w.tenant, "quarter")
    client = api_client_for(w.rep1.user)
    with django_assert_max_num_queries(12):
        series = client.get(_api(w, "kpi-reports/series/?period_kind=quarter&fiscal_year=2027"))
    assert series.json()["rows"][0] == {
        "period": q1.pk,
        "period_label": "FY2027 Q1",
        "bookings": "50000.00",
        "quota": "90000.00",
        "attainment": "0.5555555556",
    }
    card = client.get(_api(w, f"kpi-reports/scorecard/?period={q1.pk}")).json()
    win = next(r for r in card["rows"] if r["kpi"] == "win_rate")
    assert win["value"] == "0.6666666667"
    board = client.get(_api(w, f"kpi-reports/leaderboard/?period={q1.pk}&kpi=bookings&format=csv"))
    lines = b"".join(board.streaming_content).decode().strip().splitlines()
    assert lines[0] == "rank,member,name,team,kpi,value"
    assert lines[1].startswith(f"1,{w.other_rep.pk},Otto Three,East,bookings,70000.00")


def test_scope_and_other_tenant(computed, world_b):
    w = computed
    q1 = period(w.tenant, "quarter")
    rep = api_client_for(w.rep1.user)
    assert (
        rep.get(
            _api(
                w,
                f"kpi-reports/scorecard/?subject_kind=member&subject_id={w.rep2.pk}&period={q1.pk}",
            )
        ).status_code
        == 404
    )
    assert (
        rep.get(_api(w, "kpi-reports/series/?subject_kind=tenant&subject_id=0")).status_code == 404
    )
    outsider_manager = api_client_for(w.other_manager.user)
    assert (
        outsider_manager.get(
            _api(w, f"kpi-reports/series/?subject_kind=team&subject_id={w.team.pk}")
        ).status_code
        == 404
    )
    assert api_client_for(world_b.admin.user).get(_api(w, "kpi-values/")).status_code == 404
    with tenant_context(world_b.tenant):
        b_q1 = period(world_b.tenant, "quarter").pk
    with_b_period = api_client_for(w.admin.user).get(
        _api(w, f"kpi-reports/leaderboard/?period={b_q1}")
    )
    assert with_b_period.status_code == 404


def test_scorecard_is_the_dashboards_kpi_table_judged_by_the_subjects_settings(computed):
    """Reps' win rate turns green from 60%, admins' from 70%. rep1's win rate
    is 2 won of 3 closed (66.67%): green on their scorecard whoever reads it,
    and the API rows are the rows of rep1's dashboard table."""
    w = computed
    t = w.tenant
    q1 = period(t, "quarter")
    kpi_setting_save(
        t,
        actor=w.admin,
        kpi="win_rate",
        role="rep",
        target=Decimal("0.65"),
        green_from=Decimal("0.6"),
        amber_from=Decimal("0.4"),
    )
    kpi_setting_save(t, actor=w.admin, kpi="win_rate", role="admin", green_from=Decimal("0.7"))
    path = f"kpi-reports/scorecard/?subject_kind=member&subject_id={w.rep1.pk}&period={q1.pk}"

    card = api_client_for(w.admin.user).get(_api(w, path)).json()

    assert [r for r in card["rows"] if r["kpi"] == "win_rate"] == [
        {
            "kpi": "win_rate",
            "label": "Win rate",
            "unit": "ratio",
            "value": "0.6666666667",
            "target": "0.6500000000",
            "rag": "green",
        }
    ]
    page = selectors.rep_dashboard(t, member=w.rep1, period=q1, periods=[q1]).scorecard
    assert [(r["kpi"], r["rag"]) for r in card["rows"]] == [
        (row.kpi.key, row.cell.rag) for row in page
    ]
