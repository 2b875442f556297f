"""Per-tenant KPI settings: which KPIs show, direction, target and
red/amber/green thresholds per role or team (the most specific wins), their
effect on the manager's KPI table, and the settings page's add and edit forms
(admins only, errors beside the fields, htmx row editing)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine

from goals import services as goal_services
from kpis import selectors, services
from kpis.models import KpiSetting
from spm.models import AuditEvent, FiscalPeriod, Role
from spm.tenancy.context import tenant_context
from tests.conftest import client_for
from tests.kpis.factories import lost_deal, period, recompute, won_deal

D = dt.date
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _end_of_q1():
    with time_machine.travel(dt.datetime(2027, 3, 31, 18, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def computed(world_a, in_tenant_a):
    """Q1 2027. rep1, quota 90,000: won 20,000 (30 days) and 30,000 (50
    days), lost 25,000 -> attainment 55.56%, win rate 66.67%, cycle 40 days.
    rep2 (starts Feb 10), quota 10,000 for Q1 prorated 50/90 -> 5,555.56:
    won 12,000 (created Feb 10, won Mar 2, 20 days) -> attainment 216.00%,
    win rate 100%, cycle 20 days.
    West: bookings 62,000, quota 95,555.56 -> 64.88%; cycle (30 + 50 + 20) /
    3 = 33.33 days."""
    t, w = world_a.tenant, world_a
    q1 = period(t, "quarter")
    goal_services.quota_set(
        t, actor=w.admin, period=q1, membership=w.rep1, amount=Decimal("90000.00")
    )
    goal_services.quota_set(
        t, actor=w.admin, period=q1, membership=w.rep2, amount=Decimal("10000.00")
    )
    won_deal(t, w.rep1, "20000.00", D(2027, 1, 5), D(2027, 2, 4))
    won_deal(t, w.rep1, "30000.00", D(2027, 1, 10), D(2027, 3, 1))
    lost_deal(t, w.rep1, "25000.00", D(2027, 2, 1), D(2027, 3, 15))
    won_deal(t, w.rep2, "12000.00", D(2027, 2, 10), D(2027, 3, 2))
    recompute(t, *FiscalPeriod.objects.filter(tenant=t, fiscal_year=2027))
    return w


def _settings_url(w, suffix=""):
    return f"/{w.tenant.slug}/kpis/settings/{suffix}"


def _save(w, kpi, **fields):
    return services.kpi_setting_save(w.tenant, actor=w.admin, kpi=kpi, **fields)


def _table(body: str, testid: str) -> tuple[list[str], dict[str, list[tuple[str, str]]]]:
    """A KPI table: its header labels and, per row name, (RAG class, text) cells."""
    table = re.search(rf'<table[^>]*data-testid="{testid}".*?</table>', body, re.S).group(0)
    heads = [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<th[^>]*>(.*?)</th>", table)]
    rows = {}
    for tr in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], re.S):
        name = re.search(r"<a [^>]*>([^<]+)</a>", tr).group(1)
        cells = re.findall(r'<td class="num rag ?(?:rag-(\w+))?">([^<]*)</td>', tr)
        rows[name] = cells
    return heads[1:], rows


def test_most_specific_setting_wins_team_then_role_then_everyone(world_a, in_tenant_a):
    w = world_a
    _save(w, "attainment", green_from=Decimal("1"), amber_from=Decimal("0.8"))
    _save(w, "attainment", role=Role.REP, green_from=Decimal("0.9"), amber_from=Decimal("0.7"))
    _save(w, "attainment", team=w.team, green_from=Decimal("0.5"), amber_from=Decimal("0.4"))
    _save(w, "win_rate", role=Role.MANAGER, is_shown=False)

    everyone = selectors.settings_for(w.tenant)
    reps = selectors.settings_for(w.tenant, role=Role.REP)
    west_reps = selectors.settings_for(w.tenant, role=Role.REP, team_id=w.team.pk)
    managers = selectors.settings_for(w.tenant, role=Role.MANAGER, team_id=w.other_team.pk)

    assert (everyone["attainment"].green_from, everyone["attainment"].amber_from) == (
        1,
        Decimal("0.8"),
    )
    assert (reps["attainment"].green_from, reps["attainment"].amber_from) == (
        Decimal("0.9"),
        Decimal("0.7"),
    )
    assert (west_reps["attainment"].green_from, west_reps["attainment"].amber_from) == (
        Decimal("0.5"),
        Decimal("0.4"),
    )
    assert set(everyone) == {"attainment"}
    assert managers["win_rate"].is_shown is False
    assert managers["attainment"].green_from == 1


@pytest.mark.parametrize(
    ("direction", "value", "expected"),
    [
        ("higher", Decimal("1.2"), "green"),
        ("higher", Decimal("1.0"), "green"),  # at the threshold
        ("higher", Decimal("0.8"), "amber"),
        ("higher", Decimal("0.7999"), "red"),
        ("lower", Decimal("30"), "green"),
        ("lower", Decimal("35"), "amber"),
        ("lower", Decimal("45.01"), "red"),
        ("higher", None, ""),
    ],
)
def test_rag_thresholds_by_direction(direction, value, expected):
    green, amber = (Decimal("1.0"), Decimal("0.8")) if direction == "higher" else (30, 45)
    setting = selectors.Setting(
        kpi="x", direction=direction, green_from=Decimal(green), amber_from=Decimal(amber)
    )
    assert selectors.rag(value, setting) == expected


def test_manager_table_shows_chosen_kpis_in_order_with_rag(computed):
    """Attainment green from 100%, amber from 50% (entered as fractions: 1,
    0.5); sales cycle lower is better, green at or below 35 days, amber at or
    below 45; win rate hidden. rep1 55.56% amber, 40.0 days amber; rep2
    216.00% green, 20.0 days green; West 64.88% amber, 33.3 days green."""
    w = computed
    _save(w, "sales_cycle_length", direction="lower", green_from=Decimal("35"),
          amber_from=Decimal("45"), position=2)  # fmt: skip
    _save(w, "attainment", green_from=Decimal("1"), amber_from=Decimal("0.5"), position=1)
    _save(w, "win_rate", is_shown=False)
    q1 = period(w.tenant, "quarter")

    response = client_for(w.manager.user).get(
        f"/{w.tenant.slug}/kpis/teams/{w.team.pk}/?period={q1.pk}"
    )

    heads, rows = _table(response.content.decode(), "subtree-table")
    assert heads == ["Attainment", "Sales cycle"]
    assert rows["West"] == [("amber", "64.88%"), ("green", "33.3 days")]
    assert rows["Ray One"] == [("amber", "55.56%"), ("amber", "40.0 days")]
    assert rows["Rita Two"] == [("green", "216.00%"), ("green", "20.0 days")]
    assert list(rows) == ["West", "Ray One", "Rita Two"]


def test_a_team_setting_overrides_the_tenant_one_on_that_teams_dashboard(computed):
    """Tenant-wide attainment green from 100%, amber from 60%: rep1 (55.56%)
    is red. West's own setting (green from 50%) makes rep1 green on West's
    dashboard; the root team's dashboard still uses the tenant-wide one."""
    w = computed
    _save(w, "attainment", green_from=Decimal("1"), amber_from=Decimal("0.6"))
    _save(w, "attainment", team=w.team, green_from=Decimal("0.5"), amber_from=Decimal("0.4"))
    q1 = period(w.tenant, "quarter")
    client = client_for(w.manager.user)

    west = client.get(f"/{w.tenant.slug}/kpis/teams/{w.team.pk}/?period={q1.pk}")
    root = client.get(f"/{w.tenant.slug}/kpis/teams/{w.root_team.pk}/?period={q1.pk}")

    assert _table(west.content.decode(), "subtree-table")[1]["Ray One"] == [("green", "55.56%")]
    assert _table(root.content.decode(), "subtree-table")[1]["Ray One"] == [("red", "55.56%")]


