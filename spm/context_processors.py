from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from spm.nav import nav_items
from spm.selectors import user_memberships


def _my_memberships(request: HttpRequest) -> list[Any]:
    with transaction.atomic():
        return user_memberships(request.user)  # type: ignore[arg-type]


def tenancy(request: HttpRequest) -> dict[str, Any]:
    tenant = getattr(request, "tenant", None)
    membership = getattr(request, "membership", None)
    user = getattr(request, "user", None)
    authenticated = bool(user and user.is_authenticated)
    return {
        "tenant": tenant if membership else None,
        "membership": membership,
        "nav_items": nav_items(request, tenant, membership) if tenant and membership else [],
        "my_memberships": SimpleLazyObject(lambda: _my_memberships(request))
        if authenticated
        else [],
    }
