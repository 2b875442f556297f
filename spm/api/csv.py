"""CSV exports: ``?format=csv`` (or ``Accept: text/csv``) on every list endpoint
and report.

A CSV export is the whole filtered, ordered result (no page limit), streamed in
batches of ``CSV_BATCH`` rows, with its header line always, also when nothing
matches. Nested values (a deal's splits) are JSON text in their cell; empty
values are empty cells.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import batched
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.http.response import HttpResponseBase
from rest_framework import mixins
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from spm.tenancy.context import tenant_context

CSV_BATCH = 2000
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"


class _Echo:
    """A file-like object whose ``write`` hands the line back (for streaming)."""

    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, default=str)
    return value


def csv_lines(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """The header, then one line per row (missing keys are empty cells)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(columns)
    for row in rows:
        yield writer.writerow([_cell(row.get(column)) for column in columns])


def csv_response(
    columns: Sequence[str], rows: Iterable[Mapping[str, Any]], *, filename: str
) -> StreamingHttpResponse:
    """A streamed ``text/csv`` download of ``rows`` under ``columns``."""
    response = StreamingHttpResponse(csv_lines(columns, rows), content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def wants_csv(request: Request) -> bool:
    renderer = getattr(request, "accepted_renderer", None)
    return getattr(renderer, "format", None) == "csv"


class CsvRenderer(BaseRenderer):
    """Lets ``?format=csv`` and ``Accept: text/csv`` negotiate. Lists and reports
    answer with :func:`csv_response`; what reaches this renderer is one object
    (a row under its keys) or an error, which stays a problem+json document."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> bytes:
        response = (renderer_context or {}).get("response")
        if response is not None and response.status_code >= 400:
            return JSONRenderer().render(data)
        rows = data if isinstance(data, list) else [data]
        columns = list(rows[0]) if rows else []
        return "".join(csv_lines(columns, rows)).encode("utf-8")


RENDERERS = [JSONRenderer, BrowsableAPIRenderer, CsvRenderer]


class CsvListModelMixin(mixins.ListModelMixin):
    """``list`` that answers the whole filtered result as streamed CSV when CSV
    is asked for (JSON stays paginated). Every list endpoint uses it."""

    renderer_classes: Sequence[type[BaseRenderer]] = RENDERERS

    # The CSV answer streams, so it is a StreamingHttpResponse, not a DRF Response.
    def list(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:  # type: ignore[override]
        if not wants_csv(request):
            return super().list(request, *args, **kwargs)
        queryset = self.filter_queryset(self.get_queryset())  # type: ignore[attr-defined]
        fields = self.get_serializer().fields  # type: ignore[attr-defined]
        columns = [name for name, field in fields.items() if not field.write_only]
        filename = request.path.rstrip("/").rsplit("/", 1)[-1]
        return csv_response(columns, self._csv_rows(queryset), filename=filename)

    def _csv_rows(self, queryset: QuerySet) -> Iterator[Mapping[str, Any]]:
        # Runs while the response streams, after the request's transaction has
        # ended: the tenant is entered again for the read.
        with tenant_context(self.tenant):  # type: ignore[attr-defined]
            for batch in batched(queryset.iterator(chunk_size=CSV_BATCH), CSV_BATCH):
                yield from self.get_serializer(list(batch), many=True).data  # type: ignore[attr-defined]


def csv_or_json(
    request: Request, body: Mapping[str, Any], *, columns: Sequence[str], filename: str
) -> HttpResponseBase:
    """A report's answer: ``body`` as JSON, or its ``rows`` as CSV under ``columns``."""
    if wants_csv(request):
        return csv_response(columns, body["rows"], filename=filename)
    return Response(body)
