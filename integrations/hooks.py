"""The integrations app's side of the API's core hooks (spm.api.tokens,
spm.api.idempotency), installed from the app config."""

from __future__ import annotations

from rest_framework.exceptions import AuthenticationFailed

from integrations.audit.context import audit_actor_set
from integrations.models import ApiToken
from integrations.services import IdempotentRequestStore, TokenRefused, api_token_authenticate
from spm.api.idempotency import register_idempotency_store
from spm.api.tokens import register_token_authenticator
from spm.models import User


def authenticate_token(key: str) -> tuple[User, ApiToken]:
    try:
        user, token = api_token_authenticate(key)
    except TokenRefused as exc:
        raise AuthenticationFailed(str(exc)) from exc
    # The audit trail names the token's member and the token for what this request changes.
    audit_actor_set(user_id=user.pk, token_prefix=token.prefix, token_name=token.name)
    return user, token


def install() -> None:
    register_token_authenticator(authenticate_token)
    register_idempotency_store(IdempotentRequestStore())
