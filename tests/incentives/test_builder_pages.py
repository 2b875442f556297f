"""The plan builder, assignments, runs, adjustments and statement review pages,
per role: what each shows, what each saves, and bad input refused beside the
field with nothing saved."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from incentives import services
from incentives.models import Adjustment, Approval, Assignment, CalcRun, Plan, PlanVersion
from spm.models import FiscalPeriod
from spm.tenancy.context import tenant_context
from tests.conftest import client_for
from tests.incentives.trust_helpers import approve_and_publish
from tests.pipeline.factories import DealFactory, stage_named

pytestmark = pytest.mark.django_db
D = Decimal

TIERED = {
    "schema_version": 1,
    "name": "AE tiers",
    "effective_from": "2027-01-01",
    "components": [
        {
            "key": "bookings",
            "label": "Commission on bookings",
            "measure": "credited_bookings",
            "period": "quarter",
            "payout_frequency": "quarter",
            "rate_table": [
                {"from": "0", "to": "50", "rate": "2"},
                {"from": "50", "to": "100", "rate": "8"},
                {"from": "100", "rate": "12"},
            ],
        }
    ],
}


# A first version: 10% of every credited amount, paid quarterly.
FLAT = {
    "key": "bookings",
    "measure": "credited_bookings",
    "period": "quarter",
    "payout_frequency": "quarter",
    "rate_table_on": "amount",
    "rate_table": [{"from": "0", "rate": "10"}],
}


def _component_post(**changes):
    """The component editor's POST for TIERED's component, with ``changes``."""
    data = {
        "key": "bookings",
        "label": "Commission on bookings",
        "measure": "credited_bookings",
        "kpi": "",
        "credit_roles": ["direct", "split"],
        "basis": "quota",
        "target": "",
        "period": "quarter",
        "payout_frequency": "quarter",
        "tiering": "marginal",
        "rate_table_on": "attainment",
        "weight": "",
        "gate": "",
        "cap_per_period": "",
        "cap_per_year": "",
        "spiff_amount": "",
        "spiff_deal_type": "",
        "spiff_product_line": "",
        "spiff_from": "",
        "spiff_to": "",
        "target_bonus": "",
        "band-TOTAL_FORMS": "4",
        "band-INITIAL_FORMS": "0",
        "band-MIN_NUM_FORMS": "0",
        "band-MAX_NUM_FORMS": "1000",
        "band-0-lower": "0",
        "band-0-upper": "50",
        "band-0-rate": "2",
        "band-1-lower": "50",
        "band-1-upper": "100",
        "band-1-rate": "8",
        "band-2-lower": "100",
        "band-2-rate": "12",
        "quota": "100000",
        "target_incentive": "0",
        "deals": "60000\n70000",
    }
    data.update(changes)
    return data


@pytest.fixture
def version(world_a):
    with tenant_context(world_a.tenant):
        return services.plan_version_create(
            world_a.tenant,
            source={**TIERED, "components": [FLAT]},
            actor=world_a.admin,
        )


def test_new_plan_starts_a_draft_with_one_component(in_tenant_a, world_a):
    client = client_for(world_a.admin.user)
    response = client.post(
        "/alpha/incentives/plans/new/", {"name": "SDR plan", "effective_from": "2027-01-01"}
    )
    version = PlanVersion.objects.get(tenant=world_a.tenant, plan__name="SDR plan")
    assert response.status_code == 302
    assert response["Location"] == f"/alpha/incentives/versions/{version.pk}/"
    assert (version.number, version.status) == (1, "draft")
    assert version.document["components"][0]["rate_table"] == [{"from": "0", "rate": "10"}]


def test_component_editor_saves_the_tiers_and_draws_the_curve(in_tenant_a, world_a, version):
    client = client_for(world_a.admin.user)
    url = f"/alpha/incentives/versions/{version.pk}/component/?component=0"
    response = client.post(url, _component_post())
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.document["components"][0]["rate_table"] == TIERED["components"][0]["rate_table"]
    page = client.get(f"/alpha/incentives/versions/{version.pk}/")
    curve = page.context["curves"][0]["figure"]
    points = dict(zip(curve["data"][0]["x"], curve["data"][0]["y"], strict=True))
    # Marginal: 50% pays 50,000 x 2%; 100% adds 50,000 x 8%; 150% adds 50,000 x 12%.
    assert (points[50.0], points[100.0], points[150.0]) == (1000.0, 5000.0, 11000.0)


def test_what_if_previews_the_unsaved_component_through_the_engine(in_tenant_a, world_a, version):
    client = client_for(world_a.admin.user)
    response = client.post(
        f"/alpha/incentives/versions/{version.pk}/what-if/?component=0", _component_post()
    )
    preview = response.context["whatif"]["preview"]
    assert [(line["explanation"], line["amount"]) for line in preview.lines] == [
        ("sample deal 1: 50,000.00 x 2% in band 0-50%", D("1000.00")),
        ("sample deal 1: 10,000.00 x 8% in band 50-100%", D("800.00")),
        ("sample deal 2: 40,000.00 x 8% in band 50-100%", D("3200.00")),
        ("sample deal 2: 30,000.00 x 12% in band 100%+", D("3600.00")),
    ]
    assert preview.total == D("8600.00")
    assert '<td class="num" data-testid="preview-total">$8,600.00</td>' in response.content.decode()
    version.refresh_from_db()
    assert version.document["components"][0]["rate_table"] == [{"from": "0", "rate": "10"}]


@pytest.mark.parametrize(
    ("changes", "where", "message"),
    [
        (
            {"band-1-lower": "40"},
            ("band", 1, "lower"),
            "overlaps the band before (which ends at 50)",
        ),
        ({"band-1-lower": "60"}, ("band", 1, "lower"), "leaves a gap after 50"),
        ({"cap_per_period": "-5"}, ("form", "cap_per_period"), "a cap must not be below zero"),
        (
            {"measure": "kpi", "kpi": "no_such_kpi", "basis": "target", "target": "10"},
            ("form", "kpi"),
            "Select a valid choice. no_such_kpi is not one of the available choices.",
        ),
    ],
)
def test_bad_component_is_refused_beside_its_field_and_nothing_saved(
    in_tenant_a, world_a, version, changes, where, message
):
    client = client_for(world_a.admin.user)
    before = version.document
    response = client.post(
        f"/alpha/incentives/versions/{version.pk}/component/?component=0",
        _component_post(**changes),
    )
    assert response.status_code == 200
    if where[0] == "band":
        errors = response.context["bands"].forms[where[1]].errors[where[2]]
    else:
        errors = response.context["form"].errors[where[1]]
    assert errors == [message]
    assert "Nothing was saved" in response.content.decode()
    version.refresh_from_db()
    assert version.document == before


def test_document_editor_names_the_path_of_an_unknown_kpi(in_tenant_a, world_a, version):
    client = client_for(world_a.admin.user)
    text = (
        "schema_version: 1\nname: AE tiers\neffective_from: 2027-01-01\ncomponents:\n"
        "  - {key: calls, measure: kpi, kpi: nope, basis: target, target: '10',\n"
        "     rate_table: [{from: '0', rate: '1'}]}\n"
    )
    response = client.post(f"/alpha/incentives/versions/{version.pk}/document/", {"text": text})
    assert response.context["form"].non_field_errors() == ["components[0].kpi: unknown KPI 'nope'"]
    version.refresh_from_db()
    assert version.document["components"][0]["key"] == "bookings"


def test_import_export_and_diff_of_two_versions(in_tenant_a, world_a, version):
    client = client_for(world_a.admin.user)
    exported = client.get(f"/alpha/incentives/versions/{version.pk}/export/")
    assert exported["Content-Disposition"] == 'attachment; filename="AE-tiers-v1.yaml"'
    text = exported.content.decode().replace("rate: '10'", "rate: '12'")
    response = client.post("/alpha/incentives/plans/import/", {"text": text})
    second = PlanVersion.objects.get(tenant=world_a.tenant, plan=version.plan, number=2)
    assert response["Location"] == f"/alpha/incentives/versions/{second.pk}/"
    history = client.get(f"/alpha/incentives/plans/{version.plan_id}/")
    changed = [(k, t.strip()) for k, t in history.context["diff"] if k in "+-"]
    assert changed == [
        ("-", "- from: '0'"),
        ("-", "rate: '10'"),
        ("+", "- from: '0'"),
        ("+", "rate: '12'"),
    ] or changed == [("-", "rate: '10'"), ("+", "rate: '12'")]


def test_golden_examples_pass_or_fail_on_save(in_tenant_a, world_a, version):
    client = client_for(world_a.admin.user)
    document = (
        "schema_version: 1\nname: AE tiers\neffective_from: 2027-01-01\ncomponents:\n"
        "  - {key: bookings, measure: credited_bookings, rate_table_on: amount,\n"
        "     rate_table: [{from: '0', rate: '10'}]}\n"
        "examples:\n"
        "  - {name: right, deals: [{amount: '1000.00'}], expected: {total: '100.00'}}\n"
        "  - {name: wrong, deals: [{amount: '1000.00'}], expected: {total: '99.00'}}\n"
    )
    client.post(f"/alpha/incentives/versions/{version.pk}/document/", {"text": document})
    page = client.get(f"/alpha/incentives/versions/{version.pk}/")
    assert [(r["name"], r["passed"]) for r in page.context["version"].golden_results] == [
        ("right", True),
        ("wrong", False),
    ]
    assert "total 100.00 (expected 99.00)" in page.content.decode()


def test_assign_a_member_refuse_an_overlap_and_bulk_assign_a_team(in_tenant_a, world_a, version):
    client = client_for(world_a.admin.user)
    base = {"version": version.pk, "start_date": "2027-01-01", "target_incentive": "12000.00"}
    client.post("/alpha/incentives/assignments/new/", {**base, "membership": world_a.rep1.pk})
    overlap = client.post(
        "/alpha/incentives/assignments/new/",
        {**base, "membership": world_a.rep1.pk, "start_date": "2027-03-01"},
    )
    assert overlap.context["form"].errors["start_date"] == [
        "overlaps the assignment to AE tiers v1 from 2027-01-01 to open"
    ]
    team = client.post("/alpha/incentives/assignments/new/", {**base, "team": world_a.team.pk})
    assert team.context["form"].errors["team"] == [
        "Ray One: overlaps the assignment to AE tiers v1 from 2027-01-01 to open. "
        "Nobody was assigned."
    ]
    client.post("/alpha/incentives/assignments/new/", {**base, "team": world_a.other_team.pk})
    q1 = FiscalPeriod.objects.get(tenant=world_a.tenant, kind="quarter", start=dt.date(2027, 1, 1))
    listing = client.get(f"/alpha/incentives/assignments/?period={q1.pk}")
    assert [a.membership.display_name for a in listing.context["assignments"]] == [
        "Ray One",
        "Otto Three",
    ]
    assert [m.display_name for m in listing.context["without_plan"]] == [
        "Mia Manager",
        "Max Other",
        "Rita Two",
    ]


@pytest.fixture
def q1_run(world_a, version):
    t = world_a.tenant
    with tenant_context(t):
        services.assignment_create(
            t,
            membership=world_a.rep1,
            version=version,
            start_date=dt.date(2027, 1, 1),
            end_date=None,
            target_incentive=D("0.00"),
            actor=world_a.admin,
        )
        DealFactory(
            tenant=t,
            owner=world_a.rep1,
            amount=D("5000.00"),
            stage=stage_named(t, "Closed won"),
            expected_close_date=dt.date(2027, 1, 12),
            close_date=dt.date(2027, 1, 12),
        )
        q1 = FiscalPeriod.objects.get(tenant=t, kind="quarter", start=dt.date(2027, 1, 1))
        run = services.calc_run_start(t, period=q1, actor=world_a.finance)
        return services.calc_run_execute(t, run_id=run.pk)


def test_finance_starts_compares_and_publishes_a_run(in_tenant_a, world_a, q1_run):
    client = client_for(world_a.finance.user)
    q1 = q1_run.period
    started = client.post("/alpha/incentives/runs/", {"period": q1.pk})
    run = CalcRun.objects.filter(tenant=world_a.tenant).order_by("-id").first()
    assert started["Location"] == f"/alpha/incentives/runs/{run.pk}/"
    detail = client.get(f"/alpha/incentives/runs/{q1_run.pk}/")
    comparison = detail.context["comparison"]
    assert [(r.member.display_name, r.total, r.baseline) for r in comparison.rows] == [
        ("Ray One", D("500.00"), None)
    ]
    refused = client.post(f"/alpha/incentives/runs/{q1_run.pk}/publish/", follow=True)
    assert (
        "Publishing needs finance&#x27;s approval: request it on the run&#x27;s page "
        "(or POST approvals/ with this run) and publish once finance approves."
    ) in refused.content.decode()
    asked = client_for(world_a.admin.user).post(
        f"/alpha/incentives/runs/{q1_run.pk}/request-approval/", {"note": "Q1 close"}, follow=True
    )
    assert "Finance is asked to approve publishing FY2027 Q1." in asked.content.decode()
    approval = Approval.objects.get(tenant=world_a.tenant, run=q1_run)
    approved = client.post(
        f"/alpha/incentives/approvals/{approval.pk}/decide/", {"decision": "approve"}, follow=True
    )
    assert "Approved: Publish the statements of FY2027 Q1." in approved.content.decode()
    published = client.post(f"/alpha/incentives/runs/{q1_run.pk}/publish/", follow=True)
    assert "Published: the statements of FY2027 Q1 are final." in published.content.decode()
    q1_run.refresh_from_db()
    assert q1_run.status == "published"
    assert q1_run.published_by == world_a.finance


def test_publishing_after_the_inputs_changed_is_refused_with_a_message(
    in_tenant_a, world_a, q1_run
):
    DealFactory(
        tenant=world_a.tenant,
        owner=world_a.rep1,
        amount=D("1000.00"),
        stage=stage_named(world_a.tenant, "Closed won"),
        expected_close_date=dt.date(2027, 2, 1),
        close_date=dt.date(2027, 2, 1),
    )
    with tenant_context(world_a.tenant):
        services.credits_refresh(
            world_a.tenant, start=dt.date(2027, 1, 1), end=dt.date(2027, 3, 31)
        )
    with tenant_context(world_a.tenant):
        approval = services.approval_request(world_a.tenant, actor=world_a.admin, run=q1_run)
        services.approval_decide(
            world_a.tenant, approval=approval, actor=world_a.finance, approve=True
        )
    client = client_for(world_a.admin.user)
    response = client.post(f"/alpha/incentives/runs/{q1_run.pk}/publish/", follow=True)
    assert (
        "The inputs changed since this preview was computed (deals, quotas, plans or "
        "adjustments); run the period again and publish that preview."
    ) in response.content.decode()
    q1_run.refresh_from_db()
    assert q1_run.status == "preview"


def test_adjustment_needs_a_reason(in_tenant_a, world_a):
    client = client_for(world_a.finance.user)
    jan = FiscalPeriod.objects.get(tenant=world_a.tenant, kind="month", start=dt.date(2027, 1, 1))
    data = {"membership": world_a.rep1.pk, "period": jan.pk, "amount": "150.00", "reason": "  "}
    refused = client.post("/alpha/incentives/adjustments/", data)
    assert refused.context["form"].errors["reason"] == ["This field is required."]
    assert Adjustment.objects.count() == 0
    client.post("/alpha/incentives/adjustments/", {**data, "reason": "Missed split"})
    assert [(a.amount, a.reason) for a in Adjustment.objects.all()] == [
        (D("150.00"), "Missed split")
    ]


def test_finance_reviews_a_periods_statements_with_totals_and_exceptions(
    in_tenant_a, world_a, q1_run
):
    client = client_for(world_a.finance.user)
    response = client.get(f"/alpha/incentives/statements/?period={q1_run.period_id}")
    review = response.context["review"]
    assert [(s.membership.display_name, s.total) for s in review.statements] == [
        ("Ray One", D("500.00"))
    ]
    assert review.totals == [("USD", D("500.00"))]
    assert [m.display_name for m in review.without_plan] == [
        "Mia Manager",
        "Max Other",
        "Otto Three",
        "Rita Two",
    ]
    assert '<dd data-testid="period-total">$500.00</dd>' in response.content.decode()


def test_manager_sees_the_subtree_read_only_and_rep_the_plan_and_commission(
    in_tenant_a, world_a, q1_run
):
    other = client_for(world_a.other_manager.user).get(
        f"/alpha/incentives/statements/?period={q1_run.period_id}"
    )
    assert other.context["review"].statements == []
    assert other.context["review"].without_plan == []
    mine = client_for(world_a.manager.user).get(
        f"/alpha/incentives/statements/?period={q1_run.period_id}"
    )
    assert [s.total for s in mine.context["review"].statements] == [D("500.00")]
    with tenant_context(world_a.tenant):
        approve_and_publish(world_a, q1_run)
    rep = client_for(world_a.rep1.user)
    plan = rep.get("/alpha/incentives/plans/mine/")
    assert plan.context["assignment"].version.plan.name == "AE tiers"
    assert "rate: &#x27;10&#x27;" in plan.content.decode()
    with time_machine.travel(dt.datetime(2027, 5, 3, 9, 0, tzinfo=dt.UTC), tick=False):
        start = client_for(world_a.rep1.user).get("/alpha/")
    assert '<dd data-testid="fig-commission">$500.00</dd>' in start.content.decode()


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("rep1", "/alpha/incentives/plans/"),
        ("manager", "/alpha/incentives/runs/"),
        ("rep1", "/alpha/incentives/adjustments/"),
        ("finance", "/alpha/incentives/plans/new/"),
        ("finance", "/alpha/incentives/assignments/new/"),
    ],
)
def test_pages_refuse_the_roles_they_are_not_for(in_tenant_a, world_a, version, role, path):
    response = client_for(getattr(world_a, role).user).post(path, {"name": "x"})
    assert response.status_code == 403
    assert Plan.objects.filter(tenant=world_a.tenant).count() == 1
    assert Assignment.objects.filter(tenant=world_a.tenant).count() == 0


def test_another_tenants_version_is_404_in_the_builder(world_a, world_b):
    with tenant_context(world_b.tenant):
        theirs = services.plan_version_create(world_b.tenant, source=TIERED, actor=world_b.admin)
    client = client_for(world_a.admin.user)
    for path in ("", "component/?component=0", "document/", "export/"):
        assert client.get(f"/alpha/incentives/versions/{theirs.pk}/{path}").status_code == 404
    assert client.post(f"/alpha/incentives/versions/{theirs.pk}/copy/").status_code == 404


@pytest.mark.parametrize(
    ("role", "path", "queries"),
    [
        # The layout (session, user, membership, nav, locale) takes about a dozen.
        ("finance", "statements/?period={period}", 19),
        ("finance", "runs/{run}/", 18),
        ("admin", "plans/", 15),
        ("admin", "assignments/?period={period}", 20),
    ],
)
def test_review_pages_read_in_a_fixed_number_of_queries(
    in_tenant_a, world_a, q1_run, role, path, queries, django_assert_num_queries
):
    client = client_for(getattr(world_a, role).user)
    url = "/alpha/incentives/" + path.format(period=q1_run.period_id, run=q1_run.pk)
    client.get(url)  # the session and caches warm
    with django_assert_num_queries(queries):
        client.get(url)
