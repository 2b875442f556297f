"""The health check answered before anything else looks at the request.

Container health checks and load balancers call ``/healthz`` on the machine's
own address (``http://127.0.0.1:8000/healthz`` in docker-compose.yml), which is
not one of the public ``ALLOWED_HOSTS``, and over plain HTTP behind the TLS
proxy. This middleware comes first in ``MIDDLEWARE`` and answers that one path
without reading the Host header, so neither host validation nor the HTTPS
redirect turns a healthy web process into a 400 or a 301. It reads nothing
else and says only "ok".
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

HEALTH_PATH = "/healthz"


class HealthCheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == HEALTH_PATH and request.method in ("GET", "HEAD"):
            return HttpResponse("ok", content_type="text/plain")
        return self.get_response(request)
