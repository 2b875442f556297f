"""Optimistic concurrency: ``ETag`` on reads, ``If-Match`` required on PUT/PATCH.

A record's version (:func:`etag_for`) is a digest of its stored field
values, so any change, through the API, a page, an import or a bulk update,
gives it a new one. The browser's edit forms carry the same version in a
hidden field (``spm.forms.VersionedFormMixin``) and refuse a stale save the
same way.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import models
from rest_framework.request import Request
from rest_framework.response import Response

from spm.api.errors import PreconditionFailed, PreconditionRequired

CHECKED_METHODS = frozenset({"PUT", "PATCH"})
VERSIONED_ACTIONS = frozenset({"retrieve", "update", "partial_update"})


def etag_for(instance: models.Model) -> str:
    """The quoted strong ETag of ``instance``'s stored field values."""
    digest = hashlib.sha256()
    for field in instance._meta.concrete_fields:
        digest.update(f"{field.attname}={field.value_to_string(instance)}\x1f".encode())
    return f'"{digest.hexdigest()[:32]}"'


def current_version(instance: models.Model) -> str:
    """``instance``'s ETag as stored now, the row locked until the transaction
    ends (so no other writer slips in between the check and the save)."""
    return etag_for(_stored(instance).select_for_update().get())


def _stored(instance: models.Model) -> models.QuerySet:
    return type(instance)._base_manager.filter(
        tenant_id=instance.tenant_id,  # type: ignore[attr-defined]
        pk=instance.pk,
    )


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
            instance = _stored(instance).first()
        if instance is not None:
            response["ETag"] = etag_for(instance)
        return response
