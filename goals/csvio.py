"""CSV of the quota grid: one row per team and rep, one column per period.

Format (UTF-8, comma separated, header first)::

    key,name,team,Jan 2027,Feb 2027,...,Dec 2027,total
    t4,West,West,200000.00,,...,,200000.00
    m12,Ray One,West,90000.00,90000.00,...,1080000.00

``key`` is ``t<team id>`` or ``m<membership id>``; period columns hold the
stored (not prorated) amount, empty where no quota is set. On import
``name``, ``team`` and ``total`` are ignored, an empty cell leaves the quota
as it is, and period columns are matched by their label.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from goals.selectors import QuotaGrid
from goals.smart import parse_number
from spm.api.csv import neutralise
from spm.money import MONEY_LIMIT, MONEY_MAX

FIXED_COLUMNS = ("key", "name", "team")


def grid_to_csv(grid: QuotaGrid) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = grid.kind_periods
    writer.writerow([*FIXED_COLUMNS, *(p.label for p in columns), "total"])
    for section in grid.sections:
        for row in [section.team_row, *section.member_rows]:
            team = (
                row.team.name
                if row.team
                else (row.membership.team.name if row.membership and row.membership.team else "")
            )
            cells = [c for c in row.cells if c.period in columns]
            amounts = ["" if c.amount is None else str(c.amount) for c in cells]
            explicit = [c.amount for c in cells if c.amount is not None]
            writer.writerow(
                [
                    row.key,
                    neutralise(row.label),
                    neutralise(team),
                    *amounts,
                    str(sum(explicit, Decimal("0.00"))),
                ]
            )
    return out.getvalue()


@dataclass
class ParsedCell:
    line: int
    key: str
    period_label: str
    amount: Decimal


@dataclass
class ParsedGrid:
    cells: list[ParsedCell] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def parse_grid_csv(text: str, *, period_labels: list[str], keys: set[str]) -> ParsedGrid:
    """Read a grid CSV. Errors name the line and column; unknown keys and
    unknown period columns are errors (a typo must not pass silently)."""
    result = ParsedGrid()
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        return _parse_rows(reader, result, period_labels=period_labels, keys=keys)
    except csv.Error as exc:
        result.errors.append(f"Line {reader.line_num}: {exc}.")
        return result


def _parse_rows(
    reader: Any, result: ParsedGrid, *, period_labels: list[str], keys: set[str]
) -> ParsedGrid:
    header = next(reader, None)
    if not header or header[0].strip().lower() != "key":
        result.errors.append(
            "Line 1: the first column must be 'key' (export the grid for a template)."
        )
        return result
    columns: list[tuple[int, str]] = []
    for index, name in enumerate(header):
        name = name.strip()
        if index == 0 or name.lower() in ("name", "team", "total", ""):
            continue
        if name not in period_labels:
            result.errors.append(f"Line 1: '{name}' is not a period of this grid.")
            continue
        columns.append((index, name))
    for line_no, row in enumerate(reader, start=2):
        if not row or not any(cell.strip() for cell in row):
            continue
        key = row[0].strip()
        if key not in keys:
            result.errors.append(f"Line {line_no}: '{key}' is not a team or rep of this grid.")
            continue
        for index, label in columns:
            raw = row[index].strip() if index < len(row) else ""
            if not raw:
                continue
            number, _ = parse_number(raw)
            if number is None:
                result.errors.append(f"Line {line_no}, {label}: '{raw}' is not a number.")
            elif number < 0:
                result.errors.append(f"Line {line_no}, {label}: a quota cannot be negative.")
            elif number >= MONEY_LIMIT:
                result.errors.append(
                    f"Line {line_no}, {label}: the amount is too large (at most {MONEY_MAX:,})."
                )
            elif number != number.quantize(Decimal("0.01")):
                result.errors.append(f"Line {line_no}, {label}: use at most two decimal places.")
            else:
                result.cells.append(
                    ParsedCell(line_no, key, label, number.quantize(Decimal("0.01")))
                )
    return result
