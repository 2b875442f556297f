"""Plotly figures of the coaching pages, built from selector output.

Each function returns a JSON-ready dict for ``json_script``; the shared
``spm/charts.js`` draws it. A figure with nothing to draw carries ``empty``.
"""

from __future__ import annotations

from typing import Any

from coaching.selectors import SkillProfile

NO_DATA = "No data for this period"
SELF, MANAGER = "#2457c5", "#d97706"


def _trace(name: str, skills: list[str], levels: list[int | None], color: str, **kw: Any) -> dict:
    closed = [*levels, levels[0]] if levels else []
    return {
        "type": "scatterpolar",
        "name": name,
        "r": closed,
        "theta": [*skills, skills[0]] if skills else [],
        "fill": kw.pop("fill", "toself"),
        "line": {"color": color, **kw.pop("line", {})},
        "connectgaps": True,
        **kw,
    }


def skills_radar(profile: SkillProfile, *, top: int) -> dict[str, Any]:
    """The member's self and manager levels per skill, now (filled) and at their
    first assessment (dotted): how both views moved over time."""
    title = "Skills: self and manager assessment"
    lines = profile.lines
    if not any(line.self_level or line.manager_level for line in lines):
        return {"data": [], "layout": {"title": {"text": title}}, "empty": NO_DATA}
    names = [line.skill.name for line in lines]
    data = [
        _trace("Self, latest", names, [ln.self_level for ln in lines], SELF),
        _trace("Manager, latest", names, [ln.manager_level for ln in lines], MANAGER),
        _trace(
            "Self, first",
            names,
            [ln.first_self for ln in lines],
            SELF,
            fill="none",
            line={"dash": "dot"},
            opacity=0.6,
        ),
        _trace(
            "Manager, first",
            names,
            [ln.first_manager for ln in lines],
            MANAGER,
            fill="none",
            line={"dash": "dot"},
            opacity=0.6,
        ),
    ]
    return {
        "data": data,
        "layout": {
            "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}},
            "polar": {"radialaxis": {"range": [0, top], "dtick": 1}},
            "height": 420,
            "margin": {"l": 60, "r": 60, "t": 90, "b": 40},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "showlegend": True,
        },
    }
