"""``?format=csv`` on every list endpoint and report: the whole filtered result,
streamed in batches, with its header always and a text/csv content type."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pandas as pd
import pytest
import time_machine
from openpyxl import load_workbook

from spm.api.registry import tenant_router
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(dt.datetime(2027, 2, 15, 12, tzinfo=dt.UTC), tick=False):
        yield


def _body(response) -> str:
    assert response.streaming, "a CSV export streams"
    return b"".join(response.streaming_content).decode("utf-8")


def _bulk_deals(world, rows: list[tuple[str, str, str, str]]) -> None:
    """(external_id, owner email, amount, stage) deals through the bulk API."""
    items = [
        {
            "external_id": ext,
            "name": f"Deal {ext}",
            "owner": owner,
            "amount": amount,
            "stage": stage,
            "expected_close_date": "2027-03-31",
        }
        for ext, owner, amount, stage in rows
    ]
    response = api_client_for(world.admin.user).post(
        f"/api/v1/{world.tenant.slug}/deals/bulk/", {"items": items}
    )
    assert response.status_code == 200, response.json()


def test_deals_csv_is_every_matching_deal_in_batches_read_by_pandas(
    world_a, monkeypatch, django_assert_num_queries
):
    # given: 130 open deals of rep1 (amounts 1.01 .. 130.01), 3 won ones, 2 of another rep
    monkeypatch.setattr("spm.api.csv.CSV_BATCH", 50)
    rows = [(f"O-{i:03d}", "rep1@alpha.test", f"{i}.01", "Qualification") for i in range(1, 131)]
    rows += [(f"W-{i}", "rep1@alpha.test", "500.00", "Closed won") for i in range(3)]
    rows += [(f"E-{i}", "rep3@alpha.test", "7.00", "Qualification") for i in range(2)]
    _bulk_deals(world_a, rows)
    client = api_client_for(world_a.admin.user)

    # when: the open deals of rep1 are exported (ordered by amount)
    response = client.get(
        "/api/v1/alpha/deals/",
        {"format": "csv", "owner": world_a.rep1.pk, "status": "open", "ordering": "amount"},
    )
    # tenant context (savepoint, set, reset, release), one cursor, one splits query per batch
    with django_assert_num_queries(8):
        text = _body(response)

    # then: all 130 (not a page of 50), in order, with exact amounts
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="deals.csv"'
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert list(frame.columns) == [
        "id", "name", "account", "owner", "amount", "currency", "exchange_rate",
        "base_amount", "pipeline", "stage", "probability", "forecast_category",
        "weighted_amount", "expected_close_date", "status", "close_date", "lost_reason",
        "deal_type", "product_line", "source", "external_id", "created_on", "splits",
        "created_at", "updated_at",
    ]  # fmt: skip
    assert len(frame) == 130
    assert list(frame["external_id"][:3]) == ["O-001", "O-002", "O-003"]
    assert list(frame["amount"][-2:]) == ["129.01", "130.01"]
    assert sum(Decimal(a) for a in frame["amount"]) == Decimal("8516.30")
    assert set(frame["owner"]) == {str(world_a.rep1.pk)}
    assert frame["splits"][0] == (
        f'[{{"member": {world_a.rep1.pk}, "percent": "100.00", "credited_amount": "1.01"}}]'
    )


def test_an_empty_csv_export_still_has_its_header_and_content_type(world_a):
    client = api_client_for(world_a.admin.user)

    response = client.get("/api/v1/alpha/deals/", {"format": "csv", "status": "won"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = _body(response)
    assert text.splitlines() == [
        "id,name,account,owner,amount,currency,exchange_rate,base_amount,pipeline,stage,"
        "probability,forecast_category,weighted_amount,expected_close_date,status,close_date,"
        "lost_reason,deal_type,product_line,source,external_id,created_on,splits,created_at,"
        "updated_at"
    ]
    assert len(pd.read_csv(io.StringIO(text))) == 0


def test_accept_text_csv_answers_csv_too(world_a):
    response = api_client_for(world_a.admin.user).get(
        "/api/v1/alpha/teams/", HTTP_ACCEPT="text/csv"
    )

    frame = pd.read_csv(io.StringIO(_body(response)), dtype=str)
    assert sorted(frame["name"]) == ["East", "Sales", "West"]


def test_a_rep_exports_only_their_own_deals(world_a, world_b):
    _bulk_deals(
        world_a,
        [("A-1", "rep1@alpha.test", "10.00", "Qualification"),
         ("A-2", "rep2@alpha.test", "20.00", "Qualification")],
    )  # fmt: skip
    _bulk_deals(world_b, [("B-1", "rep1@beta.test", "30.00", "Qualification")])

    response = api_client_for(world_a.rep1.user).get("/api/v1/alpha/deals/", {"format": "csv"})

    frame = pd.read_csv(io.StringIO(_body(response)), dtype=str)
    assert list(frame["external_id"]) == ["A-1"]


def test_an_invalid_filter_on_a_csv_export_is_a_problem_document(world_a):
    response = api_client_for(world_a.admin.user).get(
        "/api/v1/alpha/deals/", {"format": "csv", "owner": "abc"}
    )

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"] == [{"field": "owner", "message": "Enter a whole number."}]


def _list_routes() -> list[str]:
    return sorted(
        prefix
        for prefix, viewset, _basename in tenant_router.registry
        if hasattr(viewset, "list") and prefix != "kpi-reports"
    )


def test_every_list_endpoint_answers_csv_and_xlsx_with_one_header(world_a):
    client = api_client_for(world_a.admin.user)
    headers = {}
    for prefix in _list_routes():
        response = client.get(f"/api/v1/alpha/{prefix}/", {"format": "csv"})
        xlsx = client.get(f"/api/v1/alpha/{prefix}/", {"format": "xlsx"})
        assert (prefix, response.status_code, response["Content-Type"]) == (
            prefix,
            200,
            "text/csv; charset=utf-8",
        )
        header = _body(response).splitlines()[0].split(",")
        sheet = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content)), read_only=True)
        assert (prefix, next(sheet.active.iter_rows(values_only=True))) == (prefix, tuple(header))
        headers[prefix] = header[:2]
    assert headers == {
        "accounts": ["id", "name"],
        "activities": ["id", "kind"],
        "adjustments": ["id", "membership"],
        "approvals": ["id", "kind"],
        "audit": ["id", "created_at"],
        "assignments": ["id", "membership"],
        "calc-runs": ["id", "period"],
        "exports": ["id", "path"],
        "forecast-accuracy": ["id", "period"],
        "forecast-calls": ["id", "period"],
        "forecast-odds": ["id", "period"],
        "forecast-stats": ["id", "period"],
        "forecast-trends": ["day", "closed"],
        "forecast-rollups": ["member", "name"],
        "coaching/action-items": ["id", "member"],
        "coaching/agenda-items": ["id", "meeting"],
        "coaching/assessments": ["id", "member"],
        "coaching/development": ["id", "member"],
        "coaching/meetings": ["id", "series"],
        "coaching/practice": ["id", "member"],
        "coaching/private-notes": ["id", "meeting"],
        "coaching/recognition": ["id", "recipient"],
        "coaching/review-cycles": ["id", "name"],
        "coaching/reviews": ["id", "cycle"],
        "coaching/series": ["id", "manager"],
        "coaching/skills": ["id", "name"],
        "coaching/training": ["id", "member"],
        "disputes": ["id", "statement"],
        "payroll-exports": ["id", "period"],
        "credits": ["id", "deal_id"],
        "deals": ["id", "name"],
        "exchange-rates": ["id", "currency"],
        "goal-checkins": ["id", "goal"],
        "goals": ["id", "level"],
        "kpi-values": ["id", "period"],
        "leads": ["id", "name"],
        "members": ["id", "email"],
        "notifications": ["id", "kind"],
        "objective-scores": ["id", "objective"],
        "objectives": ["id", "membership"],
        "periods": ["id", "kind"],
        "pipelines": ["id", "name"],
        "plan-acceptances": ["id", "assignment"],
        "plan-versions": ["id", "plan"],
        "plans": ["id", "name"],
        "quotas": ["id", "period"],
        "seasonality-profiles": ["id", "name"],
        "stages": ["id", "pipeline"],
        "statement-lines": ["id", "statement"],
        "statements": ["id", "run"],
        "teams": ["id", "name"],
        "tokens": ["id", "name"],
        "webhook-deliveries": ["id", "subscription"],
        "webhooks": ["id", "url"],
    }


@pytest.mark.parametrize(
    ("report", "header"),
    [
        ("leaderboard", "rank,member,name,team,kpi,value"),
        ("scorecard", "kpi,label,unit,value,target,rag"),
        ("series", "period,period_label,bookings,quota,attainment"),
    ],
)
def test_every_kpi_report_answers_csv_with_its_header(world_a, report, header):
    response = api_client_for(world_a.admin.user).get(
        f"/api/v1/alpha/kpi-reports/{report}/", {"format": "csv", "fiscal_year": "2099"}
    )

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert _body(response).splitlines()[0] == header


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_delete_asking_for_an_export_format_answers_204_with_no_body(world_a, fmt):
    client = api_client_for(world_a.admin.user)
    account = client.post("/api/v1/alpha/accounts/", {"name": "Gone soon"}).json()

    response = client.delete(f"/api/v1/alpha/accounts/{account['id']}/?format={fmt}")

    assert (response.status_code, response.content) == (204, b"")
    assert client.get(f"/api/v1/alpha/accounts/{account['id']}/").status_code == 404
