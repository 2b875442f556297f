"""The request as the tenant pages see it, for typing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

    from spm.models import Membership, Tenant
    from spm.reach import Reach


class TenantRequest(HttpRequest):
    """An ``HttpRequest`` with what the middleware sets on every request:
    ``tenant`` (from the URL's slug, else None), the user's active
    ``membership`` there and its ``reach`` (None when not a member), and
    django-htmx's ``htmx``. Never instantiated: views annotate their request
    with it."""

    tenant: Tenant | None
    membership: Membership | None
    reach: Reach | None
    htmx: HtmxDetails
