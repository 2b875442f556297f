"""Fuzz every tenant endpoint of the OpenAPI schema with schemathesis.

Whatever the input, an endpoint must never answer 5xx, and every error must be
problem+json. Runs as the tenant's admin against a live server.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db(transaction=True)


def _fuzz(operation: Any, base_url: str, headers: dict[str, str], failures: list[str]) -> None:
    label = f"{operation.method.upper()} {operation.path}"

    @settings(
        max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        case.path_parameters = {**(case.path_parameters or {}), "tenant_slug": "alpha"}
        response = case.call(base_url=base_url, headers=headers)
        headers_lower = {k.lower(): v for k, v in response.headers.items()}
        content_type = headers_lower.get("content-type", "")
        content_type = content_type[0] if isinstance(content_type, list) else content_type
        if response.status_code >= 500:
            failures.append(f"{label}: {response.status_code}")
        elif response.status_code >= 400 and not content_type.startswith(
            "application/problem+json"
        ):
            failures.append(f"{label}: {response.status_code} is {content_type}, not problem+json")

    run()


def test_fuzz_tenant_endpoints(live_server, world_a):
    token, _ = Token.objects.get_or_create(user=world_a.admin.user)
    headers = {"Authorization": f"Token {token.key}"}
    # Fetched with a generous timeout (schemathesis' own loader gives up after
    # 10 s, which a cold schema build on a busy machine can take).
    raw = requests.get(
        f"{live_server.url}/api/v1/schema/?format=json", headers=headers, timeout=120
    )
    schema = schemathesis.openapi.from_dict(raw.json())
    operations = [op.ok() for op in schema.get_all_operations() if "{tenant_slug}" in op.ok().path]
    assert len(operations) >= 10
    failures: list[str] = []
    for operation in operations:
        _fuzz(operation, live_server.url, headers, failures)
    assert "\n".join(sorted(set(failures))) == ""
