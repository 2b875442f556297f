"""The health check answered before anything else looks at the request.

Container health checks and load balancers call ``/healthz`` on the machine's
own address (``http://127.0.0.1:8000/healthz`` in docker-compose.yml), which is
not one of the public ``ALLOWED_HOSTS``, and over plain HTTP behind the TLS
proxy. This middleware comes first in ``MIDDLEWARE`` and answers that one path
without reading the Host header, so neither host validation nor the HTTPS
redirect turns a healthy web process into a 400 or a 301.

It says "ok" when the database and the broker answer; "degraded" (still 200:
pages and reads work, writes keep their tasks in the outbox) when the broker
does not, with the number of tasks waiting; "unavailable" (503) when the
database does not.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse

from spm.outbox import broker_answers

HEALTH_PATH = "/healthz"


def outbox_waiting() -> int:
    """Tasks kept in the outbox (one indexed count; the table is small)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM spm_outboxmessage")
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def health_report() -> tuple[int, str]:
    """(HTTP status, text) of the health check."""
    try:
        waiting = outbox_waiting()
    except DatabaseError:
        return 503, "unavailable: the database does not answer"
    if not broker_answers():
        return 200, f"degraded: the broker does not answer; {waiting} tasks kept in the outbox"
    return 200, "ok"


class HealthCheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == HEALTH_PATH and request.method in ("GET", "HEAD"):
            status, text = health_report()
            return HttpResponse(text, status=status, content_type="text/plain")
        return self.get_response(request)
