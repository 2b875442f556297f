"""Plotly figures of the pipeline pages, built from selector output, drawn by
the shared ``spm/charts.js`` (a figure with nothing to show carries ``empty``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pipeline.selectors import FunnelStep
from spm.formatting import current_formats

FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"}
FUNNEL_COLOURS = ["#2457c5", "#3f74d9", "#6b97e6", "#9dbbf0"]
NO_DATA = "No data for this period"


def funnel_figure(steps: Sequence[FunnelStep]) -> dict[str, Any]:
    """The AIDA funnel: leads per stage, with the share of the top stage."""
    title = "Leads by furthest AIDA stage"
    if not any(step.count for step in steps):
        return {"data": [], "layout": {"title": {"text": title}}, "empty": NO_DATA}
    return {
        "data": [
            {
                "type": "funnel",
                "y": [step.label for step in steps],
                "x": [step.count for step in steps],
                "textinfo": "value+percent initial",
                "marker": {"color": FUNNEL_COLOURS[: len(steps)]},
                "connector": {"line": {"color": "#c8ced8", "width": 1}},
                "hovertemplate": "%{y}: %{x:,} leads<extra></extra>",
            }
        ],
        "layout": {
            "separators": current_formats().plotly()["separators"],
            "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
            "height": 360,
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
            "font": {
                "family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif",
                "size": 14,
            },
        },
    }
