"""The navigation bar: one entry per pillar that exists, filtered by role.

Pillar apps add their entries by listing them in their AppConfig as
``nav = [(label, url_name, roles), ...]``.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from spm.permissions import ADMIN, ALL_ROLES, NOT_REPS
from spm.reach import Reach

CORE_NAV: list[tuple[str, str, frozenset[str]]] = [
    ("Home", "tenant-home", ALL_ROLES),
]
CORE_NAV_END: list[tuple[str, str, frozenset[str]]] = [
    ("People", "people-list", NOT_REPS),
    ("Teams", "team-list", ALL_ROLES),
    ("Settings", "tenant-settings", ADMIN),
]


def nav_items(request: HttpRequest, tenant: Any, membership: Any) -> list[dict[str, Any]]:
    entries = list(CORE_NAV)
    for config in apps.get_app_configs():
        entries.extend(getattr(config, "nav", []))
    entries.extend(CORE_NAV_END)
    items: list[dict[str, Any]] = []
    reach = Reach(membership)
    for label, url_name, roles in entries:
        if not reach.allowed(roles):
            continue
        try:
            url = reverse(url_name, kwargs={"tenant_slug": tenant.slug})
        except NoReverseMatch:
            continue
        items.append({"label": label, "url": url, "active": False})
    # The entry whose URL is the longest prefix of the current path is the active one
    # ("Home" is a prefix of every page, "Dashboard" and "Leaderboards" share an app).
    matches = [item for item in items if request.path.startswith(item["url"])]
    if matches:
        max(matches, key=lambda item: len(str(item["url"])))["active"] = True
    return items
