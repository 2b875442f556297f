"""Leaderboards: the whole board, one page ranked in SQL, one member's position."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, overload

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Count, Q

from kpis.definitions import LOWER, format_value, kpi_def
from kpis.models import KpiValue, SubjectKind
from spm.models import FiscalPeriod, Membership, Role, Team, Tenant


@dataclass
class BoardRow:
    rank: int
    member: Membership
    value: Decimal | None
    text: str
    is_me: bool = False


def leaderboard(
    tenant: Tenant, *, period: FiscalPeriod, kpi: str, viewer: Membership, team: Team | None = None
) -> list[BoardRow]:
    """Reps ranked on ``kpi`` in ``period`` (ties share a rank; lower-is-better
    KPIs rank ascending; reps with no value come last). Everyone in the tenant
    sees the reps' leaderboard; ``team`` narrows it to a subtree. Two queries."""
    definition = kpi_def(kpi)
    reps = (
        Membership.objects.filter(tenant=tenant, role=Role.REP)
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
    )
    if team is not None:
        reps = reps.filter(team__path__startswith=team.path)
    members = {m.pk: m for m in reps}
    vals = dict(
        KpiValue.objects.filter(
            tenant=tenant,
            period=period,
            subject_kind=SubjectKind.MEMBER,
            kpi=kpi,
            subject_id__in=list(members),
        ).values_list("subject_id", "value")
    )
    ranked = [(vals.get(pk), m) for pk, m in members.items() if pk in vals]
    lower = definition.direction == LOWER
    with_value = sorted(
        (r for r in ranked if r[0] is not None),
        key=lambda r: (r[0] if lower else -r[0], r[1].display_name),  # type: ignore[operator]
    )
    without = sorted((r for r in ranked if r[0] is None), key=lambda r: r[1].display_name)
    rows: list[BoardRow] = []
    previous: Decimal | None = None
    rank = 0
    for index, (value, member) in enumerate(with_value, start=1):
        if value != previous:
            rank, previous = index, value
        rows.append(
            BoardRow(
                rank, member, value, format_value(value, definition.unit), member.pk == viewer.pk
            )
        )
    for value, member in without:
        rows.append(BoardRow(len(with_value) + 1, member, value, "—", member.pk == viewer.pk))
    return rows


# The tenant's reps ranked on one KPI of one period, in SQL: ties share a rank
# (one plus the reps strictly better), reps with no value come last (rank: one
# plus the reps with a value), ties and the valueless ordered by name. Only the
# rows asked for come back: positions in (lo, hi], the top ``top`` and the viewer.
BOARD_SQL = """
WITH b AS (
    SELECT m.id, v.value,
           COALESCE(NULLIF(btrim(u.first_name || ' ' || u.last_name), ''), u.email) AS name
    FROM kpis_kpivalue v
    JOIN spm_membership m ON m.tenant_id = v.tenant_id AND m.id = v.subject_id
    JOIN spm_user u ON u.id = m.user_id
    LEFT JOIN spm_team tm ON tm.id = m.team_id
    WHERE v.tenant_id = %(t)s AND v.period_id = %(p)s AND v.subject_kind = 'member'
      AND v.kpi = %(kpi)s AND m.role = 'rep'
      AND (%(path)s::text IS NULL OR left(tm.path, length(%(path)s::text)) = %(path)s::text)
),
r AS (
    SELECT id, value,
           CASE WHEN value IS NULL THEN COUNT(value) OVER () + 1
                ELSE RANK() OVER (ORDER BY value {direction} NULLS LAST) END AS rank,
           ROW_NUMBER() OVER (ORDER BY value {direction} NULLS LAST, name COLLATE "C") AS pos,
           COUNT(*) OVER () AS total
    FROM b
)
SELECT id, value, rank, pos, total FROM r
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


class _Ranked(Sequence[BoardRow]):
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
    """The ranks of ``leaderboard`` computed in SQL, loading only the rows shown:
    page ``page`` (``Paginator.get_page`` rules: not a number -> 1, past the end
    -> the last page), the ``top`` rows and the viewer's. Two queries whatever
    the number of reps (three when the page asked for is past the end)."""
    definition = kpi_def(kpi)
    direction = "ASC" if definition.direction == LOWER else "DESC"
    sql = BOARD_SQL.format(direction=direction)
    params: dict[str, Any] = {
        "t": tenant.pk,
        "p": period.pk,
        "kpi": kpi,
        "path": team.path if team is not None else None,
        "top": top,
        "me": viewer.pk,
    }
    totals: list[int] = [0]

    def load(lo: int, hi: int) -> dict[int, BoardRow]:
        with connection.cursor() as cursor:
            cursor.execute(sql, {**params, "lo": lo, "hi": hi})
            found = cursor.fetchall()
        if found:
            totals[0] = int(found[0][4])
        members = (
            Membership.objects.filter(tenant=tenant, pk__in=[row[0] for row in found])
            .select_related("user", "team")
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
            if found
            else {}
        )
        return {
            int(pos): BoardRow(
                int(rank),
                members[pk],
                value,
                format_value(value, definition.unit) if value is not None else "—",
                pk == viewer.pk,
            )
            for pk, value, rank, pos, _total in found
        }

    try:
        number = max(1, int(page))
    except (TypeError, ValueError):
        number = 1
    loaded = load((number - 1) * per_page, number * per_page)
    ranked = _Ranked(totals[0], loaded, load)
    page_obj = Paginator(ranked, per_page).get_page(number)
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
    """``member``'s row of the tenant's ``leaderboard`` on ``kpi`` (same rank:
    one plus the reps with a strictly better value) and how many reps have a
    value, without loading the board: two queries whatever the number of reps.
    The row is None for someone who is not a rep or has no value stored."""
    definition = kpi_def(kpi)
    values = KpiValue.objects.filter(
        tenant=tenant,
        period=period,
        subject_kind=SubjectKind.MEMBER,
        kpi=kpi,
        subject_id__in=Membership.objects.filter(tenant=tenant, role=Role.REP).values("pk"),
    )
    found: list[Decimal | None] = []
    if member.role == Role.REP:
        found = list(values.filter(subject_id=member.pk).values_list("value", flat=True)[:1])
    value = found[0] if found else None
    aggregates = {"size": Count("pk", filter=Q(value__isnull=False))}
    if value is not None:
        better = Q(value__lt=value) if definition.direction == LOWER else Q(value__gt=value)
        aggregates["better"] = Count("pk", filter=better)
    counts = values.aggregate(**aggregates)
    size = int(counts["size"])
    if not found:
        return None, size
    if value is None:
        return BoardRow(size + 1, member, None, "—", True), size
    row = BoardRow(
        int(counts["better"]) + 1, member, value, format_value(value, definition.unit), True
    )
    return row, size
