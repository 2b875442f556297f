"""A client generated from the OpenAPI schema by openapi-python-client drives a
live server with a tenant API token: an idempotent bulk upsert replayed, a read
with its ETag, and a PATCH with If-Match (then a stale one refused)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import api_client_for
from tests.integrations.factories import issue_token


def _generate(schema: bytes, folder: Path) -> None:
    (folder / "schema.json").write_bytes(schema)
    config = folder / "config.json"
    config.write_text(json.dumps({"post_hooks": [], "project_name_override": "spmtokenclient"}))
    generator = Path(sys.executable).parent / "openapi-python-client"
    subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            str(folder / "schema.json"),
            "--meta",
            "none",
            "--config",
            str(config),
            "--output-path",
            str(folder / "spm_token_client"),
        ],
        check=True,
        capture_output=True,
        cwd=folder,
    )


@pytest.mark.django_db(transaction=True)
def test_a_generated_client_syncs_deals_with_a_token(live_server, world_a, tmp_path, monkeypatch):
    # given: a generated client and a token that may write deals
    schema = api_client_for(world_a.admin.user).get("/api/v1/schema/?format=json").content
    _generate(schema, tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    api = "spm_token_client.api.deals"
    bulk = importlib.import_module(f"{api}.deals_bulk_create")
    retrieve = importlib.import_module(f"{api}.deals_retrieve")
    patch = importlib.import_module(f"{api}.deals_partial_update")
    models = importlib.import_module("spm_token_client.models")
    client_module = importlib.import_module("spm_token_client.client")
    key = issue_token(world_a.admin, ["deals:write"]).key
    client = client_module.AuthenticatedClient(base_url=live_server.url, token=key, prefix="Bearer")
    batch = models.DealSyncItemBatchRequest.from_dict(
        {
            "items": [
                {
                    "external_id": "CRM-1",
                    "name": "Generated sync",
                    "owner": "rep1@alpha.test",
                    "amount": "4200.50",
                    "stage": "Qualification",
                    "expected_close_date": "2027-03-31",
                }
            ]
        }
    )

    # when: the sync is sent twice with one key, then the deal is read and patched
    first = bulk.sync_detailed(
        tenant_slug="alpha", client=client, body=batch, idempotency_key="crm-sync-1"
    )
    replay = bulk.sync_detailed(
        tenant_slug="alpha", client=client, body=batch, idempotency_key="crm-sync-1"
    )
    listed = client.get_httpx_client().get("/api/v1/alpha/deals/?external_id=CRM-1").json()
    deal_id = listed["results"][0]["id"]
    read = retrieve.sync_detailed(tenant_slug="alpha", id=deal_id, client=client)
    etag = read.headers["etag"]
    body = models.PatchedDealRequest(name="Renamed by the client")
    changed = patch.sync_detailed(
        tenant_slug="alpha", id=deal_id, client=client, body=body, if_match=etag
    )
    stale = patch.sync_detailed(
        tenant_slug="alpha", id=deal_id, client=client, body=body, if_match=etag
    )

    # then
    assert (first.status_code, replay.status_code) == (200, 200)
    assert json.loads(first.content)["created"] == 1
    assert json.loads(replay.content) == json.loads(first.content)
    assert replay.headers["idempotent-replayed"] == "true"
    assert read.parsed.amount == "4200.50"
    assert (changed.status_code, changed.parsed.name) == (200, "Renamed by the client")
    assert changed.headers["etag"] != etag
    assert stale.status_code == 412
    assert json.loads(stale.content)["type"] == "urn:spm:problem:precondition-failed"
