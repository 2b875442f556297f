"""Exports in the background: any read of the tenant API (a list with its
filters, a report), written to a file by a worker for the member who asked.

A large ``?format=csv`` download holds a web process for as long as it
streams, and the other tenants' requests that land on that process wait for
it. Asked for here, the same read runs as a heavy job of the tenant (one at a
time, ``spm.tasks``) in a worker, as the member who asked and with their
reach; the web only hands out the finished file. The file is kept for
``SPM_EXPORT_DAYS`` days.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections.abc import Iterator
from contextlib import nullcontext
from typing import IO, cast
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import HttpRequest, QueryDict
from django.http.response import HttpResponseBase
from django.urls import Resolver404, resolve
from django.utils import timezone

from integrations.models import Export, ExportFormat
from spm.api.csv import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE
from spm.api.scopes import scope_denial
from spm.models import Membership, Tenant
from spm.outbox import enqueue_on_commit
from spm.services import task_run, task_run_create
from spm.tenancy.context import tenant_context
from spm.tenancy.middleware import resolve_membership
from spm.tenancy.request import TenantRequest

EXPORT_TASK = "integrations.tasks.export_task"
EXPORT_KIND = "integrations.export"
MEDIA_TYPES: dict[str, str] = {
    ExportFormat.CSV: CSV_CONTENT_TYPE,
    ExportFormat.XLSX: XLSX_CONTENT_TYPE,
}


def _api_root(tenant: Tenant) -> str:
    return f"/api/v1/{tenant.slug}/"


def export_target(tenant: Tenant, path: str, *, scopes: frozenset[str] | None = None) -> str:
    """The API read ``path`` names, as ``/api/v1/<tenant>/...?query``: a path
    relative to the tenant's API root (``deals/?status=won``) or absolute.
    Refused, naming ``path``: another host or tenant, no such endpoint, one
    that cannot be read, the exports themselves, and (for a token holding
    ``scopes``) an endpoint the token may not read."""
    parts = urlsplit(path.strip())
    root = _api_root(tenant)
    target = parts.path if parts.path.startswith("/") else root + parts.path
    if parts.scheme or parts.netloc or not target.startswith(root):
        raise ValidationError({"path": f"Give a path of this tenant's API, under {root}."})
    try:
        match = resolve(target)
    except Resolver404:
        raise ValidationError({"path": f"No API endpoint at {target}."}) from None
    view = getattr(match.func, "cls", None)
    actions = getattr(match.func, "actions", None)
    readable = "get" in actions if actions is not None else hasattr(view, "get")
    if view is None or not readable or getattr(view, "model", None) is Export:
        raise ValidationError({"path": f"{target} cannot be exported."})
    if scopes is not None:
        denial = scope_denial(
            safe=True,
            read_scope=getattr(view, "token_read_scope", None),
            write_scope=getattr(view, "token_write_scope", None),
            held=scopes,
        )
        if denial is not None:
            raise ValidationError({"path": denial})
    query = QueryDict(parts.query, mutable=True)
    query.pop("format", None)
    return f"{target}?{query.urlencode()}" if query else target


def export_request(
    tenant: Tenant,
    *,
    path: str,
    export_format: str,
    requested_by: Membership,
    scopes: frozenset[str] | None = None,
) -> Export:
    """Queue the export of ``path`` as ``export_format`` for ``requested_by``
    (see ``export_target``); a worker writes it (``export_run``)."""
    if export_format not in ExportFormat.values:
        raise ValidationError({"format": f"Choose one of: {', '.join(ExportFormat.values)}."})
    target = export_target(tenant, path, scopes=scopes)
    with transaction.atomic():
        run = task_run_create(
            tenant, kind=EXPORT_KIND, label=f"Export of {target}", created_by=requested_by
        )
        export = Export.objects.create(
            tenant=tenant,
            requested_by=requested_by,
            path=target,
            format=export_format,
            task_run=run,
            expires_at=timezone.now() + dt.timedelta(days=settings.SPM_EXPORT_DAYS),
        )
        enqueue_on_commit(EXPORT_TASK, tenant.pk, export.pk)
    return export


def _read_as(export: Export) -> HttpRequest:
    """The GET of the export's path, as its member asked for it in ``format``."""
    parts = urlsplit(export.path)
    request = HttpRequest()
    request.method = "GET"
    request.path = request.path_info = parts.path
    query = QueryDict(parts.query, mutable=True)
    query["format"] = export.format
    request.GET = query  # type: ignore[assignment]
    request.META.update(
        SERVER_NAME="localhost", SERVER_PORT="80", HTTP_ACCEPT=MEDIA_TYPES[export.format]
    )
    request.user = export.requested_by.user
    return request


