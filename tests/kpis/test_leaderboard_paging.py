"""The leaderboard is paged (25 reps a page, ``?page=`` for more) with global
ranks, and a viewer ranked off the shown page sees their own row after it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kpis import selectors
from kpis.models import KpiValue, SubjectKind
from spm import services as spm_services
from spm.models import Role
from spm.tenancy.context import tenant_context
from tests.conftest import client_for
from tests.kpis.factories import period

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _end_of_q1():
    with time_machine.travel(dt.datetime(2027, 3, 31, 18, 0, tzinfo=dt.UTC), tick=False):
        yield


def _add_reps(w, q1, first: int, count: int) -> None:
    """Reps ``Board RepNN`` with bookings 100,000 - NN * 1,000 (so rank NN + 1)."""
    with tenant_context(w.tenant):
        for n in range(first, first + count):
            m = spm_services.membership_add(
                w.tenant,
                email=f"board{n:02d}@alpha.test",
                first_name="Board",
                last_name=f"Rep{n:02d}",
                role=Role.REP,
                team=w.team,
                start_date=dt.date(2026, 1, 1),
            )
            _value(w, q1, m.pk, Decimal(100000 - n * 1000))


def _value(w, q1, subject_id: int, value: Decimal) -> None:
    KpiValue.objects.create(
        tenant=w.tenant,
        period=q1,
        subject_kind=SubjectKind.MEMBER,
        subject_id=subject_id,
        kpi="bookings",
        value=value,
        computed_at=timezone.now(),
    )


@pytest.fixture
def board(world_a):
    """30 reps: 27 board reps ranked 1-27, then rep1 (28), rep2 (29), other_rep (30)."""
    w = world_a
    with tenant_context(w.tenant):
        q1 = period(w.tenant, "quarter")
        for rep, amount in ((w.rep1, "50"), (w.rep2, "40"), (w.other_rep, "30")):
            _value(w, q1, rep.pk, Decimal(amount))
    _add_reps(w, q1, 0, 27)
    return w, q1


def _get(w, q1, user, page: int | None = None):
    path = f"/{w.tenant.slug}/kpis/leaderboards/?kpi=bookings&period={q1.pk}"
    if page is not None:
        path += f"&page={page}"
    response = client_for(user).get(path)
    assert response.status_code == 200
    return response


def test_page_one_shows_ranks_1_to_25_and_page_two_26_to_30(board):
    w, q1 = board

    first = _get(w, q1, w.manager.user)
    second = _get(w, q1, w.manager.user, page=2)

    assert [r.rank for r in first.context["rows"]] == list(range(1, 26))
    assert first.context["rows"][0].member.display_name == "Board Rep00"
    assert [r.rank for r in second.context["rows"]] == [26, 27, 28, 29, 30]
    assert [r.member.pk for r in second.context["rows"]][2:] == [
        w.rep1.pk,
        w.rep2.pk,
        w.other_rep.pk,
    ]
    assert first.context["page_obj"].paginator.count == 30
    assert first.context["my_row"] is None  # a manager is not on the board
    body = second.content.decode()
    assert 'data-testid="leaderboard-pager"' in body
    assert "page=1" in body
    assert "kpi=bookings" in body  # the pickers survive paging
    assert "Ranks 26–30" in body


def test_a_rep_off_the_page_sees_their_own_row_marked(board):
    w, q1 = board

    response = _get(w, q1, w.rep1.user)

    mine = response.context["my_row"]
    assert mine.rank == 28
    assert mine.member.pk == w.rep1.pk
    assert mine.is_me
    assert all(not r.is_me for r in response.context["rows"])
    body = response.content.decode()
    assert 'data-testid="my-position"' in body
    assert '<tr class="me your-position"><td class="num">28</td><td>Ray One' in body
    assert "(your position)" in body


def test_a_rep_on_the_shown_page_gets_no_extra_row(board):
    w, q1 = board

    response = _get(w, q1, w.rep1.user, page=2)

    assert response.context["my_row"] is None
    assert [r.is_me for r in response.context["rows"]] == [False, False, True, False, False]
    assert 'data-testid="my-position"' not in response.content.decode()


def test_an_out_of_range_page_shows_the_last_page(board):
    w, q1 = board

    response = _get(w, q1, w.manager.user, page=9)

    assert [r.rank for r in response.context["rows"]] == [26, 27, 28, 29, 30]


def test_query_count_does_not_grow_with_the_reps(world_a):
    w = world_a
    with tenant_context(w.tenant):
        q1 = period(w.tenant, "quarter")
    _add_reps(w, q1, 0, 10)
    client = client_for(w.rep1.user)
    path = f"/{w.tenant.slug}/kpis/leaderboards/?kpi=bookings&period={q1.pk}"
    client.get(path)  # sessions and caches warm

    with CaptureQueriesContext(connection) as ten:
        assert client.get(path).status_code == 200
    _add_reps(w, q1, 10, 20)
    with CaptureQueriesContext(connection) as thirty:
        response = client.get(path)

    assert response.status_code == 200
    assert response.context["page_obj"].paginator.count == 30
    assert len(thirty) == len(ten)


def test_the_sql_ranking_matches_the_full_board_with_ties_nulls_and_direction(board):
    """Pages of ``leaderboard_page`` (ranked in SQL) give the rows of
    ``leaderboard`` (ranked in Python) in the same order: tied values share a
    rank and are ordered by name, reps without a value come last, lower-is-
    better KPIs rank ascending, a team narrows the board."""
    w, q1 = board
    with tenant_context(w.tenant):
        # a tie with rep1 (50) and a rep with a stored row but no value
        KpiValue.objects.filter(tenant=w.tenant, subject_id=w.rep2.pk).update(value=Decimal("50"))
        KpiValue.objects.filter(tenant=w.tenant, subject_id=w.other_rep.pk).update(value=None)
        for m, days in ((w.rep1, "30.00"), (w.rep2, "12.50"), (w.other_rep, "30.00")):
            KpiValue.objects.create(
                tenant=w.tenant,
                period=q1,
                subject_kind=SubjectKind.MEMBER,
                subject_id=m.pk,
                kpi="sales_cycle_length",
                value=Decimal(days),
                computed_at=timezone.now(),
            )
        for kpi, team in (
            ("bookings", None),
            ("bookings", w.other_team),
            ("sales_cycle_length", None),
        ):
            full = selectors.leaderboard(w.tenant, period=q1, kpi=kpi, viewer=w.rep1, team=team)
            paged = []
            for number in (1, 2):
                page = selectors.leaderboard_page(
                    w.tenant, period=q1, kpi=kpi, viewer=w.rep1, team=team, page=number, per_page=25
                )
                paged += page.rows if page.page.number == number else []
            assert [(r.rank, r.member.pk, r.value, r.text, r.is_me) for r in paged] == [
                (r.rank, r.member.pk, r.value, r.text, r.is_me) for r in full
            ]
        bookings = selectors.leaderboard(w.tenant, period=q1, kpi="bookings", viewer=w.rep1)
        assert [(r.rank, r.member.pk) for r in bookings[-3:]] == [
            (28, w.rep1.pk),  # Ray One and Rita Two tie at 50: by name
            (28, w.rep2.pk),
            (30, w.other_rep.pk),  # no value: last
        ]
        cycle = selectors.leaderboard(w.tenant, period=q1, kpi="sales_cycle_length", viewer=w.rep1)
        assert [(r.rank, r.member.pk) for r in cycle] == [
            (1, w.rep2.pk),
            (2, w.other_rep.pk),  # Otto Three before Ray One at 30.00
            (2, w.rep1.pk),
        ]
