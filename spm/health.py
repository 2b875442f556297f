"""The health check answered before anything else looks at the request.

Container health checks and load balancers call ``/healthz`` on the machine's
own address (``http://127.0.0.1:8000/healthz`` in docker-compose.yml), which is
not one of the public ``ALLOWED_HOSTS``, and over plain HTTP behind the TLS
proxy. This middleware comes first in ``MIDDLEWARE`` and answers that one path
without reading the Host header, so neither host validation nor the HTTPS
redirect turns a healthy web process into a 400 or a 301.

It says "ok" when the database and the broker answer; "degraded" when the
broker does not (pages and reads work, writes keep their tasks in the outbox),
with the number of tasks waiting; "unavailable" when the database does not.
Always with 200: it checks that this web process answers (the container's
liveness), and restarting a web process mends neither service; monitoring
reads the text.
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


def health_report() -> str:
    """The text of the health check."""
    try:
        waiting = outbox_waiting()
    except DatabaseError:
        return "unavailable: the database does not answer"
    if not broker_answers():
        return f"degraded: the broker does not answer; {waiting} tasks kept in the outbox"
    return "ok"


class HealthCheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == HEALTH_PATH and request.method in ("GET", "HEAD"):
            return HttpResponse(health_report(), content_type="text/plain")
        return self.get_response(request)
