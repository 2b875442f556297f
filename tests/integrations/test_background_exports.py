"""Exports in the background: a real worker writes the file as the member who
asked, with their reach; the download is the same file the synchronous
``?format=csv`` answer streams; bad requests are refused naming the field."""

from __future__ import annotations

import csv
import datetime as dt
import io
import time

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from rest_framework.test import APIClient

from integrations.exports import exports_expire
from integrations.models import Export
from integrations.services import api_token_create
from spm.api.scopes import Scope
from spm.tenancy.context import tenant_context
from tests.conftest import api_client_for


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Export files go to the test's own directory, not the checkout's var/."""
    settings.MEDIA_ROOT = tmp_path


DEALS = [
    ("BX-1", "Acme renewal", "rep1@alpha.test", "1234567.89"),
    ("BX-2", "Globex expansion", "rep1@alpha.test", "0.10"),
    ("BX-3", "Initech new logo", "rep3@alpha.test", "250000.00"),
]


def _deals(world) -> None:
    items = [
        {
            "external_id": external_id,
            "name": name,
            "owner": owner,
            "amount": amount,
            "stage": "Qualification",
            "expected_close_date": "2027-03-31",
        }
        for external_id, name, owner, amount in DEALS
    ]
    response = api_client_for(world.admin.user).post(
        "/api/v1/alpha/deals/bulk/", {"items": items}, format="json"
    )
    assert response.status_code == 200, response.json()


def _finished(client, export_id: int, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/alpha/exports/{export_id}/").json()
        if body["status"] in ("succeeded", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"export {export_id} did not finish: {body}")


def _download(client, export: dict) -> bytes:
    response = client.get(export["download"])
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def _rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def test_an_export_is_the_synchronous_download_written_by_a_worker(world_a, worker):
    _deals(world_a)
    client = api_client_for(world_a.admin.user)
    asked = client.post("/api/v1/alpha/exports/", {"path": "deals/?ordering=name"}, format="json")
    assert asked.status_code == 202, asked.json()
    assert asked.json()["status"] == "queued"
    assert asked.json()["download"] is None
    assert asked["Location"] == f"/api/v1/alpha/exports/{asked.json()['id']}/"

    export = _finished(client, asked.json()["id"])
    assert export["status"] == "succeeded", export["message"]
    content = _download(client, export)
    synchronous = client.get("/api/v1/alpha/deals/?ordering=name&format=csv")
    assert content == b"".join(synchronous.streaming_content)
    rows = _rows(content)
    assert [(r["external_id"], r["amount"]) for r in rows] == [
        ("BX-1", "1234567.89"),
        ("BX-2", "0.10"),
        ("BX-3", "250000.00"),
    ]
    assert export["size"] == len(content)
    response = client.get(export["download"])
    assert response["Content-Disposition"].startswith('attachment; filename="deals-')
    assert response["Content-Type"] == "text/csv; charset=utf-8"


def test_an_export_holds_only_what_its_member_may_read_and_only_they_see_it(world_a, worker):
    _deals(world_a)
    rep = api_client_for(world_a.rep1.user)
    asked = rep.post("/api/v1/alpha/exports/", {"path": "/api/v1/alpha/deals/"}, format="json")
    assert asked.status_code == 202, asked.json()
    export = _finished(rep, asked.json()["id"])
    assert sorted(r["external_id"] for r in _rows(_download(rep, export))) == ["BX-1", "BX-2"]

    # Nobody else sees it, not even an admin: its file holds the rep's reach.
    for other in (world_a.admin, world_a.manager, world_a.other_rep):
        client = api_client_for(other.user)
        assert client.get(f"/api/v1/alpha/exports/{export['id']}/").status_code == 404
        assert client.get(export["download"]).status_code == 404
        assert client.get("/api/v1/alpha/exports/").json()["count"] == 0
    assert rep.get("/api/v1/alpha/exports/").json()["count"] == 1


def test_an_xlsx_export_and_a_report_export(world_a, worker):
    _deals(world_a)
    client = api_client_for(world_a.admin.user)
    asked = client.post(
        "/api/v1/alpha/exports/",
        {"path": "deals/?ordering=name", "format": "xlsx"},
        format="json",
    )
    export = _finished(client, asked.json()["id"])
    content = _download(client, export)
    assert content[:2] == b"PK"  # a zip: the workbook
    assert client.get(export["download"])["Content-Disposition"].endswith('.xlsx"')

    asked = client.post(
        "/api/v1/alpha/exports/",
        {"path": "kpi-reports/leaderboard/?kpi=bookings"},
        format="json",
    )
    export = _finished(client, asked.json()["id"])
    assert export["status"] == "succeeded", export["message"]
    synchronous = client.get("/api/v1/alpha/kpi-reports/leaderboard/?kpi=bookings&format=csv")
    assert _download(client, export) == b"".join(synchronous.streaming_content)


def test_a_read_that_fails_ends_the_export_failed_with_the_reason(world_a, worker):
    client = api_client_for(world_a.admin.user)
    asked = client.post(
        "/api/v1/alpha/exports/", {"path": "deals/?close_date_after=someday"}, format="json"
    )
    export = _finished(client, asked.json()["id"])
    assert export["status"] == "failed"
    assert "400" in export["message"]
    assert "close_date_after" in export["message"]
    response = client.get(f"/api/v1/alpha/exports/{export['id']}/download/")
    assert response.status_code == 409
    assert "no file to download" in response.json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"path": "/api/v1/beta/deals/"}, "path", "under /api/v1/alpha/"),
        ({"path": "https://evil.test/api/v1/alpha/deals/"}, "path", "under /api/v1/alpha/"),
        ({"path": "no-such-thing/"}, "path", "No API endpoint"),
        ({"path": "exports/"}, "path", "cannot be exported"),
        ({"path": "deals/", "format": "pdf"}, "format", "pdf"),
        ({}, "path", "required"),
    ],
)
def test_a_bad_request_names_its_field_and_queues_nothing(world_a, body, field, message):
    response = api_client_for(world_a.admin.user).post(
        "/api/v1/alpha/exports/", body, format="json"
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors[0]["field"] == field
    assert message in errors[0]["message"]
    with tenant_context(world_a.tenant):
        assert not Export.objects.exists()


@pytest.mark.django_db
def test_a_token_exports_only_what_its_scopes_may_read(world_a):
    with tenant_context(world_a.tenant):
        issued = api_token_create(
            world_a.tenant,
            actor=world_a.admin,
            name="crm sync",
            scopes=[Scope.DEALS_WRITE],
            expires_at=timezone.now() + dt.timedelta(days=30),
        )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.key}")
    refused = client.post("/api/v1/alpha/exports/", {"path": "statements/"}, format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"][0] == {
        "field": "path",
        "message": f"This token lacks the scope {Scope.INCENTIVES_READ}.",
    }
    assert (
        client.post("/api/v1/alpha/exports/", {"path": "deals/"}, format="json").status_code == 202
    )


@pytest.mark.django_db
def test_another_tenants_member_cannot_ask_for_or_see_an_export(world_a, world_b):
    asked = api_client_for(world_a.admin.user).post(
        "/api/v1/alpha/exports/", {"path": "deals/"}, format="json"
    )
    outsider = api_client_for(world_b.admin.user)
    assert outsider.get(f"/api/v1/alpha/exports/{asked.json()['id']}/").status_code == 404
    assert (
        outsider.post("/api/v1/alpha/exports/", {"path": "deals/"}, format="json").status_code
        == 404
    )
    assert outsider.get("/api/v1/beta/exports/").json()["count"] == 0


def test_expired_exports_lose_their_file_and_record(world_a, worker):
    client = api_client_for(world_a.admin.user)
    asked = client.post("/api/v1/alpha/exports/", {"path": "teams/"}, format="json")
    export = _finished(client, asked.json()["id"])
    with tenant_context(world_a.tenant):
        name = Export.objects.get(pk=export["id"]).file
    assert default_storage.exists(name)
    assert exports_expire(world_a.tenant, now=timezone.now() + dt.timedelta(days=6)) == 0
    assert exports_expire(world_a.tenant, now=timezone.now() + dt.timedelta(days=8)) == 1
    assert not default_storage.exists(name)
    assert client.get(f"/api/v1/alpha/exports/{export['id']}/").status_code == 404
