"""Shared steps of the API tests: a plan through the API, won deals, runs
executed in the test process, statements read as the rep."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import yaml

from goals.models import Measure, Quota
from incentives.tasks import calc_run_execute_task
from spm.models import FiscalPeriod
from spm.tenancy.context import tenant_context
from tests.conftest import api_client_for
from tests.pipeline.factories import DealFactory, stage_named

D = Decimal

BANDS = [
    {"from": 0, "to": 50, "rate": 2},
    {"from": 50, "to": 100, "rate": 8},
    {"from": 100, "to": 150, "rate": 12},
    {"from": 150, "rate": 15},
]
# A flat 10% of the credited amount (no quota needed).
FLAT_10 = {"rate_table_on": "amount", "rate_table": [{"from": 0, "rate": 10}]}


def yaml_document(*, extra: dict[str, Any] | None = None, **component: Any) -> str:
    return yaml.safe_dump(
        {
            "schema_version": 1,
            "name": "AE FY2027",
            "effective_from": dt.date(2026, 1, 1),
            "components": [
                {
                    key: value
                    for key, value in {
                        "key": "bookings",
                        "measure": "credited_bookings",
                        "rate_table": BANDS,
                        **component,
                    }.items()
                    if value is not None
                }
            ],
            **(extra or {}),
        }
    )


def url(world: Any, path: str) -> str:
    return f"/api/v1/{world.tenant.slug}/{path}"


def period(world: Any, kind: str, start: dt.date) -> FiscalPeriod:
    with tenant_context(world.tenant):
        return FiscalPeriod.objects.get(tenant=world.tenant, kind=kind, start=start)


def setup_plan(
    world_a: Any,
    *,
    extra: dict[str, Any] | None = None,
    start: str = "2027-01-01",
    quota_quarter: dt.date = dt.date(2027, 1, 1),
    payout_currency: str = "",
    **component: Any,
) -> dict[str, Any]:
    """A plan version and rep1's assignment through the API; rep1's quota of
    100,000.00 for the quarter starting ``quota_quarter``."""
    admin = api_client_for(world_a.admin.user)
    created = admin.post(
        url(world_a, "plan-versions/"),
        {"document_text": yaml_document(extra=extra, **component)},
        format="json",
    )
    assert created.status_code == 201, created.json()
    # The tenant's only admin asks for the activation and approves it.
    asked = admin.post(url(world_a, "approvals/"), {"version": created.json()["id"]}, format="json")
    assert asked.status_code == 201, asked.json()
    approved = admin.post(url(world_a, f"approvals/{asked.json()['id']}/approve/"))
    assert approved.status_code == 200, approved.json()
    assigned = admin.post(
        url(world_a, "assignments/"),
        {
            "membership": world_a.rep1.pk,
            "version": created.json()["id"],
            "start_date": start,
            "end_date": None,
            "target_incentive": "0.00",
            "payout_currency": payout_currency,
        },
        format="json",
    )
    assert assigned.status_code == 201, assigned.json()
    with tenant_context(world_a.tenant):
        Quota.objects.create(
            tenant=world_a.tenant,
            period=period(world_a, "quarter", quota_quarter),
            membership=world_a.rep1,
            measure=Measure.BOOKINGS,
            amount=D("100000.00"),
        )
    return created.json()


def won(world: Any, amount: str, day: dt.date, **kwargs: Any) -> Any:
    with tenant_context(world.tenant):
        return DealFactory(
            tenant=world.tenant,
            owner=kwargs.pop("owner", world.rep1),
            amount=D(amount),
            stage=stage_named(world.tenant, "Closed won"),
            expected_close_date=day,
            close_date=day,
            **kwargs,
        )


def run_period(world: Any, client: Any, kind: str, start: dt.date) -> dict[str, Any]:
    started = client.post(
        url(world, "calc-runs/"), {"period": period(world, kind, start).pk}, format="json"
    )
    assert started.status_code == 201, started.json()
    calc_run_execute_task.apply(args=(world.tenant.pk, started.json()["id"]))
    return client.get(url(world, f"calc-runs/{started.json()['id']}/")).json()


def run_and_publish(world: Any, kind: str, start: dt.date) -> dict[str, Any]:
    finance = api_client_for(world.finance.user)
    run = run_period(world, finance, kind, start)
    asked = finance.post(url(world, "approvals/"), {"run": run["id"]}, format="json")
    assert asked.status_code == 201, asked.json()
    approved = finance.post(url(world, f"approvals/{asked.json()['id']}/approve/"))
    assert approved.status_code == 200, approved.json()
    published = finance.post(url(world, f"calc-runs/{run['id']}/publish/"))
    assert published.status_code == 200, published.json()
    return run


def rep_statement(world: Any, run_id: int) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    rep = api_client_for(world.rep1.user)
    statements = rep.get(url(world, f"statements/?run={run_id}")).json()["results"]
    lines = rep.get(url(world, f"statement-lines/?statement={statements[0]['id']}")).json()
    return statements, [(line["amount"], line["explanation"]) for line in lines["results"]]
