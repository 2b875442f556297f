"""XLSX beside CSV: the same columns, exact decimals as numeric cells, formula-looking
text neutralised in both."""

from __future__ import annotations

import csv
import gc
import io
import re
import tempfile
import zipfile

import pytest
from openpyxl import load_workbook

from spm.api.csv import xlsx_file
from tests.conftest import api_client_for, client_for

pytestmark = pytest.mark.django_db

NAMES = ['=HYPERLINK("http://x")', "+1 call", "-rebate", "@SUM(A1)", "Plain"]
AMOUNTS = ["1234567.89", "0.10", "99999999.99", "12.00", "7.05"]


def _deals(world) -> None:
    items = [
        {
            "external_id": f"X-{i}",
            "name": name,
            "owner": "rep1@alpha.test",
            "amount": amount,
            "stage": "Qualification",
            "expected_close_date": "2027-03-31",
        }
        for i, (name, amount) in enumerate(zip(NAMES, AMOUNTS, strict=True))
    ]
    response = api_client_for(world.admin.user).post(
        "/api/v1/alpha/deals/bulk/", {"items": items}, format="json"
    )
    assert response.status_code == 200, response.json()


def _sheet_xml(content: bytes) -> str:
    return zipfile.ZipFile(io.BytesIO(content)).read("xl/worksheets/sheet1.xml").decode()


def test_deals_xlsx_has_the_csv_columns_exact_decimals_and_neutralised_text(world_a):
    _deals(world_a)
    client = api_client_for(world_a.admin.user)

    xlsx = client.get("/api/v1/alpha/deals/?format=xlsx&ordering=id")
    csv_response = client.get("/api/v1/alpha/deals/?format=csv&ordering=id")

    assert xlsx.status_code == 200
    assert xlsx["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert xlsx["Content-Disposition"] == 'attachment; filename="deals.xlsx"'
    content = b"".join(xlsx.streaming_content)
    csv_rows = list(csv.reader(io.StringIO(b"".join(csv_response.streaming_content).decode())))
    sheet = load_workbook(io.BytesIO(content), read_only=True).active
    xlsx_rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    header = xlsx_rows[0]
    assert header == csv_rows[0]
    name_col, amount_col = header.index("name"), header.index("amount")
    expected_names = ['\'=HYPERLINK("http://x")', "'+1 call", "'-rebate", "'@SUM(A1)", "Plain"]
    assert [row[name_col] for row in xlsx_rows[1:]] == expected_names
    assert [row[name_col] for row in csv_rows[1:]] == expected_names
    assert [row[amount_col] for row in csv_rows[1:]] == AMOUNTS
    # The amounts are numeric cells holding the exact decimal, formatted with two places.
    xml = _sheet_xml(content)
    column = chr(ord("A") + amount_col)
    cells = re.findall(rf'<c r="{column}(\d+)" s="(\d+)" t="n"><v>([^<]+)</v></c>', xml)
    assert [value for _, _, value in cells] == AMOUNTS
    amounts = load_workbook(io.BytesIO(content)).active.iter_rows(min_row=2, values_only=False)
    assert {row[amount_col].number_format for row in amounts} == {"#,##0.00"}
    assert "<f>" not in xml


def test_a_report_exports_as_xlsx_with_its_csv_columns(world_a):
    client = api_client_for(world_a.admin.user)
    periods = client.get("/api/v1/alpha/periods/?kind=quarter&fiscal_year=2027").json()
    quarter = periods["results"][0]["id"]

    response = client.get(
        f"/api/v1/alpha/kpi-reports/leaderboard/?format=xlsx&period={quarter}&kpi=bookings"
    )

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    rows = [list(row) for row in sheet.active.iter_rows(values_only=True)]
    assert rows[0] == ["rank", "member", "name", "team", "kpi", "value"]


def test_the_deal_page_exports_xlsx_and_neutralises_its_csv(world_a):
    _deals(world_a)
    client = client_for(world_a.admin.user)

    page_csv = client.get("/alpha/pipeline/deals/export.csv?status=open")
    page_xlsx = client.get("/alpha/pipeline/deals/export.csv?status=open&as=xlsx")

    csv_rows = list(csv.reader(io.StringIO(b"".join(page_csv.streaming_content).decode())))
    sheet = load_workbook(io.BytesIO(b"".join(page_xlsx.streaming_content))).active
    xlsx_rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    name_col = csv_rows[0].index("Name")
    amount_col = csv_rows[0].index("Amount")
    assert xlsx_rows[0] == csv_rows[0]
    assert sorted(row[name_col] for row in csv_rows[1:]) == sorted(
        ['\'=HYPERLINK("http://x")', "'+1 call", "'-rebate", "'@SUM(A1)", "Plain"]
    )
    assert sorted(row[name_col] for row in xlsx_rows[1:]) == sorted(
        row[name_col] for row in csv_rows[1:]
    )
    assert {sheet.cell(row=n, column=amount_col + 1).number_format for n in range(2, 7)} == {
        "#,##0.00"
    }


def test_an_export_whose_rows_fail_leaves_no_temporary_file(tmp_path, monkeypatch):
    # openpyxl's write-only sheet keeps its rows in a temporary file of its
    # own; a failing row must not leave it behind (nor close it under the
    # sheet, which then complains when collected).
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def rows():
        yield {"name": "first", "amount": "1.00"}
        raise ValueError("the query failed")

    with pytest.raises(ValueError, match="the query failed"):
        xlsx_file(["name", "amount"], rows(), title="deals", decimals=["amount"])
    gc.collect()
    assert list(tmp_path.iterdir()) == []
    # A complete export still works and leaves only its own file, which the caller closes.
    with xlsx_file(["name"], [{"name": "x"}], title="deals") as done:
        assert zipfile.is_zipfile(done)
    assert list(tmp_path.iterdir()) == []
