"""A record's version for optimistic concurrency: the API's ``ETag`` and the
hidden ``version`` field of the browser's edit forms are the same value.

The version is a digest of the record's stored field values, so any change
(through the API, a page, an import, a bulk ``update()``) gives a new one.
"""

from __future__ import annotations

import hashlib

from django.db import models

STALE_RECORD = (
    "Someone else changed this record since you opened it. Reload the page to see "
    "their changes, then make yours again."
)


def etag_for(instance: models.Model) -> str:
    """The quoted strong ETag of ``instance``'s stored field values."""
    digest = hashlib.sha256()
    for field in instance._meta.concrete_fields:
        digest.update(f"{field.attname}={field.value_to_string(instance)}\x1f".encode())
    return f'"{digest.hexdigest()[:32]}"'


def stored(instance: models.Model) -> models.QuerySet:
    """``instance``'s row as stored, by its tenant and id."""
    return type(instance)._base_manager.filter(
        tenant_id=instance.tenant_id,  # type: ignore[attr-defined]
        pk=instance.pk,
    )


def current_version(instance: models.Model) -> str:
    """``instance``'s version as stored now, the row locked until the
    transaction ends (no other writer slips in between the check and the save).
    Call inside a transaction."""
    return etag_for(stored(instance).select_for_update().get())
