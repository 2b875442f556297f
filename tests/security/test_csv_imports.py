"""CSV imports under bad input: a 10,000-row deal file with 3% bad rows,
uploaded and run the way the import page runs it (upload, map, the task's
``import_batch_run``); file encodings and separators; over-size uploads.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import override_settings

from pipeline import importing
from pipeline.models import Account, Deal, ImportBatch, StageChange
from spm.models import TaskRun
from spm.tenancy.context import tenant_context
from tests.conftest import client_for

HEADER = "Opportunity ID,Opportunity Name,Account Name,Opportunity Owner,Amount,Stage,Close Date"
COLUMNS = HEADER.split(",")
ROWS = 10_000
OWNERS = ["rep1@alpha.test", "rep2@alpha.test", "rep3@alpha.test"]
STAGES = ["Qualification", "Needs analysis", "Closing", "Closed won", "Closed lost"]
# One fault per bad row: (field, column, value it puts there, the reason reported).
FAULTS = [
    ("amount", "Amount", "12,50", "'12,50' is not a valid amount: write it as 12500.00"),
    ("owner", "Opportunity Owner", "ghost@alpha.test", "No member with email or name"),
    ("expected_close_date", "Close Date", "2027-02-30", "'2027-02-30' is not a date"),
    ("stage", "Stage", "Signed", "'Signed' is not a stage of 'New Business'"),
    ("amount", "Amount", "-5.00", "The amount cannot be negative"),
]


def _is_bad(i: int) -> bool:
    return i % 100 in (7, 41, 77)  # 300 of 10,000 rows: 3%


def _row(i: int) -> list[str]:
    return [
        f"BIG-{i:05d}",
        f"Deal {i}",
        f"Account {i % 700}",
        OWNERS[i % 3],
        f"{1000 + i}.25",
        STAGES[i % 5],
        f"2027-{1 + i % 12:02d}-15",
    ]


def _file() -> tuple[str, dict[int, tuple[str, str, str]]]:
    """The file's text and its bad rows: line -> (field, column, reason start)."""
    lines = [HEADER]
    bad: dict[int, tuple[str, str, str]] = {}
    for i in range(ROWS):
        values = _row(i)
        if _is_bad(i):
            field, column, value, reason = FAULTS[i % len(FAULTS)]
            values[COLUMNS.index(column)] = value
            bad[i + 2] = (field, column, reason)
        lines.append(",".join(f'"{v}"' if "," in v else v for v in values))
    return "\n".join(lines) + "\n", bad


GOOD_IDS = {f"BIG-{i:05d}" for i in range(ROWS) if not _is_bad(i)}
GOOD_TOTAL = sum(Decimal(f"{1000 + i}.25") for i in range(ROWS) if not _is_bad(i))


@pytest.fixture
def frozen_today():
    with time_machine.travel(dt.datetime(2027, 2, 15, 12, tzinfo=dt.UTC), tick=False):
        yield


def _upload(client, tenant, content: bytes) -> ImportBatch:  # type: ignore[no-untyped-def]
    upload = SimpleUploadedFile("deals.csv", content, content_type="text/csv")
    response = client.post("/alpha/pipeline/import/", {"kind": "deals", "file": upload})
    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant_context(tenant):
        return ImportBatch.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-1]))


def _run(client, tenant, batch: ImportBatch, *, all_or_nothing: bool) -> TaskRun:  # type: ignore[no-untyped-def]
    post = {f"map_{f}": h for f, h in batch.mapping.items()}
    if all_or_nothing:
        post["all_or_nothing"] = "on"
    response = client.post(f"/alpha/pipeline/import/{batch.pk}/", post)
    assert response.status_code == 302
    importing.import_batch_run(tenant, batch_id=batch.pk)
    with tenant_context(tenant):
        batch.refresh_from_db()
        return TaskRun.objects.get(pk=batch.run_id)


