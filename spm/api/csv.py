"""Exports: ``?format=csv`` / ``?format=xlsx`` (or ``Accept: text/csv`` / the
XLSX media type) on every list endpoint and report.

An export is the whole filtered, ordered result (no page limit), read in
batches of ``CSV_BATCH`` rows, with its header row always, also when nothing
matches; CSV and XLSX have the same columns. CSV streams line by line. XLSX
is written row by row by a write-only workbook into a temporary file (memory
stays flat however many rows) and streamed from it. Nested values (a deal's
splits) are JSON text in their cell; empty values are empty cells.

In XLSX, numbers are numeric cells: integers as they are, decimals with their
exact digits (never through a float) and a format of their own places
(``#,##0.00`` for money). Text that a spreadsheet would run as a formula (starting with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return, and not a plain
number) is neutralised in both formats with a leading apostrophe.
"""

from __future__ import annotations

import csv
import json
import re
import tempfile
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from itertools import batched
from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from rest_framework import mixins, serializers
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from spm.models import Tenant
from spm.tenancy.context import tenant_context

CSV_BATCH = 2000
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_FORMATS = ("csv", "xlsx")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def neutralise(text: str) -> str:
    """``text`` with a leading apostrophe when a spreadsheet would take it for a formula."""
    if text.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(text):
        return f"'{text}"
    return text


def _text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return neutralise(json.dumps(value, default=str))
    if isinstance(value, str):
        return neutralise(value)
    return value


class _Echo:
    """A file-like object whose ``write`` hands the line back (for streaming)."""

    def write(self, value: str) -> str:
        return value


def csv_lines(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """The header, then one line per row (missing keys are empty cells)."""
    writer = csv.writer(_Echo())
    yield writer.writerow([neutralise(column) for column in columns])
    for row in rows:
        yield writer.writerow([_text(row.get(column)) for column in columns])


def csv_response(
    columns: Sequence[str], rows: Iterable[Mapping[str, Any]], *, filename: str
) -> StreamingHttpResponse:
    """A streamed ``text/csv`` download of ``rows`` under ``columns``."""
    response = StreamingHttpResponse(csv_lines(columns, rows), content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str) and PLAIN_NUMBER.fullmatch(value):
        try:
            return Decimal(value)
        except InvalidOperation:
            return None
    return None


def _xlsx_cell(sheet: WriteOnlyWorksheet, value: Any, *, decimal: bool) -> Any:
    number = _decimal(value) if decimal or isinstance(value, Decimal) else None
    if number is not None:
        places = max(0, -int(number.as_tuple().exponent))
        cell = WriteOnlyCell(sheet, value=0)
        # A numeric cell whose stored text is the decimal itself: openpyxl would
        # print a Decimal through a float ("%.16g"), which is not exact past 15 digits.
        cell._value = format(number, "f")  # type: ignore[attr-defined]
        cell.number_format = "#,##0" + ("." + "0" * places if places else "")
        return cell
    if isinstance(value, bool) or not isinstance(value, int):
        text = _text(value)
        # XML cannot hold control characters: the cell keeps the rest of the text.
        return ILLEGAL_CHARACTERS_RE.sub("", text) if isinstance(text, str) else text
    return value


def xlsx_file(
    columns: Sequence[str],
    rows: Iterable[Mapping[str, Any]],
    *,
    title: str,
    decimals: Collection[str] = (),
) -> Any:
    """A temporary file (at its start) holding ``rows`` under ``columns`` as one
    XLSX sheet; values of the ``decimals`` columns (decimal strings or
    ``Decimal``) become exact numeric cells."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31] or "export")
    sheet.append([neutralise(column) for column in columns])
    flags = [column in decimals for column in columns]
    output = tempfile.TemporaryFile()  # noqa: SIM115 - the response closes it
    try:
        for row in rows:
            sheet.append(
                [
                    _xlsx_cell(sheet, row.get(column), decimal=flag)
                    for column, flag in zip(columns, flags, strict=True)
                ]
            )
    except BaseException:
        # A row failed (a query error, say): saving is what closes and removes
        # the sheet's own temporary file; the partial workbook is dropped.
        workbook.save(output)
        output.close()
        raise
    workbook.save(output)
    output.seek(0)
    return output


def xlsx_response(
    columns: Sequence[str],
    rows: Iterable[Mapping[str, Any]],
    *,
    filename: str,
    decimals: Collection[str] = (),
) -> FileResponse:
    """A streamed XLSX download of ``rows`` under ``columns``."""
    output = xlsx_file(columns, rows, title=filename, decimals=decimals)
    return FileResponse(
        output, as_attachment=True, filename=f"{filename}.xlsx", content_type=XLSX_CONTENT_TYPE
    )


def export_response(
    export_format: str,
    columns: Sequence[str],
    rows: Iterable[Mapping[str, Any]],
    *,
    filename: str,
    decimals: Collection[str] = (),
) -> HttpResponseBase:
    if export_format == "xlsx":
        return xlsx_response(columns, rows, filename=filename, decimals=decimals)
    return csv_response(columns, rows, filename=filename)


def page_export(
    request: HttpRequest,
    tenant: Tenant,
    queryset: QuerySet,
    columns: Sequence[tuple[str, str]],
    *,
    filename: str,
) -> HttpResponseBase:
    """A page's download of ``queryset`` under ``columns`` ((field, header)
    pairs): CSV, or XLSX with ``?as=xlsx``, through the same writers as the
    API. The rows are read inside ``tenant`` (a CSV streams after the view has
    returned and its transaction has ended)."""
    names = [name for name, _ in columns]
    headers = [header for _, header in columns]

    def rows() -> Iterator[Mapping[str, Any]]:
        with tenant_context(tenant):
            for row in queryset.values_list(*names).iterator(chunk_size=CSV_BATCH):
                yield dict(zip(headers, row, strict=True))

    export = "xlsx" if request.GET.get("as") == "xlsx" else "csv"
    return export_response(export, headers, rows(), filename=filename)


def export_format(request: Request) -> str | None:
    """``csv`` or ``xlsx`` when the request asks for an export, else None."""
    renderer = getattr(request, "accepted_renderer", None)
    fmt = getattr(renderer, "format", None)
    return fmt if fmt in EXPORT_FORMATS else None


def wants_csv(request: Request) -> bool:
    return export_format(request) == "csv"


def _rows(data: Any) -> list[Mapping[str, Any]]:
    """What a renderer is given, as rows: a list, one object, or nothing (204)."""
    if data is None:
        return []
    return data if isinstance(data, list) else [data]


class CsvRenderer(BaseRenderer):
    """Lets ``?format=csv`` and ``Accept: text/csv`` negotiate. Lists and reports
    answer with :func:`export_response`; what reaches this renderer is one
    object (a row under its keys) or an error, which stays a problem+json
    document."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> bytes:
        response = (renderer_context or {}).get("response")
        if response is not None and response.status_code >= 400:
            return JSONRenderer().render(data)
        rows = _rows(data)
        columns = list(rows[0]) if rows else []
        return "".join(csv_lines(columns, rows)).encode("utf-8")


