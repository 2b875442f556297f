"""Plotly figures of the pipeline pages, built from selector output."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from pipeline.selectors import FunnelStep

FUNNEL_COLOURS = ["#2457c5", "#3f74d9", "#6b97e6", "#9dbbf0"]


def funnel_figure(steps: Sequence[FunnelStep]) -> go.Figure:
    """The AIDA funnel: leads per stage, with the share of the top stage."""
    figure = go.Figure(
        go.Funnel(
            y=[step.label for step in steps],
            x=[step.count for step in steps],
            textinfo="value+percent initial",
            marker={"color": FUNNEL_COLOURS[: len(steps)]},
            connector={"line": {"color": "#c8ced8", "width": 1}},
            hovertemplate="%{y}: %{x} leads<extra></extra>",
        )
    )
    figure.update_layout(
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        height=360,
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 14},
    )
    return figure
