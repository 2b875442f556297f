"""Safe retries: ``Idempotency-Key`` on POSTs that cause effects.

Decorate a viewset action with :func:`idempotent`. A POST sent with the
header runs once per (tenant, key): the first successful answer is stored
(by the store the integrations app registers) and a retry with the same key
and the same request gets it again, with ``Idempotent-Replayed: true``; the
same key with another body or endpoint answers 422; a retry while the first
is still running answers 409. The key is held by a transaction-scoped
advisory lock, and the answer is stored in the request's own transaction, so
an effect and its stored answer commit (or roll back) together. An error
answer is not stored: nothing was written, and the retry runs again.
A request without the header runs as before.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, cast

from django.http.response import HttpResponseBase
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from spm.api.errors import IdempotencyKeyInProgress, IdempotencyKeyReused
from spm.db.locks import try_advisory_xact_lock
from spm.models import Tenant

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_MAX_LENGTH = 255
# Response headers a replay repeats.
KEPT_HEADERS = ("Location",)


@dataclass(frozen=True)
class StoredAnswer:
    fingerprint: str
    status: int
    body: Any
    headers: dict[str, str]


class IdempotencyStore(Protocol):
    def find(self, tenant: Tenant, *, key: str) -> StoredAnswer | None:
        """The unexpired answer stored under ``key``, if any."""

    def save(
        self, tenant: Tenant, *, key: str, method: str, path: str, answer: StoredAnswer
    ) -> None:
        """Store ``answer`` under ``key`` (expiring after the store's retention)."""


_store: list[IdempotencyStore] = []


def register_idempotency_store(store: IdempotencyStore) -> None:
    _store[:] = [store]


def request_fingerprint(request: Request) -> str:
    """SHA-256 of the method, path, query and body (JSON canonicalised;
    uploaded files by content)."""
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.get_full_path()}\n".encode())
    files = getattr(request, "FILES", {}) or {}
    data: Any = request.data
    if files:
        data = {k: v for k, v in data.items() if k not in files}
    digest.update(json.dumps(data, sort_keys=True, default=str).encode())
    for name in sorted(files):
        upload = files[name]
        digest.update(f"\n{name}\n".encode())
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
    return digest.hexdigest()


def _key(request: Request) -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not key.strip() or len(key) > KEY_MAX_LENGTH or not key.isprintable():
        raise ValidationError(
            {IDEMPOTENCY_HEADER: f"Use 1 to {KEY_MAX_LENGTH} printable characters."}
        )
    return key


def _replay(answer: StoredAnswer) -> Response:
    response = Response(answer.body, status=answer.status, headers=answer.headers)
    response[REPLAYED_HEADER] = "true"
    return response


def idempotent[ActionT: Callable[..., Any]](action: ActionT) -> ActionT:
    """Make a tenant viewset action honour ``Idempotency-Key`` (module docstring)."""

    @functools.wraps(action)
    def run_once(view: Any, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        key = _key(request)
        if key is None or not _store:
            return action(view, request, *args, **kwargs)
        tenant: Tenant = view.tenant
        fingerprint = request_fingerprint(request)
        if not try_advisory_xact_lock(tenant.pk, f"idempotency:{key}"):
            raise IdempotencyKeyInProgress()
        stored = _store[0].find(tenant, key=key)
        if stored is not None:
            if stored.fingerprint != fingerprint:
                raise IdempotencyKeyReused(
                    f"The Idempotency-Key {key!r} was first used with another request; "
                    "use a new key for a new request."
                )
            return _replay(stored)
        response = action(view, request, *args, **kwargs)
        if isinstance(response, Response) and 200 <= response.status_code < 300:
            answer = StoredAnswer(
                fingerprint=fingerprint,
                status=response.status_code,
                body=response.data,
                headers={h: response[h] for h in KEPT_HEADERS if h in response},
            )
            _store[0].save(
                tenant, key=key, method=request.method or "", path=request.path, answer=answer
            )
        return response

    run_once.idempotent = True  # type: ignore[attr-defined]
    return cast(ActionT, run_once)
