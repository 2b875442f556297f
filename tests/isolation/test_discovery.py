"""The application wall, discovered: every tenant page and API path, checked
against another tenant's slug and another tenant's object ids.

Pages come from the URL conf (every pattern with ``tenant_slug``), API paths
from the OpenAPI schema. Objects for detail routes come from
``tests/isolation/objects_<app>.py`` modules (``make_objects(world)``), so a
new app is covered by adding its objects there; a detail route whose model has
no object fails the test with a message saying so.

Every SQL statement those requests run is captured, and a test fails when an
ORM join between two tenant tables lacks ``tenant_id = tenant_id`` (the rule
of ``tests/isolation/catalogue.py``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from drf_spectacular.generators import SchemaGenerator

from spm.models import Role
from spm.tenancy.context import tenant_context
from tests.conftest import api_client_for, client_for
from tests.isolation.catalogue import join_violations, tenant_tables

HERE = Path(__file__).parent
ROLE_ORDER = [Role.ADMIN, Role.MANAGER, Role.FINANCE, Role.REP]
KWARG_RE = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")


def _walk(patterns: list[Any], prefix: str = "") -> list[tuple[str, Any]]:
    found = []
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            found.extend(_walk(entry.url_patterns, route))
        elif isinstance(entry, URLPattern):
            found.append((route, entry.callback))
    return found


def tenant_page_routes() -> list[tuple[str, Any]]:
    return [
        (route, callback)
        for route, callback in _walk(get_resolver().url_patterns)
        if "<slug:tenant_slug>" in route and not route.startswith("api/")
    ]


def _objects_by_model(world: Any) -> dict[Any, list[Any]]:
    by_model: dict[Any, list[Any]] = defaultdict(list)
    with tenant_context(world.tenant):
        for path in sorted(HERE.glob("objects_*.py")):
            module = import_module(f"tests.isolation.{path.stem}")
            for obj in module.make_objects(world):
                by_model[type(obj)].append(obj)
    return by_model


def _model_for_kwarg(callback: Any, kwarg: str, by_model: dict[Any, list[Any]]) -> Any:
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if kwarg == "pk":
        return getattr(view_class, "model", None)
    name = kwarg.removesuffix("_pk").removesuffix("_id").replace("_", "")
    for model in by_model:
        if model._meta.model_name == name:
            return model
    return None


def _fill(route: str, slug: str, callback: Any, by_model: dict[Any, list[Any]]) -> str | None:
    """Build a concrete path from ``route`` with objects of the given tenant."""
    missing = []

    def sub(match: re.Match[str]) -> str:
        name = match.group("name")
        if name == "tenant_slug":
            return slug
        model = _model_for_kwarg(callback, name, by_model)
        objs = by_model.get(model) if model is not None else None
        if not objs:
            missing.append(f"{name} ({model._meta.label if model else 'unknown model'})")
            return "0"
        return str(objs[0].pk)

    path = "/" + KWARG_RE.sub(sub, route).replace("^", "").replace("$", "")
    if missing:
        pytest.fail(
            f"Route {route} needs objects for {', '.join(missing)}: add them to "
            "tests/isolation/objects_<app>.py"
        )
    return path


def _allowed_member(world: Any, callback: Any) -> Any:
    view_class = getattr(callback, "view_class", None)
    roles = getattr(view_class, "allowed_roles", None) or set(ROLE_ORDER)
    members = world.members()
    for role in ROLE_ORDER:
        if role in roles:
            return members[role]
    return world.admin


@pytest.fixture
def worlds(world_a: Any, world_b: Any) -> Iterator[dict[str, Any]]:
    """The two worlds with their objects; every statement run while the test
    requests pages and endpoints is checked for joins without the tenant."""
    worlds = {
        "a": world_a,
        "b": world_b,
        "a_objects": _objects_by_model(world_a),
        "b_objects": _objects_by_model(world_b),
    }
    statements: list[str] = []

    def capture(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        yield worlds
    with connection.cursor() as cursor:
        tenant = tenant_tables(cursor)
    violations = sorted({v for sql in statements for v in join_violations(sql, tenant)})
    assert violations == []


def test_discovery_finds_the_core_routes():
    routes = {route for route, _ in tenant_page_routes()}
    assert "<slug:tenant_slug>/people/<int:pk>/" in routes
    assert "<slug:tenant_slug>/teams/" in routes


def test_every_tenant_page_is_404_for_a_member_of_another_tenant(worlds):
    a, b = worlds["a"], worlds["b"]
    outsider = client_for(b.admin.user)
    failures = []
    for route, callback in tenant_page_routes():
        path = _fill(route, a.tenant.slug, callback, worlds["a_objects"])
        for method in ("get", "post"):
            response = getattr(outsider, method)(path)
            if response.status_code != 404:
                failures.append(f"{method.upper()} {path} -> {response.status_code}")
    assert failures == []


def test_every_tenant_detail_page_is_404_for_another_tenants_object(worlds):
    a = worlds["a"]
    failures = []
    checked = 0
    for route, callback in tenant_page_routes():
        if not KWARG_RE.search(route.replace("<slug:tenant_slug>", "")):
            continue
        member = _allowed_member(a, callback)
        client = client_for(member.user)
        # A's slug, B's ids (guessed ids of another tenant).
        path = _fill(route, a.tenant.slug, callback, worlds["b_objects"])
        view_class = getattr(callback, "view_class", None)
        methods = [m for m in ("get", "post") if view_class is None or hasattr(view_class, m)]
        for method in methods:
            response = getattr(client, method)(path)
            checked += 1
            if response.status_code != 404:
                failures.append(f"{member.role} {method.upper()} {path} -> {response.status_code}")
    assert failures == []
    assert checked >= 6


def _api_operations() -> list[tuple[str, str, Any]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = []
    for path, item in schema["paths"].items():
        if "{tenant_slug}" not in path:
            continue
        for method in item:
            if method in ("get", "post", "put", "patch", "delete"):
                operations.append((path, method, item[method]))
    return operations


def _api_model(path: str) -> Any:
    concrete = re.sub(r"\{[^}]+\}", "1", path).replace("{tenant_slug}", "x")
    match = resolve(concrete)
    view_class = getattr(match.func, "cls", None)
    return getattr(view_class, "model", None)


def _api_path(path: str, slug: str, objects: dict[Any, list[Any]]) -> str:
    model = _api_model(path)
    if "{id}" in path and not objects.get(model):
        pytest.fail(
            f"API path {path} needs an object of {model}: "
            "add it to tests/isolation/objects_<app>.py"
        )
    obj_id = str(objects[model][0].pk) if "{id}" in path else ""
    return path.replace("{tenant_slug}", slug).replace("{id}", obj_id)


def test_api_discovery_finds_the_core_endpoints():
    paths = {path for path, _, _ in _api_operations()}
    assert "/api/v1/{tenant_slug}/members/{id}/" in paths
    assert "/api/v1/{tenant_slug}/periods/" in paths


def test_every_tenant_api_operation_is_404_for_a_member_of_another_tenant(worlds):
    a, b = worlds["a"], worlds["b"]
    outsider = api_client_for(b.admin.user)
    failures = []
    for path, method, _ in _api_operations():
        url = _api_path(path, a.tenant.slug, worlds["a_objects"])
        response = getattr(outsider, method)(url, {}, format="json")
        if response.status_code != 404:
            failures.append(f"{method.upper()} {url} -> {response.status_code}")
        elif response["Content-Type"] != "application/problem+json":
            failures.append(f"{method.upper()} {url} -> not problem+json")
    assert failures == []


def test_every_tenant_api_detail_is_404_for_another_tenants_id(worlds):
    a = worlds["a"]
    admin = api_client_for(a.admin.user)
    failures = []
    checked = 0
    for path, method, _ in _api_operations():
        if "{id}" not in path:
            continue
        url = _api_path(path, a.tenant.slug, worlds["b_objects"])
        response = getattr(admin, method)(url, {}, format="json")
        checked += 1
        if response.status_code != 404:
            failures.append(f"{method.upper()} {url} -> {response.status_code}")
    assert failures == []
    assert checked >= 5


def test_every_tenant_api_list_excludes_other_tenants_rows(worlds):
    a = worlds["a"]
    b_ids = {model: {obj.pk for obj in objs} for model, objs in worlds["b_objects"].items()}
    admin = api_client_for(a.admin.user)
    failures = []
    for path, method, _ in _api_operations():
        if method != "get" or "{" in path.replace("{tenant_slug}", ""):
            continue
        model = _api_model(path)
        response = admin.get(path.replace("{tenant_slug}", a.tenant.slug), {"page_size": 1000})
        if response.status_code != 200:
            failures.append(f"GET {path} -> {response.status_code}")
            continue
        body = response.json()
        rows = body["results"] if isinstance(body, dict) and "results" in body else body
        if not isinstance(rows, list):
            continue
        leaked = {row.get("id") for row in rows if isinstance(row, dict)} & b_ids.get(model, set())
        if leaked:
            failures.append(f"GET {path} leaks {model.__name__} ids {sorted(leaked)}")
    assert failures == []


# Reach inside the tenant: deals a rep holds split credit on ------------------------


def _credited_deal(objects: dict[Any, list[Any]]) -> Any:
    from pipeline.models import Deal

    return next(d for d in objects[Deal] if d.name == "Credited deal")


def _deal_state(world: Any, deal: Any) -> tuple[Any, ...]:
    from pipeline.models import Activity, Deal, DealSplit, StageChange

    with tenant_context(world.tenant):
        return (
            Deal.objects.filter(pk=deal.pk).values().get(),
            list(DealSplit.objects.filter(deal=deal).values_list("member_id", "percent")),
            StageChange.objects.filter(deal=deal).count(),
            Activity.objects.filter(deal=deal).count(),
        )


def _deal_requests(deal: Any, slug: str) -> list[tuple[str, str, str]]:
    """(kind, method, path) of every page and API operation on one deal."""
    from pipeline.models import Deal

    found = []
    for route, callback in tenant_page_routes():
        if "<int:pk>" not in route or _model_for_kwarg(callback, "pk", {}) is not Deal:
            continue
        path = _fill(route, slug, callback, {Deal: [deal]})
        view_class = callback.view_class
        found.extend(("page", m, path) for m in ("get", "post") if hasattr(view_class, m))
    for path, method, _ in _api_operations():
        if "{id}" in path and _api_model(path) is Deal:
            found.append(
                ("api", method, path.replace("{tenant_slug}", slug).replace("{id}", str(deal.pk)))
            )
    return found


def test_a_rep_reads_a_deal_they_hold_credit_on_and_changes_nothing(worlds):
    a = worlds["a"]
    deal = _credited_deal(worlds["a_objects"])
    before = _deal_state(a, deal)
    clients = {"page": client_for(a.rep1.user), "api": api_client_for(a.rep1.user)}
    answers = {
        (kind, method, path): getattr(clients[kind], method)(
            path, {}, **({"format": "json"} if kind == "api" else {})
        ).status_code
        for kind, method, path in _deal_requests(deal, a.tenant.slug)
    }
    expected = {key: 200 if key[1] == "get" else 403 for key in answers}
    assert answers == expected
    assert len(answers) >= 10
    assert _deal_state(a, deal) == before


def test_a_rep_without_credit_gets_404_on_another_reps_deal(worlds):
    a = worlds["a"]
    deal = _credited_deal(worlds["a_objects"])
    before = _deal_state(a, deal)
    clients = {"page": client_for(a.rep2.user), "api": api_client_for(a.rep2.user)}
    answers = {
        (kind, method, path): getattr(clients[kind], method)(
            path, {}, **({"format": "json"} if kind == "api" else {})
        ).status_code
        for kind, method, path in _deal_requests(deal, a.tenant.slug)
    }
    assert answers == {key: 404 for key in answers}
    assert len(answers) >= 10
    assert _deal_state(a, deal) == before