def test_a_role_setting_colours_the_reps_own_dashboard(computed):
    w = computed
    _save(w, "attainment", green_from=Decimal("0.5"), amber_from=Decimal("0.3"))
    _save(w, "attainment", role=Role.REP, green_from=Decimal("0.9"), amber_from=Decimal("0.6"))
    q1 = period(w.tenant, "quarter")

    body = client_for(w.rep1.user).get(f"/{w.tenant.slug}/kpis/reps/{w.rep1.pk}/?period={q1.pk}")

    assert '<td class="num rag rag-red">55.56%</td>' in body.content.decode()


# The settings page -------------------------------------------------------------------


def test_admin_adds_a_percent_setting_entered_in_percent(world_a):
    w = world_a
    response = client_for(w.admin.user).post(
        _settings_url(w),
        {"form": "setting", "kpi": "attainment", "role": "", "team": "", "is_shown": "on",
         "direction": "higher", "target": "100", "green_from": "95", "amber_from": "75",
         "position": "1"},
    )  # fmt: skip

    assert response.status_code == 302
    with tenant_context(w.tenant):
        s = KpiSetting.objects.get(tenant=w.tenant, kpi="attainment")
    assert (s.target, s.green_from, s.amber_from, s.position) == (
        Decimal("1.0000000000"),
        Decimal("0.9500000000"),
        Decimal("0.7500000000"),
        1,
    )
    page = client_for(w.admin.user).get(_settings_url(w)).content.decode()
    assert '<td class="num">100%</td><td class="num">95%</td><td class="num">75%</td>' in page


def _attainment_setting(w):
    with tenant_context(w.tenant):
        return _save(
            w, "attainment", team=w.team, target=Decimal("1"), green_from=Decimal("0.95"),
            amber_from=Decimal("0.75"), position=3,
        )  # fmt: skip


def test_admin_opens_the_edit_form_with_percent_values(world_a):
    w = world_a
    s = _attainment_setting(w)

    response = client_for(w.admin.user).get(_settings_url(w, f"{s.pk}/edit/"))

    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="setting-edit-form"' in body
    assert 'name="green_from" value="95"' in body
    assert 'name="amber_from" value="75"' in body
    assert 'name="target" value="100"' in body
    assert "Attainment · Every role · West" in body


