"""Leaderboards: the whole board, one page ranked in SQL, one member's position."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, overload

from django.core.paginator import Page, Paginator
from django.db import connection

from kpis.definitions import LOWER, format_value, kpi_def
from kpis.sql import CHOICES
from spm.models import FiscalPeriod, Membership, Team, Tenant


@dataclass
class BoardRow:
    rank: int
    member: Membership
    value: Decimal | None
    text: str
    is_me: bool = False


# The tenant's reps ranked on one KPI of one period, in SQL: ties share a rank
# (one plus the reps strictly better), reps with no value come last (rank: one
# plus the reps with a value), ties and the valueless ordered by name. Only the
# rows asked for come back: positions in (lo, hi], the top ``top`` and the
# viewer, each with the board's size and how many reps have a value. Every
# leaderboard read (page, whole board, one rep's position) ranks here.
BOARD_SQL = """
WITH b AS (
    SELECT m.id, v.value,
           COALESCE(NULLIF(btrim(u.first_name || ' ' || u.last_name), ''), u.email) AS name
    FROM kpis_kpivalue v
    JOIN spm_membership m ON m.tenant_id = v.tenant_id AND m.id = v.subject_id
    JOIN spm_user u ON u.id = m.user_id
    LEFT JOIN spm_team tm ON tm.tenant_id = m.tenant_id AND tm.id = m.team_id
    WHERE v.tenant_id = %(t)s AND v.period_id = %(p)s AND v.subject_kind = %(kind_member)s
      AND v.kpi = %(kpi)s AND m.role = %(role_rep)s
      AND (%(path)s::text IS NULL OR left(tm.path, length(%(path)s::text)) = %(path)s::text)
),
r AS (
    SELECT id, value,
           CASE WHEN value IS NULL THEN COUNT(value) OVER () + 1
                ELSE RANK() OVER (ORDER BY value {direction} NULLS LAST) END AS rank,
           ROW_NUMBER() OVER (ORDER BY value {direction} NULLS LAST, name COLLATE "C") AS pos,
           COUNT(*) OVER () AS total,
           COUNT(value) OVER () AS valued
    FROM b
)
SELECT id, value, rank, pos, total, valued FROM r
WHERE (pos > %(lo)s AND pos <= %(hi)s) OR pos <= %(top)s OR id = %(me)s
ORDER BY pos
"""


@dataclass
class BoardPage:
    """One page of a leaderboard: its rows, the top rows (for the chart), the
    viewer's row wherever it is, and a Django ``Page`` for the pager."""

    rows: list[BoardRow]
    top: list[BoardRow]
    mine: BoardRow | None
    page: Page


class _BoardSequence(Sequence[BoardRow]):
    """The board as a sized sequence for ``Paginator``: the length is known from
    the first query, slices come from rows already loaded."""

    def __init__(self, total: int, by_pos: dict[int, BoardRow], load: Any) -> None:
        self.total, self.by_pos, self.load = total, by_pos, load

    def __len__(self) -> int:
        return self.total

    @overload
    def __getitem__(self, index: int) -> BoardRow: ...
    @overload
    def __getitem__(self, index: slice) -> list[BoardRow]: ...
    def __getitem__(self, index: int | slice) -> BoardRow | list[BoardRow]:
        if isinstance(index, int):
            return self[index : index + 1][0]
        start, stop, _ = index.indices(self.total)
        wanted = range(start + 1, stop + 1)
        if any(pos not in self.by_pos for pos in wanted):
            self.by_pos.update(self.load(start, stop))
        return [self.by_pos[pos] for pos in wanted]


_RankedRow = tuple[int, Decimal | None, int, int, int, int]


def _ranked(
    tenant: Tenant,
    *,
    period: FiscalPeriod,
    kpi: str,
    team: Team | None,
    me: int,
    lo: int = 0,
    hi: int = 0,
    top: int = 0,
) -> list[_RankedRow]:
    """Rows of ``BOARD_SQL``: (member id, value, rank, position, board size,
    reps with a value), in board order. One query."""
    direction = "ASC" if kpi_def(kpi).direction == LOWER else "DESC"
    with connection.cursor() as cursor:
        cursor.execute(
            BOARD_SQL.format(direction=direction),
            {
                **CHOICES,
                "t": tenant.pk,
                "p": period.pk,
                "kpi": kpi,
                "path": team.path if team is not None else None,
                "me": me,
                "lo": lo,
                "hi": hi,
                "top": top,
            },
        )
        return [tuple(row) for row in cursor.fetchall()]  # type: ignore[misc]


