"""The demo data generator behind ``manage.py seed_demo``.

Deterministic for a given seed and day. Pillar apps extend it with a
``demo.py`` module exposing ``seed(tenant, *, rng, today, people)``; they run in
dependency order after the core (settings.PILLAR_APPS).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from spm import services
from spm.formatting import Locale
from spm.models import Membership, Role, Team, Tenant, User
from spm.tenancy.context import tenant_context

DEMO_PASSWORD = "demo-pass-2026"

FIRST_NAMES = [
    "Ava",
    "Ben",
    "Chloe",
    "Diego",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Isla",
    "Jonas",
    "Kemi",
    "Liam",
    "Maya",
    "Noah",
    "Olivia",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
    "Umar",
    "Vera",
    "Wes",
    "Xenia",
    "Yusuf",
    "Zoe",
    "Arjun",
    "Bianca",
    "Carlos",
    "Dana",
]
LAST_NAMES = [
    "Anders",
    "Brooks",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ito",
    "Jensen",
    "Kowalski",
    "Larsen",
    "Moreau",
    "Novak",
    "Okafor",
    "Patel",
    "Quist",
    "Rossi",
    "Silva",
    "Tanaka",
    "Ueda",
    "Vargas",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zimmer",
    "Adler",
    "Berg",
]


@dataclass
class DemoPeople:
    """Who the core created, for pillar generators to build on."""

    admin: Membership
    finance: Membership
    top_manager: Membership
    managers: list[Membership] = field(default_factory=list)
    reps: list[Membership] = field(default_factory=list)
    teams: list[Team] = field(default_factory=list)


@dataclass(frozen=True)
class TenantSpec:
    name: str
    slug: str
    domain: str
    currency: str
    fiscal_start: int
    time_zone: str
    regions: list[str]
    reps_per_team: int
    locale: str = Locale.EN_US


ACME = TenantSpec(
    "Acme Corp",
    "acme",
    "acme.test",
    "USD",
    1,
    "America/New_York",
    ["West", "East", "Central", "EMEA"],
    6,
)
GLOBEX = TenantSpec(
    "Globex",
    "globex",
    "globex.test",
    "EUR",
    2,
    "Europe/Berlin",
    ["North", "South"],
    3,
    locale=Locale.DE_DE,
)


class _UserMaker:
    def __init__(self, password_hash: str) -> None:
        self.password_hash = password_hash

    def get(self, email: str, first: str, last: str) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User(
                username=email,
                email=email,
                first_name=first,
                last_name=last,
                password=self.password_hash,
            )
            user.save()
        return user


def _member(
    tenant: Tenant,
    user: User,
    *,
    role: str,
    title: str,
    team: Team | None,
    start: dt.date,
    end: dt.date | None = None,
) -> Membership:
    return Membership.objects.create(
        tenant=tenant,
        user=user,
        role=role,
        title=title,
        team=team,
        start_date=start,
        end_date=end,
        is_active=end is None,
    )


def seed_tenant(
    spec: TenantSpec,
    *,
    rng: random.Random,
    today: dt.date,
    users: _UserMaker,
    extra_members: list[tuple[User, str]] | None = None,
) -> tuple[Tenant, DemoPeople]:
    tenant = services.tenant_create(
        name=spec.name,
        slug=spec.slug,
        currency=spec.currency,
        fiscal_year_start_month=spec.fiscal_start,
        time_zone=spec.time_zone,
        locale=spec.locale,
        today=today,
    )
    history_start = dt.date(today.year - 2, today.month, 1)
    with tenant_context(tenant):
        d = spec.domain
        admin = _member(
            tenant,
            users.get(f"admin@{d}", "Alex", "Admin"),
            role=Role.ADMIN,
            title="Sales Operations",
            team=None,
            start=history_start,
        )
        finance = _member(
            tenant,
            users.get(f"finance@{d}", "Fran", "Finance"),
            role=Role.FINANCE,
            title="Commission Analyst",
            team=None,
            start=history_start,
        )
        vp_user = users.get(f"vp@{d}", "Victoria", "Vance")
        top = services.team_create(tenant, name="Sales")
        vp = _member(
            tenant, vp_user, role=Role.MANAGER, title="VP Sales", team=top, start=history_start
        )
        services.team_update(tenant, team=top, actor=None, manager=vp)
        people = DemoPeople(admin=admin, finance=finance, top_manager=vp, teams=[top])
        names = [(f, la) for la in LAST_NAMES for f in FIRST_NAMES]
        rng.shuffle(names)
        rep_no = 0
        for index, region in enumerate(spec.regions):
            first, last = names.pop()
            manager = _member(
                tenant,
                users.get(f"manager.{region.lower()}@{d}", first, last),
                role=Role.MANAGER,
                title=f"Regional Manager, {region}",
                team=top,
                start=history_start + dt.timedelta(days=rng.randint(0, 60)),
            )
            team = services.team_create(tenant, name=region, parent=top, manager=manager)
            people.managers.append(manager)
            people.teams.append(team)
            size = spec.reps_per_team + (1 if index % 2 == 0 else 0)
            for _ in range(size):
                rep_no += 1
                first, last = names.pop()
                # Staggered starts: most reps were there from the start of the history,
                # some joined later (quota proration needs them).
                offset = 0 if rng.random() < 0.55 else rng.randint(30, 600)
                start = history_start + dt.timedelta(days=offset)
                end = None
                if rep_no % 11 == 0:
                    end = today - dt.timedelta(days=rng.randint(20, 120))
                    start = min(start, end - dt.timedelta(days=200))
                rep = _member(
                    tenant,
                    users.get(f"rep{rep_no:02d}@{d}", first, last),
                    role=Role.REP,
                    title=rng.choice(
                        ["Account Executive", "Senior Account Executive", "Sales Rep"]
                    ),
                    team=team,
                    start=start,
                    end=end,
                )
                people.reps.append(rep)
        for user, role in extra_members or []:
            _member(tenant, user, role=role, title="Advisor", team=None, start=history_start)
    return tenant, people


def seed_demo(*, seed: int = 42, today: dt.date | None = None) -> list[Tenant]:
    """Create the two demo tenants with their org and every pillar's demo data."""
    today = today or timezone.localdate()
    rng = random.Random(seed)
    users = _UserMaker(make_password(DEMO_PASSWORD))
    created: list[Tenant] = []
    with transaction.atomic():
        acme, acme_people = seed_tenant(ACME, rng=rng, today=today, users=users)
        acme_admin_user = acme_people.admin.user
        globex, globex_people = seed_tenant(
            GLOBEX,
            rng=rng,
            today=today,
            users=users,
            extra_members=[(acme_admin_user, Role.FINANCE)],
        )
        created = [acme, globex]
        for tenant, people in ((acme, acme_people), (globex, globex_people)):
            for app in settings.PILLAR_APPS:
                if apps.is_installed(app) and find_spec(f"{app}.demo"):
                    module = import_module(f"{app}.demo")
                    with tenant_context(tenant):
                        module.seed(
                            tenant,
                            rng=random.Random(f"{seed}-{app}-{tenant.slug}"),
                            today=today,
                            people=people,
                        )
    return created
