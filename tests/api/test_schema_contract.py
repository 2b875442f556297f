"""The OpenAPI schema as a client generator reads it: JSON bodies, integer ids,
a generated client that imports and works, and Swagger UI served offline."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import pkgutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from rest_framework.authtoken.models import Token

from pipeline.models import Deal
from spm.tenancy.context import tenant_context
from tests.conftest import api_client_for, client_for
from tests.pipeline.factories import stage_named

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def schema(world_a) -> dict:
    response = api_client_for(world_a.admin.user).get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def _operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


@pytest.mark.django_db
def test_every_request_body_is_json_only(schema):
    bodies = {
        f"{method.upper()} {path}": sorted(op["requestBody"]["content"])
        for path, method, op in _operations(schema)
        if "requestBody" in op
    }
    assert len(bodies) == 97
    assert {k: v for k, v in bodies.items() if v != ["application/json"]} == {}


@pytest.mark.django_db
def test_a_form_body_is_refused_with_415(world_a):
    client = api_client_for(world_a.admin.user)
    response = client.post("/api/v1/alpha/teams/", {"name": "North"}, format="multipart")
    assert response.status_code == 415
    assert response.json()["detail"].startswith('Unsupported media type "multipart/form-data')


@pytest.mark.django_db
def test_id_filters_and_parameters_are_integers(schema):
    numbers = sorted(
        f"{method.upper()} {path} {param['name']}"
        for path, method, op in _operations(schema)
        for param in op.get("parameters", [])
        if param["schema"].get("type") == "number"
    )
    assert numbers == []
    deal_params = {
        p["name"]: p["schema"]["type"]
        for p in schema["paths"]["/api/v1/{tenant_slug}/deals/"]["get"]["parameters"]
    }
    assert {k: deal_params[k] for k in ("owner", "team", "pipeline", "stage", "account")} == {
        "owner": "integer",
        "team": "integer",
        "pipeline": "integer",
        "stage": "integer",
        "account": "integer",
    }


@pytest.mark.django_db
def test_actions_answering_plain_lists_are_documented_as_plain_lists(schema):
    paths = schema["paths"]
    history = paths["/api/v1/{tenant_slug}/deals/{id}/history/"]["get"]
    # ``format`` is the CSV switch every endpoint of a list viewset offers
    assert [p["name"] for p in history["parameters"]] == ["format", "id", "tenant_slug"]
    assert history["responses"]["200"]["content"]["application/json"]["schema"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/StageChange"},
    }
    bulk = paths["/api/v1/{tenant_slug}/quotas/bulk/"]["post"]
    assert [p["name"] for p in bulk["parameters"]] == ["Idempotency-Key", "format", "tenant_slug"]


@pytest.mark.django_db
def test_swagger_ui_is_served_from_the_installed_package(world_a):
    page = client_for(world_a.admin.user).get("/api/v1/docs/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "https://" not in html
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    bundle = client_for(world_a.admin.user).get(
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
    )
    assert bundle.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_generated_client_imports_every_operation_and_creates_a_deal(
    live_server, world_a, tmp_path: Path, monkeypatch
):
    # given: a client generated from the schema by openapi-python-client
    token, _ = Token.objects.get_or_create(user=world_a.rep1.user)
    schema_file = tmp_path / "schema.json"
    schema_file.write_bytes(
        api_client_for(world_a.rep1.user).get("/api/v1/schema/?format=json").content
    )
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"post_hooks": [], "project_name_override": "spmclient"}))
    generator = Path(sys.executable).parent / "openapi-python-client"
    subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            str(schema_file),
            "--meta",
            "none",
            "--config",
            str(config),
            "--output-path",
            str(tmp_path / "spm_client"),
        ],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    failures = []
    package = importlib.import_module("spm_client.api")
    modules = list(pkgutil.walk_packages(package.__path__, "spm_client.api."))
    for module in modules:
        try:
            importlib.import_module(module.name)
        except Exception as exc:  # noqa: BLE001 - every failure is listed
            failures.append(f"{module.name}: {exc}")
    assert failures == []
    # plan-models: its package and its one operation
    assert len(modules) == 301

    # when: the generated deals_create sends a deal
    with tenant_context(world_a.tenant):
        stage = stage_named(world_a.tenant, "Needs analysis")
    client_mod = importlib.import_module("spm_client.client")
    create = importlib.import_module("spm_client.api.deals.deals_create")
    models = importlib.import_module("spm_client.models")
    client = client_mod.AuthenticatedClient(
        base_url=live_server.url, token=token.key, prefix="Token"
    )
    body = models.DealRequest(
        name="Generated client deal",
        amount="12000.00",
        stage=stage.pk,
        expected_close_date=dt.date(2027, 3, 31),
    )
    response = create.sync_detailed(tenant_slug="alpha", client=client, body=body)

    # then: it is created, owned by the caller, and parsed back by the client
    assert response.status_code == 201, response.content
    assert response.parsed.name == "Generated client deal"
    assert response.parsed.amount == "12000.00"
    with tenant_context(world_a.tenant):
        deal = Deal.objects.get(name="Generated client deal")
        assert (deal.owner_id, deal.amount, deal.stage_id) == (
            world_a.rep1.pk,
            Decimal("12000.00"),
            stage.pk,
        )
