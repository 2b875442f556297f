"""Tenant API tokens at the edge of the API: authentication, scopes, rate limits.

The tokens themselves (model, hashing, revocation) belong to the integrations
app, which registers the function that checks a presented key
(``register_token_authenticator``). Here: ``Authorization: Bearer <key>``
authenticates as the member who created the token; the tenant base viewset
answers 404 when the URL names another tenant and 403 naming the scope the
token lacks (``spm.api.scopes``); the throttles limit each token and each
tenant's tokens together, on the Django cache (Redis), answering 429 with
``Retry-After``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, cast

from django.conf import settings
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from spm.tenancy.middleware import TENANT_KWARG

BEARER = "Bearer"


class TokenPrincipal(Protocol):
    """What the API needs to know of an authenticated token."""

    pk: Any
    tenant_id: int
    scopes: Sequence[str]


TokenAuthenticator = Callable[[str], tuple[Any, TokenPrincipal]]
_authenticator: list[TokenAuthenticator] = []


def register_token_authenticator(authenticate: TokenAuthenticator) -> None:
    """Install the function that turns a presented key into (user, token);
    it raises ``AuthenticationFailed`` naming why a key is refused."""
    _authenticator[:] = [authenticate]


class ApiTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer spm_...`` on tenant URLs (/api/v1/<tenant>/...)."""

    def authenticate(self, request: Request) -> tuple[Any, TokenPrincipal] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != BEARER.lower().encode():
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Send the token as: Authorization: Bearer <token>.")
        match = request._request.resolver_match
        if match is None or TENANT_KWARG not in match.kwargs:
            raise AuthenticationFailed("API tokens work on tenant URLs (/api/v1/<tenant>/...).")
        if not _authenticator:
            raise AuthenticationFailed("API tokens are not enabled on this server.")
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise AuthenticationFailed("Invalid token.") from exc
        return _authenticator[0](key)

    def authenticate_header(self, request: Request) -> str:
        return f'{BEARER} realm="api"'


def request_token(request: Request) -> TokenPrincipal | None:
    """The token a request authenticated with, or None (session, personal token)."""
    if isinstance(getattr(request, "successful_authenticator", None), ApiTokenAuthentication):
        return cast(TokenPrincipal, request.auth)
    return None


class _TokenThrottle(SimpleRateThrottle):
    """Counts token requests under ``key`` (formatted with the token's
    ``tenant_id`` and ``pk``) at the rate the setting ``setting_name`` gives."""

    setting_name: str
    key: str

    def get_rate(self) -> str:
        return str(getattr(settings, self.setting_name))

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        token = request_token(request)
        return None if token is None else self.key.format(tenant_id=token.tenant_id, pk=token.pk)


class TokenRateThrottle(_TokenThrottle):
    """Requests of one token per window (``SPM_API_TOKEN_RATE``)."""

    scope = "api_token"
    setting_name = "SPM_API_TOKEN_RATE"
    key = "throttle:token:{tenant_id}:{pk}"


class TenantTokenRateThrottle(_TokenThrottle):
    """Requests of all of a tenant's tokens together (``SPM_API_TENANT_RATE``)."""

    scope = "api_tenant"
    setting_name = "SPM_API_TENANT_RATE"
    key = "throttle:tenant:{tenant_id}"
