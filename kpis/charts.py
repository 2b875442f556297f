"""Plotly figures of the KPI pages, built from selector output (snapshots).

Each function returns a JSON-ready dict (``figure_json``) for ``json_script``;
the page's script draws it with plotly.js. Money axes use thousands separators
and two decimals in hovers; ratios show as percentages.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import plotly.graph_objects as go

from kpis.selectors import BoardRow, SeriesPoint, StageRow

BLUE, LIGHT, GREY, GREEN, AMBER, RED = (
    "#2457c5",
    "#9dbbf0",
    "#6b7280",
    "#1f9d55",
    "#d97706",
    "#c0392b",
)
FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 13}


@functools.cache
def _template() -> dict[str, Any]:
    # plotly's default template, as its figures serialise it (built once: building
    # figures through plotly's validated objects cost ~30 ms each).
    return json.loads(go.Figure().to_json())["layout"]["template"]


def _figure(
    data: list[dict[str, Any]],
    title: str,
    *,
    xaxis: dict[str, Any] | None = None,
    yaxis: dict[str, Any] | None = None,
    height: int = 320,
    **extra: Any,
) -> dict[str, Any]:
    """The figure dict plotly.js draws (what ``go.Figure.to_json`` produced),
    built as plain data."""
    layout: dict[str, Any] = {
        "template": _template(),
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}},
        "margin": {"l": 70, "r": 20, "t": 60, "b": 60},
        "height": height,
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": FONT,
        "legend": {"orientation": "h", "y": 1.1, "x": 1, "xanchor": "right"},
        **extra,
    }
    layout["yaxis"] = {**(yaxis or {}), "gridcolor": "#e5e7eb", "zerolinecolor": "#c8ced8"}
    if xaxis:
        layout["xaxis"] = xaxis
    return {"data": data, "layout": layout}


def _money(x: list[Any], y: list[Any], name: str, extra: str, currency: str, **kw: Any) -> dict:
    return {
        "x": x,
        "y": y,
        "name": name,
        "hovertemplate": "%{x}: %{y:,.2f} " + currency + f"<extra>{extra}</extra>",
        **kw,
    }


def _f(value: Decimal | None) -> float | None:
    # Plotly needs JSON numbers; money stays Decimal everywhere else.
    return None if value is None else float(value)


def gauge(attainment: Decimal | None, *, title: str) -> dict[str, Any]:
    """Attainment gauge, 0-150 %, red below 50 %, amber below 100 %."""
    pct = None if attainment is None else float(attainment * 100)
    number = (
        {"suffix": "%", "valueformat": ".2f"}
        if pct is not None
        else {"suffix": " (no quota)", "valueformat": ".0f"}
    )
    trace = {
        "type": "indicator",
        "mode": "gauge+number",
        "value": pct if pct is not None else 0,
        "number": number,
        "gauge": {
            "axis": {"range": [0, 150], "ticksuffix": "%"},
            "bar": {"color": BLUE},
            "steps": [
                {"range": [0, 50], "color": "#fde2e1"},
                {"range": [50, 100], "color": "#fdf0d5"},
                {"range": [100, 150], "color": "#dcf3e5"},
            ],
            "threshold": {"line": {"color": GREY, "width": 3}, "value": 100},
        },
    }
    return _figure([trace], title, height=260, margin={"l": 30, "r": 30, "t": 50, "b": 10})


def _amount_axis(currency: str) -> dict[str, Any]:
    return {"title": {"text": f"Amount ({currency})"}, "tickformat": ",.0f"}


def bookings_vs_quota(
    points: Sequence[SeriesPoint], *, title: str, currency: str
) -> dict[str, Any]:
    """Bookings per period as bars, the quota as a line."""
    labels = [p.period.label for p in points]
    data = [
        _money(
            labels,
            [_f(p.values.get("bookings")) for p in points],
            "Bookings",
            "Bookings",
            currency,
            type="bar",
            marker={"color": BLUE},
        ),
        _money(
            labels,
            [_f(p.values.get("quota")) for p in points],
            "Quota",
            "Quota",
            currency,
            type="scatter",
            mode="lines+markers",
            line={"color": GREY, "dash": "dash"},
        ),
    ]
    return _figure(data, title, xaxis={"title": {"text": "Month"}}, yaxis=_amount_axis(currency))


def cumulative_vs_quota(
    points: Sequence[SeriesPoint], *, title: str, currency: str
) -> dict[str, Any]:
    """Team trend: bookings and quota accumulated over the year's months."""
    labels = [p.period.label for p in points]
    booked, quota, b_sum, q_sum = [], [], Decimal(0), Decimal(0)
    for p in points:
        b_sum += p.values.get("bookings") or 0
        q_sum += p.values.get("quota") or 0
        booked.append(float(b_sum))
        quota.append(float(q_sum))
    data = [
        _money(
            labels,
            booked,
            "Bookings to date",
            "Bookings",
            currency,
            type="scatter",
            mode="lines+markers",
            line={"color": BLUE, "width": 3},
        ),
        _money(
            labels,
            quota,
            "Quota to date",
            "Quota",
            currency,
            type="scatter",
            mode="lines",
            line={"color": GREY, "dash": "dash"},
        ),
    ]
    return _figure(data, title, xaxis={"title": {"text": "Month"}}, yaxis=_amount_axis(currency))


