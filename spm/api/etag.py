"""Optimistic concurrency: ``ETag`` on reads, ``If-Match`` required on PUT/PATCH.

The ETag is the record's version (``spm.versioning``); the browser's edit
forms carry the same version in a hidden field and refuse a stale save the
same way (``spm.forms.version_is_current``).
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from spm.api.errors import PreconditionFailed, PreconditionRequired
from spm.versioning import current_version, etag_for, stored

CHECKED_METHODS = frozenset({"PUT", "PATCH"})
VERSIONED_ACTIONS = frozenset({"retrieve", "update", "partial_update"})


def if_match_tags(header: str) -> set[str]:
    return {tag.strip() for tag in header.split(",") if tag.strip()}


class ETagMixin:
    """For tenant viewsets of versioned records: every detail answer carries
    the record's ``ETag``; PUT and PATCH need ``If-Match`` (428 without it,
    412 when it is not the current ETag, nothing saved)."""

    def get_object(self) -> Any:
        instance = super().get_object()  # type: ignore[misc]
        request: Request = self.request  # type: ignore[attr-defined]
        if getattr(self, "action", None) not in VERSIONED_ACTIONS:
            return instance
        if request.method in CHECKED_METHODS:
            header = request.headers.get("If-Match")
            if not header:
                raise PreconditionRequired()
            tags = if_match_tags(header)
            if "*" not in tags and current_version(instance) not in tags:
                raise PreconditionFailed()
        self._etag_instance = instance
        return instance

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        instance = getattr(self, "_etag_instance", None)
        if instance is None or not 200 <= response.status_code < 300:
            return response
        if request.method in CHECKED_METHODS:
            # The answer describes the record as saved: read its new version.
            instance = stored(instance).first()
        if instance is not None:
            response["ETag"] = etag_for(instance)
        return response