def test_admin_edits_a_setting_and_keeps_its_scope(world_a):
    w = world_a
    s = _attainment_setting(w)

    response = client_for(w.admin.user).post(
        _settings_url(w, f"{s.pk}/edit/"),
        {"direction": "higher", "target": "110", "green_from": "100", "amber_from": "80",
         "position": "2"},
    )  # fmt: skip

    assert response.status_code == 302
    assert response.url == _settings_url(w)
    with tenant_context(w.tenant):
        rows = list(
            KpiSetting.objects.filter(tenant=w.tenant).values_list(
                "pk", "kpi", "role", "team", "is_shown", "target", "green_from", "amber_from",
                "position",
            )
        )  # fmt: skip
        audit = AuditEvent.objects.filter(tenant=w.tenant, action="kpi_setting.save").count()
    assert rows == [
        (s.pk, "attainment", "", w.team.pk, False, Decimal("1.1"), Decimal("1"), Decimal("0.8"), 2)
    ]
    assert audit == 2


def test_edit_errors_show_beside_the_field_and_change_nothing(world_a):
    w = world_a
    s = _attainment_setting(w)

    response = client_for(w.admin.user).post(
        _settings_url(w, f"{s.pk}/edit/"),
        {"is_shown": "on", "direction": "higher", "green_from": "50", "amber_from": "80",
         "position": "-1"},
    )  # fmt: skip

    body = response.content.decode()
    assert response.status_code == 400
    assert (
        '<span class="field-error" id="id_position-error" data-testid="error-position">'
        "Ensure this value is greater than or equal to 0.</span>"
    ) in body
    fixed = client_for(w.admin.user).post(
        _settings_url(w, f"{s.pk}/edit/"),
        {"is_shown": "on", "direction": "higher", "green_from": "50", "amber_from": "80"},
    )
    assert fixed.status_code == 400
    assert (
        'data-testid="error-green_from">'
        "With this direction, green must start at least where amber starts.</span>"
    ) in fixed.content.decode()
    with tenant_context(w.tenant):
        s.refresh_from_db()
    assert (s.green_from, s.amber_from, s.position) == (Decimal("0.95"), Decimal("0.75"), 3)


def test_htmx_turns_the_row_into_the_form_and_back(world_a):
    w = world_a
    s = _attainment_setting(w)
    client = client_for(w.admin.user)
    htmx = {"HTTP_HX_REQUEST": "true"}

    form_row = client.get(_settings_url(w, f"{s.pk}/edit/"), **htmx).content.decode()
    invalid = client.post(
        _settings_url(w, f"{s.pk}/edit/"),
        {"direction": "higher", "green_from": "50", "amber_from": "80"},
        **htmx,
    )
    saved = client.post(
        _settings_url(w, f"{s.pk}/edit/"),
        {"is_shown": "on", "direction": "higher", "green_from": "90", "amber_from": "70"},
        **htmx,
    )
    cancel = client.get(_settings_url(w, f"{s.pk}/edit/?cancel=1"), **htmx).content.decode()

    assert form_row.startswith(f'<tr id="setting-{s.pk}" data-testid="setting-edit-row"')
    assert "<html" not in form_row
    assert invalid.status_code == 200
    assert 'data-testid="error-green_from"' in invalid.content.decode()
    body = saved.content.decode()
    assert body.startswith(f'<tr id="setting-{s.pk}" data-testid="setting-row" class="just-saved">')
    assert '<td class="num">—</td><td class="num">90%</td><td class="num">70%</td>' in body
    assert cancel.startswith(f'<tr id="setting-{s.pk}" data-testid="setting-row">')


@pytest.mark.parametrize("role", ["rep1", "manager", "finance"])
def test_only_admins_edit_settings(world_a, role):
    w = world_a
    s = _attainment_setting(w)
    client = client_for(getattr(w, role).user)

    got = client.get(_settings_url(w, f"{s.pk}/edit/"))
    posted = client.post(
        _settings_url(w, f"{s.pk}/edit/"),
        {"is_shown": "on", "direction": "higher", "green_from": "10", "amber_from": "5"},
    )

    assert (got.status_code, posted.status_code) == (403, 403)
    with tenant_context(w.tenant):
        s.refresh_from_db()
    assert (s.green_from, s.amber_from) == (Decimal("0.95"), Decimal("0.75"))


def test_another_tenants_setting_is_404(world_a, world_b):
    with tenant_context(world_b.tenant):
        theirs = services.kpi_setting_save(
            world_b.tenant, actor=world_b.admin, kpi="bookings", green_from=Decimal("5")
        )
    client = client_for(world_a.admin.user)

    got = client.get(_settings_url(world_a, f"{theirs.pk}/edit/"))
    posted = client.post(
        _settings_url(world_a, f"{theirs.pk}/edit/"), {"direction": "higher", "green_from": "1"}
    )

    assert (got.status_code, posted.status_code) == (404, 404)
    with tenant_context(world_b.tenant):
        theirs.refresh_from_db()
    assert theirs.green_from == Decimal("5")
