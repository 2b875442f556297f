"""Shared fixtures: a real PostgreSQL test database migrated by the owner role
and used through the runtime role (RLS applies), and two look-alike tenants.

Tenant A ("alpha") and tenant B ("beta") each have an admin, a manager with a
team of two reps, and a finance user; B's people have the same names as A's.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from rest_framework.test import APIClient

from spm import services
from spm.celery import app as celery_app
from spm.db.roles import create_database, drop_database
from spm.env import env_str
from spm.models import Membership, Role, Team, Tenant, User
from spm.tenancy.context import tenant_context

TODAY = dt.date(2027, 2, 15)


def _test_db_name() -> str:
    return f"test_spm_{os.getpid()}"


def database_url(alias: str, name: str | None = None) -> str:
    """A connection URL for the ``alias`` role, to database ``name`` (default:
    the alias's database, which is this process's test database once set up)."""
    cfg = settings.DATABASES[alias]
    host = cfg.get("HOST") or ""
    host_part = quote(host, safe="") if host.startswith("/") else host
    port = f":{cfg['PORT']}" if cfg.get("PORT") else ""
    password = f":{quote(cfg['PASSWORD'])}" if cfg.get("PASSWORD") else ""
    return f"postgresql://{quote(cfg['USER'])}{password}@{host_part}{port}/{name or cfg['NAME']}"


@pytest.fixture(scope="session")
def django_db_setup(django_db_blocker: pytest.FixtureRequest) -> Iterator[None]:
    """Create a fresh database for this test process, migrate it as the owner
    role, and point both aliases at it. Tests then run as the runtime role."""
    name = _test_db_name()
    admin_url = env_str("DATABASE_ADMIN_URL") or database_url("owner", "postgres")
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        for alias in ("default", "owner"):
            connections[alias].close()
        create_database(admin_url, name, owner=settings.DATABASES["owner"]["USER"])
        for alias in ("default", "owner"):
            settings.DATABASES[alias]["NAME"] = name
            connections[alias].settings_dict["NAME"] = name
        call_command("migrate", database="owner", verbosity=0, interactive=False)
        connections["owner"].close()
    yield
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        for alias in ("default", "owner"):
            connections[alias].close()
        drop_database(admin_url, name)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Leave nothing of this process in Redis: its Celery queue (spm.settings.test
    names one per process) with the kombu bindings that declare it, and its cache
    keys. Tasks published by tests but never consumed would otherwise stay forever."""
    queue = celery_app.amqp.queues[settings.CELERY_TASK_DEFAULT_QUEUE]
    with celery_app.connection_for_write() as connection:
        bound = queue.bind(connection.default_channel)
        bound.declare()
        bound.delete()
    cache = settings.CACHES["default"]
    client = redis.Redis.from_url(cache["LOCATION"])
    keys = list(client.scan_iter(match=f"{cache['KEY_PREFIX']}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@dataclass
class TenantWorld:
    tenant: Tenant
    admin: Membership
    manager: Membership
    rep1: Membership
    rep2: Membership
    finance: Membership
    other_manager: Membership
    other_rep: Membership
    root_team: Team
    team: Team
    other_team: Team

    def members(self) -> dict[str, Membership]:
        return {
            "admin": self.admin,
            "manager": self.manager,
            "rep": self.rep1,
            "finance": self.finance,
        }


PASSWORD = "correct-horse-battery-staple"


def build_world(slug: str, name: str, *, email_domain: str) -> TenantWorld:
    tenant = services.tenant_create(name=name, slug=slug, today=TODAY)
    with tenant_context(tenant):

        def add(
            local: str,
            first: str,
            last: str,
            role: str,
            team: Team | None = None,
            start: dt.date = dt.date(2026, 1, 1),
        ) -> Membership:
            return services.membership_add(
                tenant,
                email=f"{local}@{email_domain}",
                first_name=first,
                last_name=last,
                role=role,
                team=team,
                start_date=start,
                password=PASSWORD,
            )

        admin = add("admin", "Ada", "Admin", Role.ADMIN)
        finance = add("finance", "Fin", "Ance", Role.FINANCE)
        root = services.team_create(tenant, name="Sales")
        manager = add("manager", "Mia", "Manager", Role.MANAGER, root)
        services.team_update(tenant, team=root, actor=None, manager=manager)
        team = services.team_create(tenant, name="West", parent=root, manager=manager)
        rep1 = add("rep1", "Ray", "One", Role.REP, team)
        rep2 = add("rep2", "Rita", "Two", Role.REP, team, start=dt.date(2027, 2, 10))
        other_manager = add("manager2", "Max", "Other", Role.MANAGER, root)
        other_team = services.team_create(tenant, name="East", parent=root, manager=other_manager)
        other_rep = add("rep3", "Otto", "Three", Role.REP, other_team)
    return TenantWorld(
        tenant,
        admin,
        manager,
        rep1,
        rep2,
        finance,
        other_manager,
        other_rep,
        root,
        team,
        other_team,
    )


@pytest.fixture
def world_a(db: None) -> TenantWorld:
    return build_world("alpha", "Alpha Inc", email_domain="alpha.test")


@pytest.fixture
def world_b(db: None) -> TenantWorld:
    return build_world("beta", "Beta Ltd", email_domain="beta.test")


@pytest.fixture
def worker(transactional_db: None) -> Iterator[None]:
    """A Celery worker in this process (solo pool) on the default queue."""
    from celery.contrib.testing.worker import start_worker

    with start_worker(
        celery_app,
        pool="solo",
        perform_ping_check=False,
        shutdown_timeout=10,
        queues=[celery_app.conf.task_default_queue],
    ):
        yield


@pytest.fixture
def in_tenant_a(world_a: TenantWorld) -> Iterator[Tenant]:
    with tenant_context(world_a.tenant) as tenant:
        yield tenant


def client_for(user: User):  # type: ignore[no-untyped-def]
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def api_client_for(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def if_match(client: APIClient, url: str) -> dict[str, str]:
    """The If-Match header carrying the record's current ETag (read with a GET),
    for a PUT or PATCH of a versioned record."""
    return {"HTTP_IF_MATCH": client.get(url)["ETag"]}
