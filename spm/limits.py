"""Request bodies over the size limits are refused with 413 before anything
reads them.

Two limits (settings, from the environment): ``SPM_MAX_UPLOAD_BYTES`` for a
file upload (``multipart/form-data``: the CSV import pages) and Django's
``DATA_UPLOAD_MAX_MEMORY_SIZE`` for every other body (API JSON, forms). A
request whose ``Content-Length`` is over its limit gets 413 at once: as
``application/problem+json`` under ``/api/``, as a page elsewhere. A body
that turns out larger than declared raises Django's ``RequestDataTooBig``
while it is read; ``spm.handlers.bad_request`` answers that with the same 413.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

API_PREFIX = "/api/"
# The part of a refused body read and discarded before answering, so that the
# client, still sending, reads the 413 instead of a reset connection. Beyond
# it the connection is closed unread (a proxy in front should refuse first).
DRAIN_LIMIT = 64 * 1024 * 1024
CHUNK = 256 * 1024


def body_limit(request: HttpRequest) -> int:
    """The largest body this request may carry, in bytes."""
    if request.META.get("CONTENT_TYPE", "").startswith("multipart/form-data"):
        return int(settings.SPM_MAX_UPLOAD_BYTES)
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def too_large_response(request: HttpRequest, limit: int) -> HttpResponse:
    """413: problem+json for the API, a page for the browser."""
    detail = f"The request body is larger than the limit of {_megabytes(limit)}."
    if request.path_info.startswith(API_PREFIX):
        body = {
            "type": "urn:spm:problem:content-too-large",
            "title": "Content Too Large",
            "status": 413,
            "detail": detail,
        }
        return HttpResponse(json.dumps(body), status=413, content_type="application/problem+json")
    page = render_to_string("413.html", {"limit": _megabytes(limit)}, request=request)
    return HttpResponse(page, status=413)


def _drain(request: HttpRequest, length: int) -> None:
    stream = request.META.get("wsgi.input")
    if stream is None:
        return
    left = length
    while left > 0:
        chunk = stream.read(min(CHUNK, left))
        if not chunk:
            return
        left -= len(chunk)


class RequestSizeLimitMiddleware:
    """Refuse a body whose declared length is over its limit (``body_limit``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = body_limit(request)
        if length > limit:
            if length <= DRAIN_LIMIT:
                _drain(request, length)
            return too_large_response(request, limit)
        return self.get_response(request)