def pipeline_by_stage(rows: Sequence[StageRow], *, title: str, currency: str) -> dict[str, Any]:
    """Open pipeline per stage, raw and weighted by probability."""
    return _grouped_bars(
        [r.stage.name for r in rows],
        [
            ("Open amount", "Raw", [float(r.raw) for r in rows], LIGHT),
            ("Weighted", "Weighted", [float(r.weighted) for r in rows], BLUE),
        ],
        title=title,
        axis="Stage",
        currency=currency,
    )


def _grouped_bars(
    labels: list[str],
    series: list[tuple[str, str, list[float | None], str]],
    *,
    title: str,
    axis: str,
    currency: str,
) -> dict[str, Any]:
    """Money bars side by side per label: one series of (name, hover label,
    values, colour) each."""
    data = [
        _money(labels, values, name, hover, currency, type="bar", marker={"color": colour})
        for name, hover, values, colour in series
    ]
    return _figure(
        data,
        title,
        xaxis={"title": {"text": axis}},
        yaxis=_amount_axis(currency),
        barmode="group",
    )


def attainment_by_subject(
    names: Sequence[str], values: Sequence[Decimal | None], *, title: str
) -> dict[str, Any]:
    """Horizontal bars of attainment in percent, coloured by band."""
    pct = [None if v is None else float(v * 100) for v in values]
    colours = [
        GREY if v is None else (GREEN if v >= 100 else AMBER if v >= 50 else RED) for v in pct
    ]
    trace = {
        "type": "bar",
        "x": [v or 0 for v in pct],
        "y": list(names),
        "orientation": "h",
        "marker": {"color": colours},
        "text": ["no quota" if v is None else f"{v:.2f}%" for v in pct],
        "textposition": "auto",
        "hovertemplate": "%{y}: %{x:.2f}%<extra></extra>",
    }
    return _figure(
        [trace],
        title,
        xaxis={"title": {"text": "Attainment (%)"}, "ticksuffix": "%"},
        yaxis={"autorange": "reversed"},
        height=max(220, 60 + 34 * len(names)),
    )


def stage_funnel(rows: Sequence[StageRow], *, title: str) -> dict[str, Any]:
    """Deals entering each stage in the period, with the share reaching the next."""
    shown = [r for r in rows if r.entered]
    trace = {
        "type": "funnel",
        "y": [r.stage.name for r in shown],
        "x": [float(r.entered or 0) for r in shown],
        "text": [
            f"{int(r.entered or 0)} · {float((r.conversion or 0) * 100):.1f}% on" for r in shown
        ],
        "textinfo": "text",
        "marker": {"color": BLUE},
        "hovertemplate": "%{y}: %{x} deals<extra></extra>",
    }
    return _figure([trace], title, margin={"l": 160, "r": 20, "t": 50, "b": 20})


def teams_side_by_side(
    names: Sequence[str],
    bookings: Sequence[Decimal | None],
    quotas: Sequence[Decimal | None],
    *,
    title: str,
    currency: str,
) -> dict[str, Any]:
    return _grouped_bars(
        list(names),
        [
            ("Bookings", "Bookings", [_f(v) for v in bookings], BLUE),
            ("Quota", "Quota", [_f(v) for v in quotas], "#c8ced8"),
        ],
        title=title,
        axis="Team",
        currency=currency,
    )


def leaderboard_bars(
    rows: Sequence[BoardRow], *, title: str, axis: str, percent: bool
) -> dict[str, Any]:
    top = [r for r in rows if r.value is not None][:15]
    scale = 100 if percent else 1
    trace = {
        "type": "bar",
        "x": [float(r.value * scale) for r in top],  # type: ignore[operator]
        "y": [f"{r.rank}. {r.member.display_name}" for r in top],
        "orientation": "h",
        "marker": {"color": [AMBER if r.is_me else BLUE for r in top]},
        "text": [r.text for r in top],
        "textposition": "auto",
        "hovertemplate": "%{y}: %{text}<extra></extra>",
    }
    return _figure(
        [trace],
        title,
        xaxis={
            "title": {"text": axis},
            "tickformat": ",.0f",
            "ticksuffix": "%" if percent else "",
        },
        yaxis={"autorange": "reversed"},
        height=max(220, 60 + 30 * len(top)),
        margin={"l": 170, "r": 20, "t": 50, "b": 50},
    )
