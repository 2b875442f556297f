"""Reads of the integrations app."""

from __future__ import annotations

from django.db.models import QuerySet

from integrations.models import ApiToken
from spm.models import Tenant


def api_tokens_for(tenant: Tenant) -> QuerySet[ApiToken]:
    """The tenant's tokens, newest first, with who created and revoked them."""
    return ApiToken.objects.filter(tenant=tenant).select_related(
        "created_by__user", "revoked_by__user"
    )
