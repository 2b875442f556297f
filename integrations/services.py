"""Writes of the integrations app: API tokens and stored idempotent answers."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from integrations.models import ApiToken, IdempotentRequest
from spm.api.idempotency import StoredAnswer
from spm.api.scopes import Scope
from spm.models import Membership, Tenant, User
from spm.services import audit_record
from spm.tenancy.context import tenant_context

KEY_LABEL = "spm"
# last_used_at is written at most once per this interval per token, so a busy
# client does not turn every read into a write.
LAST_USED_PRECISION = dt.timedelta(minutes=1)
MAX_TOKEN_LIFETIME = dt.timedelta(days=366)
IDEMPOTENCY_RETENTION = dt.timedelta(hours=24)


class TokenRefused(Exception):
    """A presented key is not a usable token; the message says why."""


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    key: str  # the whole secret key; shown once, never stored


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_token_create(
    tenant: Tenant,
    *,
    name: str,
    scopes: Sequence[str],
    expires_at: dt.datetime,
    actor: Membership,
) -> IssuedToken:
    """Issue a token acting as ``actor`` within ``scopes`` until ``expires_at``.

    Raises ``ValidationError`` naming the field for an empty name, unknown or
    no scopes, or an expiry in the past or more than a year ahead. The key
    (``spm_<tenant id>_<prefix>_<secret>``) is returned once; only the hash of
    the secret is stored.
    """
    name = name.strip()
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Give the token a name."
    unknown = sorted(set(scopes) - set(Scope.values))
    if not scopes:
        errors["scopes"] = "Choose at least one scope."
    elif unknown:
        errors["scopes"] = f"Unknown scope: {', '.join(unknown)}."
    now = timezone.now()
    if expires_at <= now:
        errors["expires_at"] = "The expiry must be in the future."
    elif expires_at > now + MAX_TOKEN_LIFETIME:
        errors["expires_at"] = "A token lives at most one year."
    if errors:
        raise ValidationError(errors)
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            tenant=tenant,
            name=name,
            prefix=prefix,
            secret_hash=_hash(secret),
            scopes=sorted(set(scopes)),
            expires_at=expires_at,
            created_by=actor,
        )
        audit_record(
            tenant,
            actor=actor.user,
            action="api_token.create",
            obj=token,
            data={"name": name, "scopes": token.scopes, "expires_at": expires_at.isoformat()},
        )
    return IssuedToken(token=token, key=f"{KEY_LABEL}_{tenant.pk}_{prefix}_{secret}")


def api_token_revoke(tenant: Tenant, *, token: ApiToken, actor: Membership) -> ApiToken:
    """Revoke ``token`` now: its next request answers 401. Revoking twice keeps
    the first revocation."""
    with transaction.atomic():
        locked = ApiToken.objects.select_for_update().get(tenant=tenant, pk=token.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.revoked_by = actor
            locked.save(update_fields=["revoked_at", "revoked_by"])
            audit_record(tenant, actor=actor.user, action="api_token.revoke", obj=locked)
    return locked


def _parse(key: str) -> tuple[int, str, str]:
    parts = key.split("_", 3)
    if len(parts) != 4 or parts[0] != KEY_LABEL or not parts[1].isdigit():
        raise TokenRefused("Invalid token.")
    return int(parts[1]), parts[2], parts[3]


def api_token_authenticate(key: str) -> tuple[User, ApiToken]:
    """The member's user and the token for a presented ``key``.

    Raises ``TokenRefused`` for a malformed or unknown key, a wrong secret, a
    revoked or expired token, or a creator no longer active in the tenant.
    Reads the token inside its own tenant's context (whatever tenant the
    caller is in) and records its use at most once a minute.
    """
    tenant_id, prefix, secret = _parse(key)
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        raise TokenRefused("Invalid token.")
    with tenant_context(tenant):
        token = (
            ApiToken.objects.select_related("created_by__user", "tenant")
            .filter(prefix=prefix)
            .first()
        )
        if token is None or not hmac.compare_digest(token.secret_hash, _hash(secret)):
            raise TokenRefused("Invalid token.")
        now = timezone.now()
        if token.revoked_at is not None:
            raise TokenRefused("This token was revoked.")
        if token.expires_at <= now:
            raise TokenRefused("This token has expired.")
        if not token.created_by.is_active:
            raise TokenRefused("The member who created this token is no longer active.")
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_PRECISION)
        ).update(last_used_at=now)
    return token.created_by.user, token


class IdempotentRequestStore:
    """The database store of ``spm.api.idempotency``: one row per (tenant, key),
    kept ``IDEMPOTENCY_RETENTION``; expired rows of the tenant are removed as
    new ones are stored."""

    def find(self, tenant: Tenant, *, key: str) -> StoredAnswer | None:
        row = IdempotentRequest.objects.filter(
            tenant=tenant, key=key, expires_at__gt=timezone.now()
        ).first()
        if row is None:
            return None
        return StoredAnswer(
            fingerprint=row.fingerprint,
            status=row.response_status,
            body=row.response_body,
            headers=row.response_headers,
        )

    def save(
        self, tenant: Tenant, *, key: str, method: str, path: str, answer: StoredAnswer
    ) -> None:
        now = timezone.now()
        IdempotentRequest.objects.filter(tenant=tenant, expires_at__lte=now).delete()
        IdempotentRequest.objects.create(
            tenant=tenant,
            key=key,
            fingerprint=answer.fingerprint,
            method=method,
            path=path[:500],
            response_status=answer.status,
            response_body=answer.body,
            response_headers=answer.headers,
            expires_at=now + IDEMPOTENCY_RETENTION,
        )
