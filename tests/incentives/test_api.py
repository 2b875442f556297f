"""The incentives API: documents in and out, runs, statements by reach, and the
worked examples of docs/formulas.md through the endpoints."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from incentives.models import CalcRun, PlanVersion
from spm.tenancy.context import tenant_context
from tests.conftest import api_client_for
from tests.incentives.api_helpers import (
    BANDS,
    rep_statement,
    run_period,
    setup_plan,
    url,
    won,
    yaml_document,
)

pytestmark = pytest.mark.django_db


def test_a_bad_document_is_a_400_naming_the_path_and_saves_nothing(world_a):
    admin = api_client_for(world_a.admin.user)
    bands = [dict(b) for b in BANDS]
    bands[1]["from"] = 40
    text = yaml_document(cap={"per_period": "-5"}, rate_table=bands)
    response = admin.post(url(world_a, "plan-versions/"), {"document_text": text}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "field": "components[0].rate_table[1].from",
            "message": "overlaps the band before (which ends at 50)",
        },
        {"field": "components[0].cap.per_period", "message": "a cap must not be below zero"},
    ]
    with tenant_context(world_a.tenant):
        assert PlanVersion.objects.count() == 0


def test_export_gives_back_the_document_and_the_schema_is_published(world_a):
    version = setup_plan(world_a)
    admin = api_client_for(world_a.admin.user)
    exported = admin.get(url(world_a, f"plan-versions/{version['id']}/export/?as=yaml"))
    assert exported["Content-Type"] == "application/yaml"
    assert yaml.safe_load(exported.content)["components"][0]["rate_table"][1] == {
        "from": "50",
        "to": "100",
        "rate": "8",
    }
    schema = admin.get(url(world_a, "plan-versions/schema/")).json()
    assert schema["title"] == "SPM commission plan version"


@pytest.mark.parametrize(
    ("tiering", "bookings", "extra", "expected"),
    [
        ("marginal", "130000.00", {}, "8600.00"),
        ("marginal", "40000.00", {}, "800.00"),
        ("marginal", "100000.00", {}, "5000.00"),
        ("marginal", "110000.00", {}, "6200.00"),
        ("marginal", "180000.00", {}, "15500.00"),
        ("retroactive", "130000.00", {}, "15600.00"),
        ("retroactive", "100000.00", {}, "12000.00"),
        ("retroactive", "40000.00", {}, "800.00"),
        ("marginal", "40000.00", {"gate": 50}, "0.00"),
        ("marginal", "130000.00", {"gate": 50}, "8600.00"),
        ("marginal", "130000.00", {"cap": {"per_period": "10000.00"}}, "8600.00"),
        ("retroactive", "130000.00", {"cap": {"per_period": "10000.00"}}, "10000.00"),
    ],
)
def test_section_4_examples_through_the_api(world_a, tiering, bookings, extra, expected):
    setup_plan(world_a, tiering=tiering, **extra)
    won(world_a, bookings, dt.date(2027, 1, 20))
    finance = api_client_for(world_a.finance.user)
    run = run_period(world_a, finance, "month", dt.date(2027, 1, 1))
    statements, _ = rep_statement(world_a, run["id"])
    assert [s["total"] for s in statements] == [expected]


def test_cumulative_months_through_the_api_with_publish(world_a):
    setup_plan(world_a)
    won(world_a, "60000.00", dt.date(2027, 1, 20))
    won(world_a, "70000.00", dt.date(2027, 2, 10))
    finance = api_client_for(world_a.finance.user)
    january = run_period(world_a, finance, "month", dt.date(2027, 1, 1))
    assert (january["status"], january["task_status"], january["lines_written"]) == (
        "preview",
        "succeeded",
        2,
    )
    refused = finance.post(url(world_a, f"calc-runs/{january['id']}/publish/"))
    assert (refused.status_code, refused.json()["errors"]) == (
        400,
        [
            {
                "field": "run",
                "message": "Publishing needs finance's approval: request it on the run's page "
                "(or POST approvals/ with this run) and publish once finance approves.",
            }
        ],
    )
    asked = api_client_for(world_a.admin.user).post(
        url(world_a, "approvals/"), {"run": january["id"], "note": "January"}, format="json"
    )
    assert asked.status_code == 201, asked.json()
    approved = finance.post(url(world_a, f"approvals/{asked.json()['id']}/approve/"))
    assert approved.json()["status"] == "approved"
    published = finance.post(url(world_a, f"calc-runs/{january['id']}/publish/"))
    assert published.json()["status"] == "published"
    february = run_period(world_a, finance, "month", dt.date(2027, 2, 1))
    statements, lines = rep_statement(world_a, february["id"])
    assert [s["total"] for s in statements] == ["6800.00"]
    assert [amount for amount, _ in lines] == ["3200.00", "3600.00"]
    assert lines[1][1].endswith(": 30,000.00 x 12% in band 100-150%")


def test_statements_follow_reach(world_a, world_b):
    setup_plan(world_a)
    won(world_a, "10000.00", dt.date(2027, 1, 20))
    finance = api_client_for(world_a.finance.user)
    run = run_period(world_a, finance, "month", dt.date(2027, 1, 1))
    path = url(world_a, f"statements/?run={run['id']}")
    seen = {
        role: [s["membership"] for s in api_client_for(m.user).get(path).json()["results"]]
        for role, m in {
            "rep1": world_a.rep1,
            "rep2": world_a.rep2,
            "manager": world_a.manager,
            "other_manager": world_a.other_manager,
            "finance": world_a.finance,
        }.items()
    }
    assert seen == {
        "rep1": [world_a.rep1.pk],
        "rep2": [],
        "manager": [world_a.rep1.pk],
        "other_manager": [],
        "finance": [world_a.rep1.pk],
    }
    rep = api_client_for(world_a.rep1.user)
    assert rep.post(url(world_a, "calc-runs/"), {"period": 1}, format="json").status_code == 403
    with tenant_context(world_a.tenant):
        assert CalcRun.objects.count() == 1


def test_statement_lines_as_csv(world_a):
    setup_plan(world_a)
    won(world_a, "60000.00", dt.date(2027, 1, 20))
    finance = api_client_for(world_a.finance.user)
    run = run_period(world_a, finance, "month", dt.date(2027, 1, 1))
    statement = finance.get(url(world_a, f"statements/?run={run['id']}")).json()["results"][0]
    response = finance.get(url(world_a, f"statement-lines/?statement={statement['id']}&format=csv"))
    assert response["Content-Type"].startswith("text/csv")
    rows = b"".join(response.streaming_content).decode().splitlines()
    assert rows[0].split(",")[:3] == ["id", "statement", "position"]
    assert [r.split(",")[13] for r in rows[1:]] == ["1000.00", "800.00"]


def test_an_overlapping_assignment_is_a_400_naming_the_field(world_a):
    version = setup_plan(world_a)
    admin = api_client_for(world_a.admin.user)
    response = admin.post(
        url(world_a, "assignments/"),
        {
            "membership": world_a.rep1.pk,
            "version": version["id"],
            "start_date": "2027-03-01",
            "end_date": None,
            "target_incentive": "0.00",
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "field": "start_date",
            "message": "overlaps the assignment to AE FY2027 v1 from 2027-01-01 to open",
        }
    ]


def test_unreadable_document_text_is_a_400(world_a):
    admin = api_client_for(world_a.admin.user)
    response = admin.post(
        url(world_a, "plan-versions/"), {"document_text": "name: a\x12b\n"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "field": "(document)",
            "message": "not valid YAML or JSON: character #x0012 at position 7",
        }
    ]