def _board_rows(
    tenant: Tenant, *, kpi: str, viewer: Membership, found: list[_RankedRow]
) -> dict[int, BoardRow]:
    """Position -> row, with the members' names and teams (one query)."""
    if not found:
        return {}
    unit = kpi_def(kpi).unit
    members = (
        Membership.objects.filter(tenant=tenant, pk__in=[row[0] for row in found])
        .select_related("user", "team")
        # what the board shows (names, team); a tenant can have hundreds of reps
        .only(
            "id",
            "tenant",
            "role",
            "team",
            "user__first_name",
            "user__last_name",
            "user__email",
            "team__name",
        )
        .in_bulk()
    )
    return {
        pos: BoardRow(
            rank,
            members[pk],
            value,
            format_value(value, unit) if value is not None else "—",
            pk == viewer.pk,
        )
        for pk, value, rank, pos, _total, _valued in found
    }


def leaderboard(
    tenant: Tenant, *, period: FiscalPeriod, kpi: str, viewer: Membership, team: Team | None = None
) -> list[BoardRow]:
    """Reps ranked on ``kpi`` in ``period`` (ties share a rank; lower-is-better
    KPIs rank ascending; reps with no value come last). Everyone in the tenant
    sees the reps' leaderboard; ``team`` narrows it to a subtree. Two queries."""
    found = _ranked(tenant, period=period, kpi=kpi, team=team, me=viewer.pk, hi=2**31 - 1)
    rows = _board_rows(tenant, kpi=kpi, viewer=viewer, found=found)
    return [rows[pos] for pos in sorted(rows)]


def leaderboard_page(
    tenant: Tenant,
    *,
    period: FiscalPeriod,
    kpi: str,
    viewer: Membership,
    team: Team | None = None,
    page: Any = 1,
    per_page: int = 25,
    top: int = 15,
) -> BoardPage:
    """The ``leaderboard`` loading only the rows shown: page ``page``
    (``Paginator.get_page`` rules: not a number -> 1, past the end -> the last
    page), the ``top`` rows and the viewer's. Two queries whatever the number
    of reps (four when the page asked for is past the end)."""
    totals: list[int] = [0]

    def load(lo: int, hi: int) -> dict[int, BoardRow]:
        found = _ranked(
            tenant, period=period, kpi=kpi, team=team, me=viewer.pk, lo=lo, hi=hi, top=top
        )
        if found:
            totals[0] = found[0][4]
        return _board_rows(tenant, kpi=kpi, viewer=viewer, found=found)

    try:
        number = max(1, int(page))
    except (TypeError, ValueError):
        number = 1
    loaded = load((number - 1) * per_page, number * per_page)
    page_obj = Paginator(_BoardSequence(totals[0], loaded, load), per_page).get_page(number)
    rows = list(page_obj.object_list)
    mine = next((r for r in loaded.values() if r.is_me), None)
    return BoardPage(
        rows=rows,
        top=[loaded[pos] for pos in sorted(loaded) if pos <= top],
        mine=mine if mine is not None and mine not in rows else None,
        page=page_obj,
    )


def leaderboard_position(
    tenant: Tenant, *, period: FiscalPeriod, kpi: str, member: Membership
) -> tuple[BoardRow | None, int]:
    """``member``'s row of the tenant's ``leaderboard`` on ``kpi`` and how many
    reps have a value, without loading the board: one query whatever the
    number of reps. The row is None for someone who is not a rep or has no
    value stored."""
    # the first row too, so the counts come back even when the member is not ranked
    found = _ranked(tenant, period=period, kpi=kpi, team=None, me=member.pk, top=1)
    size = found[0][5] if found else 0
    unit = kpi_def(kpi).unit
    for pk, value, rank, _pos, _total, _valued in found:
        if pk == member.pk:
            text = format_value(value, unit) if value is not None else "—"
            return BoardRow(rank, member, value, text, True), size
    return None, size
