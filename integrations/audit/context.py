"""Who and how, for every change the audit trail records: django-pghistory's
``pghistory.context`` around each request and each Celery task.

The context's metadata travels into the transaction with each write
(pghistory sets ``pghistory.context_metadata`` before every statement that
is not a read), where the audit trigger stores it with the change
(``integrations.audit.tracking``):

- ``via``: ``page`` or ``api`` for a request, ``task`` for a Celery task;
- ``method`` and ``path`` of a request, ``task`` (its name) and ``task_id``
  of a task;
- ``user``: the signed-in user, known here for a browser session and added
  when the API authenticates a token (``integrations.hooks``), together with
  ``token`` (the token's prefix) and ``token_name``.

Where no user is in the context, the trigger takes the transaction's
``app.user_id`` (set for every signed-in request), so a change made through
any API authentication still names its actor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pghistory
from celery.signals import task_postrun, task_prerun
from django.http import HttpRequest, HttpResponse

API_PREFIX = "/api/"


class AuditContextMiddleware:
    """Every request runs inside ``pghistory.context``: ``via``, ``method``,
    ``path`` and, for a browser session, ``user``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        via = "api" if request.path_info.startswith(API_PREFIX) else "page"
        metadata: dict[str, Any] = {"via": via, "method": request.method, "path": request.path}
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            metadata["user"] = user.pk
        with pghistory.context(**metadata):
            return self.get_response(request)


def audit_actor_set(*, user_id: int, token_prefix: str | None = None, token_name: str = "") -> None:
    """Name the actor of the rest of the current context (a request whose user
    the API authenticated). Outside a context, nothing happens."""
    metadata: dict[str, Any] = {"user": user_id}
    if token_prefix is not None:
        metadata["token"] = token_prefix
        metadata["token_name"] = token_name
    pghistory.context(**metadata)


# Celery: a context per task, entered before it runs and left after. A task run
# eagerly inside a request (tests, ``task.apply()``) keeps the request's context:
# ``pghistory.context`` entered inside another only adds its metadata to the outer one.
_task_contexts: dict[str, Any] = {}


def _in_context() -> bool:
    return hasattr(pghistory.runtime._tracker, "value")


@task_prerun.connect(dispatch_uid="integrations.audit.task_context_enter")
def task_context_enter(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    if task_id is None or _in_context():
        return
    context = pghistory.context(via="task", task=getattr(task, "name", ""), task_id=task_id)
    context.__enter__()
    _task_contexts[task_id] = context


@task_postrun.connect(dispatch_uid="integrations.audit.task_context_exit")
def task_context_exit(task_id: str | None = None, **kwargs: Any) -> None:
    context = _task_contexts.pop(task_id or "", None)
    if context is not None:
        context.__exit__(None, None, None)