def _deal_versions() -> dict[str, str]:
    """Each deal's row version (PostgreSQL's xmin): any rewrite changes it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT external_id, xmin::text FROM pipeline_deal")
        return dict(cursor.fetchall())


def test_ten_thousand_rows_with_three_percent_bad(world_a, frozen_today):
    content, bad = _file()
    assert len(bad) == 300
    client = client_for(world_a.admin.user)
    batch = _upload(client, world_a.tenant, content.encode())

    # All or nothing: every bad row reported with its line, field, column and
    # reason; nothing written.
    run = _run(client, world_a.tenant, batch, all_or_nothing=True)
    assert (run.status, run.rows) == ("failed", 0)
    assert run.message == "300 of 10000 rows have errors; nothing was imported."
    assert (run.result["bad_rows"], run.result["error_count"]) == (300, 300)
    reported = {e["row"]: e for e in run.result["errors"]}
    assert set(reported) == set(bad)
    for line, (field, column, reason) in bad.items():
        error = reported[line]
        assert (error["field"], error["column"]) == (field, column)
        assert error["message"].startswith(reason), (line, error["message"])
    with tenant_context(world_a.tenant):
        assert (Deal.objects.count(), Account.objects.count(), StageChange.objects.count()) == (
            0,
            0,
            0,
        )
        # The report page lists every bad row.
        status = client.get(f"/alpha/pipeline/import/{batch.pk}/status/").content.decode()
        assert status.count('<tr><td class="num">') == 300
        assert "300 errors in 300 rows" in status

        # Valid rows only: exactly the good ones, with their exact amounts.
        run = _run(client, world_a.tenant, batch, all_or_nothing=False)
        assert (run.status, run.rows) == ("succeeded", 9700)
        assert (run.result["created"], run.result["skipped"], run.result["bad_rows"]) == (
            9700,
            300,
            300,
        )
        assert set(Deal.objects.values_list("external_id", flat=True)) == GOOD_IDS
        assert sum(Deal.objects.values_list("amount", flat=True)) == GOOD_TOTAL
        versions = _deal_versions()
        stage_changes = StageChange.objects.count()

        # The same file again: idempotent, no deal row rewritten.
        run = _run(client, world_a.tenant, batch, all_or_nothing=False)
        assert (run.result["created"], run.result["updated"], run.result["unchanged"]) == (
            0,
            0,
            9700,
        )
        assert _deal_versions() == versions
        assert StageChange.objects.count() == stage_changes


SMALL_HEADER = (
    "Opportunity ID;Opportunity Name;Account Name;Opportunity Owner;Amount;Stage;Close Date"
)


def _import_small(world_a, content: bytes) -> TaskRun:  # type: ignore[no-untyped-def]
    client = client_for(world_a.admin.user)
    batch = _upload(client, world_a.tenant, content)
    return _run(client, world_a.tenant, batch, all_or_nothing=True)


def test_utf8_with_bom_and_latin1_files_keep_their_accents(world_a, frozen_today):
    text = (
        "Opportunity ID,Opportunity Name,Account Name,Opportunity Owner,Amount,Stage,Close Date\n"
        "E-1,Renouvellement été,Müller GmbH,rep1@alpha.test,1200.50,Qualification,2027-03-31\n"
    )
    run = _import_small(world_a, b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert run.status == "succeeded", run.result
    run = _import_small(world_a, text.replace("E-1", "L-1").encode("latin-1"))
    assert run.status == "succeeded", run.result
    with tenant_context(world_a.tenant):
        assert sorted(Deal.objects.values_list("external_id", "name", "account__name")) == [
            ("E-1", "Renouvellement été", "Müller GmbH"),
            ("L-1", "Renouvellement été", "Müller GmbH"),
        ]


def test_semicolon_files_read_decimal_commas(world_a, frozen_today):
    text = (
        f"{SMALL_HEADER}\n"
        "S-1;Erweiterung;Acme;rep1@alpha.test;1.234,56;Qualification;31.03.2027\n"
        "S-2;Neu;Acme;rep1@alpha.test;99,5 €;Qualification;2027-03-31\n"
        "S-3;Punkt;Acme;rep1@alpha.test;700.25;Qualification;2027-03-31\n"
    )
    run = _import_small(world_a, text.encode("cp1252"))
    assert run.status == "succeeded", run.result
    with tenant_context(world_a.tenant):
        assert sorted(Deal.objects.values_list("external_id", "amount")) == [
            ("S-1", Decimal("1234.56")),
            ("S-2", Decimal("99.50")),
            ("S-3", Decimal("700.25")),
        ]


def test_a_comma_that_is_not_a_thousands_separator_is_refused_in_comma_files(
    world_a, in_tenant_a, frozen_today
):
    text = (
        "Opportunity ID,Opportunity Name,Account Name,Opportunity Owner,Amount,Stage,Close Date\n"
        'C-1,Big,Acme,rep1@alpha.test,"12,500.00",Qualification,2027-03-31\n'
        'C-2,Small,Acme,rep1@alpha.test,"12,50",Qualification,2027-03-31\n'
    )
    result, errors, _ = importing.import_file(
        world_a.tenant, kind="deals", content=text, actor=None, all_or_nothing=False
    )
    assert [(e.row, e.field) for e in errors] == [(3, "amount")]
    assert list(Deal.objects.values_list("external_id", "amount")) == [("C-1", Decimal("12500.00"))]


def test_utf16_and_binary_files_are_refused_clearly(world_a):
    client = client_for(world_a.admin.user)
    for content in ("Opportunity ID,Amount\nX,1\n".encode("utf-16"), b"PK\x03\x04\x00\x00zip"):
        upload = SimpleUploadedFile("deals.csv", content, content_type="text/csv")
        response = client.post("/alpha/pipeline/import/", {"kind": "deals", "file": upload})
        assert response.status_code == 200
        assert "holds a NUL byte: this is not a text CSV file" in response.content.decode()
    with tenant_context(world_a.tenant):
        assert ImportBatch.objects.count() == 0


@override_settings(SPM_MAX_UPLOAD_BYTES=1024 * 1024)
def test_an_over_size_upload_gets_413_page_and_nothing_is_stored(world_a):
    client = client_for(world_a.admin.user)
    content = (HEADER + "\n" + "x" * 80 + "\n") * 14_000  # ~1.2 MB
    upload = SimpleUploadedFile("deals.csv", content.encode(), content_type="text/csv")
    response = client.post("/alpha/pipeline/import/", {"kind": "deals", "file": upload})
    assert response.status_code == 413
    assert "The upload is too large" in response.content.decode()
    assert "1 MB" in response.content.decode()
    with tenant_context(world_a.tenant):
        assert ImportBatch.objects.count() == 0


def test_an_over_size_api_body_gets_413_problem_json(world_a):
    client = client_for(world_a.admin.user)
    body = json.dumps({"items": [{"name": "x" * 1000}] * 6000})  # ~6 MB, over the 5 MB default
    response = client.post("/api/v1/alpha/deals/bulk/", body, content_type="application/json")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert response.json() == {
        "type": "urn:spm:problem:content-too-large",
        "title": "Content Too Large",
        "status": 413,
        "detail": "The request body is larger than the limit of 5 MB.",
    }


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_form_field_over_the_limit_found_while_reading_gets_413(world_a):
    # The upload's declared length is within the upload limit; Django finds a
    # form field over DATA_UPLOAD_MAX_MEMORY_SIZE while reading the body
    # (RequestDataTooBig) and the answer is still 413, not 400 or 500.
    client = client_for(world_a.admin.user)
    upload = SimpleUploadedFile("deals.csv", b"a,b\n1,2\n", content_type="text/csv")
    response = client.post(
        "/alpha/pipeline/import/", {"kind": "deals" + " " * 2000, "file": upload}
    )
    assert response.status_code == 413
    assert "The upload is too large" in response.content.decode()
