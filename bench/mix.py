"""The request mix of the load test (``bench/load.py``, ``bench/locustfile.py``),
one list per role. ``tests/spm/test_load_mix.py`` walks the same lists and
bounds the queries of every request, so the pages under load are the pages
whose query counts are pinned.
"""

from __future__ import annotations

from dataclasses import dataclass

# Users of the load test, by role, per 10 users.
ROLE_WEIGHTS = {"rep": 7, "manager": 2, "admin": 1}


@dataclass(frozen=True)
class Subject:
    """Who a simulated user is: their tenant, membership, team, one statement."""

    slug: str
    member_id: int
    team_id: int
    statement_id: int | None
    fiscal_year: int


def requests_for(role: str, s: Subject) -> dict[str, str]:
    """name -> path of the reads ``role`` makes (every one a GET)."""
    api = f"/api/v1/{s.slug}"
    page = f"/{s.slug}"
    common = {
        "leaderboards": f"{page}/kpis/leaderboards/",
        "statements": f"{page}/incentives/statements/",
        "api-leaderboard": f"{api}/kpi-reports/leaderboard/?kpi=bookings",
        "api-statements": f"{api}/statements/",
    }
    if role == "rep":
        mine = {
            "rep-dashboard": f"{page}/kpis/reps/{s.member_id}/",
            "api-scorecard": (
                f"{api}/kpi-reports/scorecard/?subject_kind=member&subject_id={s.member_id}"
            ),
            "api-series": (
                f"{api}/kpi-reports/series/?subject_kind=member&subject_id={s.member_id}"
                f"&period_kind=month&fiscal_year={s.fiscal_year}"
            ),
        }
        if s.statement_id is not None:
            mine["statement"] = f"{page}/incentives/statements/{s.statement_id}/"
        return common | mine
    team = {
        "team-view": f"{page}/kpis/teams/{s.team_id}/",
        "quota-grid": f"{page}/goals/quotas/?fiscal_year={s.fiscal_year}",
        "api-team-values": (
            f"{api}/kpi-values/?subject_kind=team&subject_id={s.team_id}"
            f"&fiscal_year={s.fiscal_year}&period_kind=quarter"
        ),
    }
    if role == "admin":
        team["overview"] = f"{page}/kpis/overview/"
    return common | team