def _body(response: HttpResponseBase) -> Iterator[bytes]:
    if response.streaming:
        yield from response.streaming_content  # type: ignore[attr-defined]
    else:
        yield response.content  # type: ignore[attr-defined]


def _problem(response: HttpResponseBase) -> str:
    """The error an answer of 400 or more carries (its problem+json), as a line of text."""
    try:
        body = json.loads(b"".join(_body(response)))
    except ValueError:
        body = {}
    errors = body.get("errors") or []
    reason = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or body.get("detail", "")
    return f"The read answered {response.status_code}: {reason}".rstrip(": ")


def _answer(tenant: Tenant, export: Export) -> HttpResponseBase:
    """Run the export's read in-process, as the tenant middleware would."""
    request = cast(TenantRequest, _read_as(export))
    request.tenant = tenant
    match = resolve(request.path_info)
    with timezone.override(ZoneInfo(tenant.time_zone)):
        resolve_membership(request)
        response = match.func(request, *match.args, **match.kwargs)
        if hasattr(response, "render"):
            response.render()
    return response


def _write(export: Export, response: HttpResponseBase) -> tuple[str, int]:
    """Store the answer's body; returns its name in the storage and its size."""
    name = f"exports/{export.tenant_id}/{export.pk}.{export.format}"
    with tempfile.TemporaryFile() as spool:
        for chunk in _body(response):
            spool.write(chunk)
        size = spool.tell()
        spool.seek(0)
        # A redelivered export writes its file again under the same name.
        default_storage.delete(name)
        return default_storage.save(name, File(spool)), size


def export_run(tenant: Tenant, *, export_id: int) -> None:
    """Write export ``export_id`` (the task's work). An export already finished
    (a redelivered message) is left as it is."""
    with tenant_context(tenant):
        export = Export.objects.select_related("requested_by__user", "task_run").get(
            tenant=tenant, pk=export_id
        )
    if export.task_run.is_finished:
        return
    with task_run(tenant, run_id=export.task_run_id, failure="The export failed: ") as recorder:
        with tenant_context(tenant):
            response = _answer(tenant, export)
            # Not response.close(): that would send request_finished, which
            # closes the task's database connection; only an XLSX holds a file.
            with getattr(response, "file_to_stream", None) or nullcontext():
                if response.status_code != 200:
                    recorder.outcome(ok=False, message=_problem(response))
                    return
                name, size = _write(export, response)
            Export.objects.filter(tenant=tenant, pk=export.pk).update(file=name, size=size)
        recorder.outcome(result={"file": name, "size": size})


def export_open(export: Export) -> IO[bytes]:
    """The finished export's file, for its download."""
    return cast(IO[bytes], default_storage.open(export.file, "rb"))


def export_filename(export: Export) -> str:
    """``<endpoint>-<date>.<format>``: ``deals-2026-12-07.csv``."""
    resource = urlsplit(export.path).path.rstrip("/").rsplit("/", 1)[-1]
    day = timezone.localdate(export.created_at, ZoneInfo(export.tenant.time_zone))
    return f"{resource}-{day.isoformat()}.{export.format}"


def exports_expire(tenant: Tenant, *, now: dt.datetime | None = None) -> int:
    """Delete the tenant's expired exports and their files; returns how many."""
    now = now or timezone.now()
    with tenant_context(tenant):
        expired = list(Export.objects.filter(tenant=tenant, expires_at__lte=now))
        for export in expired:
            if export.file:
                default_storage.delete(export.file)
        Export.objects.filter(tenant=tenant, pk__in=[e.pk for e in expired]).delete()
    return len(expired)
