"""Tokens for the integration tests, issued through the service."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.utils import timezone
from rest_framework.test import APIClient

from integrations.services import IssuedToken, api_token_create
from spm.models import Membership
from spm.tenancy.context import tenant_context


def issue_token(
    member: Membership,
    scopes: Sequence[str],
    *,
    name: str = "CRM sync",
    lifetime: dt.timedelta = dt.timedelta(days=30),
) -> IssuedToken:
    with tenant_context(member.tenant):
        return api_token_create(
            member.tenant,
            name=name,
            scopes=scopes,
            expires_at=timezone.now() + lifetime,
            actor=member,
        )


def bearer(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client
