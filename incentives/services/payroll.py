"""Payroll exports of a pay period: what payroll pays, once.

An export takes the period's published statements and pays, per member and
statement line key (a line's identity across runs), the difference between
the published amount and what earlier exports of the period paid. The first
export pays every line; a later one only what changed since (adjustments
from a re-published run, reversals of lines gone), so nothing is paid twice.
Exported amounts are ``PayrollLine`` rows: the record of what is paid.

A period with statements not yet published (a current preview) is refused,
listing whose they are. Files are CSV and XLSX with the member's employee
id, an earning code per line kind (``EARNING_CODES``), amount and currency.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Final

import pandas as pd
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from incentives.models import CalcRun, PayrollExport, PayrollLine, Statement, StatementLine
from spm.models import FiscalPeriod, Membership, Tenant
from spm.services import audit_record

# Earning code per statement line kind; README "Payroll export" lists them.
EARNING_CODES: Final = {
    "commission": "COMM",
    "cap": "COMM",
    "gate": "COMM",
    "spiff": "SPIFF",
    "bonus": "BONUS",
    "team": "TEAM",
    "kpi": "KPI",
    "adjustment": "ADJ",
    "manual": "ADJ",
    "fx": "ADJ",
    "clawback": "CLAWBACK",
    "draw": "DRAW",
    "draw_recovery": "DRAWREC",
}
OTHER_CODE: Final = "OTHER"
FILE_COLUMNS: Final = [
    "employee_id",
    "member",
    "email",
    "period",
    "earning_code",
    "component",
    "kind",
    "amount",
    "currency",
]


def _refuse_unpublished(tenant: Tenant, period: FiscalPeriod) -> CalcRun:
    preview = Statement.objects.filter(
        tenant=tenant, period=period, run__status=CalcRun.Status.PREVIEW
    ).select_related("membership__user")
    pending = sorted({s.membership.display_name for s in preview})
    if pending:
        raise ValidationError(
            {
                "period": f"{period.label} has unpublished statements ({', '.join(pending)}): "
                "publish the run first."
            }
        )
    published = CalcRun.objects.filter(
        tenant=tenant, period=period, status=CalcRun.Status.PUBLISHED
    ).first()
    if published is None:
        raise ValidationError({"period": f"{period.label} has no published statements."})
    return published


def _due(tenant: Tenant, period: FiscalPeriod, run: CalcRun) -> pd.DataFrame:
    """Per member and line key: published amount - already exported (set-based)."""
    published = pd.DataFrame(
        list(
            StatementLine.objects.filter(tenant=tenant, statement__run=run).values(
                "statement__membership_id",
                "line_key",
                "component",
                "kind",
                "amount",
                "statement__currency",
                "id",
            )
        ),
        columns=[
            "statement__membership_id",
            "line_key",
            "component",
            "kind",
            "amount",
            "statement__currency",
            "id",
        ],
    ).rename(
        columns={
            "statement__membership_id": "membership_id",
            "statement__currency": "currency",
            "id": "statement_line_id",
        }
    )
    published = published.groupby(["membership_id", "line_key"], as_index=False).agg(
        component=("component", "first"),
        kind=("kind", "first"),
        amount=("amount", "sum"),
        currency=("currency", "first"),
        statement_line_id=("statement_line_id", "first"),
    )
    paid = pd.DataFrame(
        list(
            PayrollLine.objects.filter(tenant=tenant, period=period).values(
                "membership_id", "line_key", "component", "kind", "amount", "currency"
            )
        ),
        columns=["membership_id", "line_key", "component", "kind", "amount", "currency"],
    )
    paid = paid.groupby(["membership_id", "line_key"], as_index=False).agg(
        paid=("amount", "sum"),
        p_component=("component", "first"),
        p_kind=("kind", "first"),
        p_currency=("currency", "first"),
    )
    due = published.merge(paid, on=["membership_id", "line_key"], how="outer")
    zero = Decimal("0.00")
    now = due["amount"].notna()
    due["amount"] = due["amount"].astype(object).where(now, zero) - due["paid"].astype(
        object
    ).where(due["paid"].notna(), zero)
    for column in ("component", "kind", "currency"):
        due[column] = due[column].where(now, due[f"p_{column}"])
    due["statement_line_id"] = due["statement_line_id"].astype(object).where(now, None)
    due = due[due["amount"] != zero]
    due["earning_code"] = due["kind"].map(EARNING_CODES).fillna(OTHER_CODE)
    return due.sort_values(["membership_id", "line_key"])


def currency_totals(due: pd.DataFrame) -> list[dict[str, str]]:
    """One total per currency of the lines (by currency code): members paid
    in different currencies are never added up into one figure."""
    sums = due.groupby("currency", sort=True)["amount"].agg(
        lambda amounts: sum(amounts, Decimal("0.00"))
    )
    return [{"currency": str(c), "amount": str(amount)} for c, amount in sums.items()]


def payroll_export_create(
    tenant: Tenant, *, period: FiscalPeriod, actor: Membership | None
) -> PayrollExport:
    """Export what payroll still owes for ``period`` and record it as paid.

    Raises ``ValidationError`` on ``period`` when it has unpublished
    statements (naming whose), no published statements, or nothing changed
    since the last export."""
    with transaction.atomic():
        # One export of a period at a time: the row lock of the period serialises them.
        FiscalPeriod.objects.select_for_update().get(tenant=tenant, pk=period.pk)
        run = _refuse_unpublished(tenant, period)
        due = _due(tenant, period, run)
        earlier = PayrollExport.objects.filter(tenant=tenant, period=period).aggregate(
            last=Max("sequence")
        )["last"]
        if due.empty:
            raise ValidationError(
                {"period": f"Nothing changed in {period.label} since export #{earlier}."}
                if earlier
                else {"period": f"{period.label} has nothing to pay."}
            )
        employee = dict(
            Membership.objects.filter(
                tenant=tenant, pk__in=[int(m) for m in due["membership_id"].unique()]
            ).values_list("pk", "employee_id")
        )
        export = PayrollExport.objects.create(
            tenant=tenant,
            period=period,
            sequence=(earlier or 0) + 1,
            created_by=actor,
            line_count=len(due),
            totals=currency_totals(due),
        )
        PayrollLine.objects.bulk_create(
            PayrollLine(
                tenant=tenant,
                export=export,
                period=period,
                membership_id=int(row["membership_id"]),
                employee_id=employee.get(int(row["membership_id"]), ""),
                line_key=row["line_key"],
                component=row["component"],
                kind=row["kind"],
                earning_code=row["earning_code"],
                statement_line_id=row["statement_line_id"],
                amount=row["amount"],
                currency=row["currency"],
            )
            for row in due.to_dict("records")
        )
        audit_record(
            tenant,
            actor=actor.user if actor else None,
            action="payroll.export",
            obj=export,
            data={"period": period.label, "lines": len(due), "totals": export.totals},
        )
    return export


def payroll_rows(tenant: Tenant, *, export: PayrollExport) -> list[list[str]]:
    """The export's file rows (``FILE_COLUMNS``), one per line, by member."""
    lines = (
        PayrollLine.objects.filter(tenant=tenant, export=export)
        .select_related("membership__user", "period")
        .order_by("membership__user__last_name", "membership_id", "line_key")
    )
    return [
        [
            line.employee_id,
            line.membership.display_name,
            line.membership.user.email,
            line.period.label,
            line.earning_code,
            line.component,
            line.kind,
            str(line.amount),
            line.currency,
        ]
        for line in lines
    ]


def payroll_csv(tenant: Tenant, *, export: PayrollExport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FILE_COLUMNS)
    writer.writerows(payroll_rows(tenant, export=export))
    return out.getvalue()


def payroll_xlsx(tenant: Tenant, *, export: PayrollExport) -> bytes:
    """The same rows as an XLSX workbook; amounts are numbers with two decimals."""
    book = Workbook()
    sheet = book.active
    sheet.title = f"{export.period.label} #{export.sequence}"[:31]
    sheet.append(FILE_COLUMNS)
    amount_col = FILE_COLUMNS.index("amount")
    for row in payroll_rows(tenant, export=export):
        cells: list[object] = list(row)
        cells[amount_col] = Decimal(row[amount_col])
        sheet.append(cells)
    for cell in sheet[get_column_letter(amount_col + 1)][1:]:
        cell.number_format = "#,##0.00"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