class XlsxRenderer(BaseRenderer):
    """``?format=xlsx`` and ``Accept: <the XLSX media type>``, as :class:`CsvRenderer`."""

    media_type = XLSX_CONTENT_TYPE
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> bytes:
        response = (renderer_context or {}).get("response")
        if response is not None and response.status_code >= 400:
            return JSONRenderer().render(data)
        rows = _rows(data)
        columns = list(rows[0]) if rows else []
        with xlsx_file(columns, rows, title="export") as output:
            return output.read()


RENDERERS = [JSONRenderer, BrowsableAPIRenderer, CsvRenderer, XlsxRenderer]


def decimal_columns(fields: Mapping[str, serializers.Field]) -> set[str]:
    """The serializer fields that carry decimals (money, rates)."""
    return {name for name, field in fields.items() if isinstance(field, serializers.DecimalField)}


class CsvListModelMixin(mixins.ListModelMixin):
    """``list`` that answers the whole filtered result as a CSV or XLSX export
    when one is asked for (JSON stays paginated). Every list endpoint uses it."""

    renderer_classes: Sequence[type[BaseRenderer]] = RENDERERS

    # An export streams, so it is a streaming HTTP response, not a DRF Response.
    def list(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:  # type: ignore[override]
        fmt = export_format(request)
        if fmt is None:
            return super().list(request, *args, **kwargs)
        queryset = self.filter_queryset(self.get_queryset())  # type: ignore[attr-defined]
        fields = self.get_serializer().fields  # type: ignore[attr-defined]
        columns = [name for name, field in fields.items() if not field.write_only]
        filename = request.path.rstrip("/").rsplit("/", 1)[-1]
        return export_response(
            fmt,
            columns,
            self._csv_rows(queryset),
            filename=filename,
            decimals=decimal_columns(fields),
        )

    def _csv_rows(self, queryset: QuerySet) -> Iterator[Mapping[str, Any]]:
        # A CSV runs while the response streams, after the request's transaction
        # has ended: the tenant is entered again for the read.
        with tenant_context(self.tenant):  # type: ignore[attr-defined]
            for batch in batched(queryset.iterator(chunk_size=CSV_BATCH), CSV_BATCH):
                yield from self.get_serializer(list(batch), many=True).data  # type: ignore[attr-defined]


def csv_or_json(
    request: Request,
    body: Mapping[str, Any],
    *,
    columns: Sequence[str],
    filename: str,
    decimals: Collection[str] = (),
) -> HttpResponseBase:
    """A report's answer: ``body`` as JSON, or its ``rows`` as CSV or XLSX under
    ``columns`` (``decimals``: the columns holding decimal numbers)."""
    fmt = export_format(request)
    if fmt is not None:
        return export_response(fmt, columns, body["rows"], filename=filename, decimals=decimals)
    return Response(body)
