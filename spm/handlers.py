"""The project's 400 and 404 handlers (``spm.urls``): under ``/api/`` every
error is problem+json, also those raised before any API view runs."""

from __future__ import annotations

import json

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.views import defaults

from spm.limits import API_PREFIX, body_limit, too_large_response


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler400``: a body found over its limit while being read (Django's
    ``RequestDataTooBig``) is 413, like one declared over it; any other bad
    request is Django's 400."""
    if isinstance(exception, RequestDataTooBig):
        return too_large_response(request, body_limit(request))
    return defaults.bad_request(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler404``: an API address that matches no route (``/api/v1/acme/
    quotas/abc/``) is problem+json like every API error; pages get the 404 page."""
    if request.path_info.startswith(API_PREFIX):
        body = {
            "type": "about:blank",
            "title": "Not Found",
            "status": 404,
            "detail": "No API endpoint or record at this address.",
        }
        return HttpResponse(json.dumps(body), status=404, content_type="application/problem+json")
    return defaults.page_not_found(request, exception)
