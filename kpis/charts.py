"""Plotly figures of the KPI pages, built from selector output (snapshots).

Each function returns a JSON-ready dict for ``json_script``; the shared
``spm/charts.js`` draws it with plotly.js. Numbers follow the tenant's formats
(``spm.formatting``: separators, currency symbol); ratios show as percentages.
A figure with nothing to draw carries ``empty`` (the text shown instead).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import plotly.graph_objects as go

from kpis.selectors import BoardRow, SeriesPoint, StageRow
from pipeline.forecast.snapshots import TrendPoint, Waterfall
from spm.formatting import Formats, current_formats

BLUE, LIGHT, GREY, GREEN, AMBER, RED = (
    "#2457c5",
    "#9dbbf0",
    "#6b7280",
    "#1f9d55",
    "#d97706",
    "#c0392b",
)
FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 13}
NO_DATA = "No data for this period"


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
    built as plain data, in the tenant's number formats."""
    layout: dict[str, Any] = {
        "separators": current_formats().plotly()["separators"],
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


def _empty(title: str) -> dict[str, Any]:
    """A chart with nothing to show: the page says so instead of drawing axes."""
    return {"data": [], "layout": {"title": {"text": title}}, "empty": NO_DATA}


def _blank(values: Sequence[Any]) -> bool:
    return all(v is None or v == 0 for v in values)


def _money(x: list[Any], y: list[Any], name: str, extra: str, formats: Formats, **kw: Any) -> dict:
    f = formats.plotly()
    return {
        "x": x,
        "y": y,
        "name": name,
        "hovertemplate": "%{x}: "
        + f["money_prefix"]
        + "%{y:,.2f}"
        + f["money_suffix"]
        + f"<extra>{extra}</extra>",
        **kw,
    }


def _f(value: Decimal | None) -> float | None:
    # Plotly needs JSON numbers; money stays Decimal everywhere else.
    return None if value is None else float(value)


def gauge(attainment: Decimal | None, *, title: str) -> dict[str, Any]:
    """Attainment gauge, 0-150 %, red below 50 %, amber below 100 %; without a
    quota there is no attainment to draw."""
    if attainment is None:
        return {**_empty(title), "empty": "No quota for this period"}
    trace = {
        "type": "indicator",
        "mode": "gauge+number",
        "value": float(attainment * 100),
        "number": {"suffix": "%", "valueformat": ".2f"},
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


def _amount_axis(formats: Formats) -> dict[str, Any]:
    f = formats.plotly()
    return {
        "title": {"text": f"Amount ({formats.currency})"},
        "tickformat": ",.0f",
        "tickprefix": f["money_prefix"],
        "ticksuffix": f["money_suffix"],
    }


def _grouped_bars(
    x: list[Any],
    series: Sequence[tuple[str, str, list[Any], str]],
    *,
    title: str,
    axis: str,
) -> dict[str, Any]:
    """Amount bars side by side: one (name, hover label, values, colour) per series."""
    formats = current_formats()
    data = [
        _money(x, values, name, extra, formats, type="bar", marker={"color": colour})
        for name, extra, values, colour in series
    ]
    return _figure(
        data,
        title,
        xaxis={"title": {"text": axis}},
        yaxis=_amount_axis(formats),
        barmode="group",
    )


def bookings_vs_quota(points: Sequence[SeriesPoint], *, title: str) -> dict[str, Any]:
    """Bookings per period as bars, the quota as a line."""
    if _blank([p.values.get(k) for p in points for k in ("bookings", "quota")]):
        return _empty(title)
    formats = current_formats()
    labels = [p.period.label for p in points]
    data = [
        _money(
            labels,
            [_f(p.values.get("bookings")) for p in points],
            "Bookings",
            "Bookings",
            formats,
            type="bar",
            marker={"color": BLUE},
        ),
        _money(
            labels,
            [_f(p.values.get("quota")) for p in points],
            "Quota",
            "Quota",
            formats,
            type="scatter",
            mode="lines+markers",
            line={"color": GREY, "dash": "dash"},
        ),
    ]
    return _figure(data, title, xaxis={"title": {"text": "Month"}}, yaxis=_amount_axis(formats))


def cumulative_vs_quota(points: Sequence[SeriesPoint], *, title: str) -> dict[str, Any]:
    """Team trend: bookings and quota accumulated over the year's months."""
    if _blank([p.values.get(k) for p in points for k in ("bookings", "quota")]):
        return _empty(title)
    formats = current_formats()
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
            formats,
            type="scatter",
            mode="lines+markers",
            line={"color": BLUE, "width": 3},
        ),
        _money(
            labels,
            quota,
            "Quota to date",
            "Quota",
            formats,
            type="scatter",
            mode="lines",
            line={"color": GREY, "dash": "dash"},
        ),
    ]
    return _figure(data, title, xaxis={"title": {"text": "Month"}}, yaxis=_amount_axis(formats))


def _stage_axis(rows: Sequence[StageRow]) -> list[Any]:
    """Stage names, under their pipeline's name when there are several
    (stages of the same name in two pipelines stay two bars)."""
    if len({r.stage.pipeline_id for r in rows}) > 1:
        return [[r.stage.pipeline.name for r in rows], [r.stage.name for r in rows]]
    return [r.stage.name for r in rows]


def stage_label(row: StageRow, *, several_pipelines: bool) -> str:
    """'Proposal', or 'Renewals' over 'Proposal' (two lines, narrow enough for
    a phone) where two pipelines are shown."""
    if several_pipelines:
        return f"{row.stage.pipeline.name}<br>{row.stage.name}"
    return row.stage.name


def pipeline_by_stage(rows: Sequence[StageRow], *, title: str) -> dict[str, Any]:
    """Open pipeline per stage (of each pipeline), raw and weighted by probability."""
    if _blank([r.raw for r in rows]):
        return _empty(title)
    return _grouped_bars(
        _stage_axis(rows),
        [
            ("Open amount", "Raw", [float(r.raw) for r in rows], LIGHT),
            ("Weighted", "Weighted", [float(r.weighted) for r in rows], BLUE),
        ],
        title=title,
        axis="Stage",
    )


def attainment_by_subject(
    names: Sequence[str], values: Sequence[Decimal | None], *, title: str
) -> dict[str, Any]:
    """Horizontal bars of attainment in percent, coloured by band."""
    if all(v is None for v in values):
        return _empty(title)
    formats = current_formats()
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
        "text": ["no quota" if v is None else formats.percent_of(Decimal(str(v))) for v in pct],
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
    """Deals entering each stage in the period, with the share reaching the next
    ('12 · 75.0%' beside the bar, '12 deals · 75.0% moved on' on hover); stages
    are named with their pipeline when several pipelines are shown. The
    labels widen the margins they need, so none is cut off on a phone."""
    shown = [r for r in rows if r.entered]
    if not shown:
        return _empty(title)
    formats = current_formats()
    several = len({r.stage.pipeline_id for r in shown}) > 1
    counts = [formats.number(r.entered) for r in shown]
    shares = [formats.percent(r.conversion or 0, 1) for r in shown]
    trace = {
        "type": "funnel",
        "y": [stage_label(r, several_pipelines=several) for r in shown],
        "x": [float(r.entered or 0) for r in shown],
        "text": [f"{n} · {share}" for n, share in zip(counts, shares, strict=True)],
        "textinfo": "text",
        "textposition": "outside",
        "hovertext": [
            f"{n} deals · {share} moved on" for n, share in zip(counts, shares, strict=True)
        ],
        "marker": {"color": BLUE},
        "hovertemplate": "%{y}: %{hovertext}<extra></extra>",
    }
    return _figure(
        [trace],
        title,
        yaxis={"automargin": True},
        margin={"l": 10, "t": 50, "b": 20},
        height=max(320, 70 + len(shown) * (34 if several else 24)),
    )


def teams_side_by_side(
    names: Sequence[str],
    bookings: Sequence[Decimal | None],
    quotas: Sequence[Decimal | None],
    *,
    title: str,
) -> dict[str, Any]:
    if _blank([*bookings, *quotas]):
        return _empty(title)
    return _grouped_bars(
        list(names),
        [
            ("Bookings", "Bookings", [_f(v) for v in bookings], BLUE),
            ("Quota", "Quota", [_f(v) for v in quotas], "#c8ced8"),
        ],
        title=title,
        axis="Team",
    )


def leaderboard_bars(
    rows: Sequence[BoardRow], *, title: str, axis: str, percent: bool
) -> dict[str, Any]:
    top = [r for r in rows if r.value is not None][:15]
    if not top:
        return _empty(title)
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


TREND_SERIES = (
    ("closed", "Closed won", GREEN),
    ("commit", "Commit", BLUE),
    ("best_case", "Best case", LIGHT),
    ("pipeline", "Pipeline", "#c9d6ee"),
)


def forecast_trend(points: Sequence[TrendPoint], *, title: str) -> dict[str, Any]:
    """The quarter's forecast week by week: closed and each open category
    stacked, the weighted pipeline as a line."""
    if not points:
        return _empty(title)
    formats = current_formats()
    days = [formats.date(p.day) for p in points]
    data = [
        _money(
            days,
            [_f(p.amounts.get(key)) or 0 for p in points],
            label,
            label,
            formats,
            type="bar",
            marker={"color": colour},
        )
        for key, label, colour in TREND_SERIES
    ]
    data.append(
        _money(
            days,
            [_f(p.weighted) for p in points],
            "Weighted pipeline",
            "Weighted",
            formats,
            type="scatter",
            mode="lines+markers",
            line={"color": AMBER},
        )
    )
    return _figure(
        data, title, barmode="stack", yaxis=_amount_axis(formats), xaxis={"type": "category"}
    )


def forecast_waterfall(waterfall: Waterfall, *, title: str) -> dict[str, Any]:
    """What moved closed + commit since the previous snapshot, step by step."""
    if waterfall.day is None:
        return _empty(title)
    formats = current_formats()
    f = formats.plotly()
    start = f"Week of {formats.date(waterfall.previous_day)}" if waterfall.previous_day else "Start"
    labels = [
        start,
        *(label for label, _amount in waterfall.steps),
        f"Week of {formats.date(waterfall.day)}",
    ]
    values = [_f(waterfall.start), *(_f(amount) for _label, amount in waterfall.steps), 0]
    trace = {
        "type": "waterfall",
        "x": labels,
        "y": values,
        "measure": ["absolute", *("relative" for _ in waterfall.steps), "total"],
        "connector": {"line": {"color": "#c8ced8"}},
        "increasing": {"marker": {"color": GREEN}},
        "decreasing": {"marker": {"color": RED}},
        "totals": {"marker": {"color": BLUE}},
        "hovertemplate": "%{x}: "
        + f["money_prefix"]
        + "%{y:,.2f}"
        + f["money_suffix"]
        + "<extra></extra>",
    }
    axis = {**_amount_axis(formats), "range": _waterfall_range(waterfall)}
    return _figure([trace], title, yaxis=axis, showlegend=False)


def _waterfall_range(waterfall: Waterfall) -> list[float]:
    """The axis spans the running totals with some room, not zero to the top:
    a week's moves are small beside the quarter's total and would not show."""
    running = [waterfall.start]
    for _label, amount in waterfall.steps:
        running.append(running[-1] + amount)
    low, high = min(running), max(running)
    room = (high - low) * Decimal("0.6") or abs(high) * Decimal("0.1") or Decimal(1)
    return [float(max(Decimal(0), low - room)), float(high + room)]


def forecast_vs_quota(
    bars: Sequence[tuple[str, Decimal | None]], quota: Decimal | None, *, title: str
) -> dict[str, Any]:
    """The forecast figures side by side, the quota as a line across them."""
    if _blank([v for _label, v in bars]) and quota is None:
        return _empty(title)
    formats = current_formats()
    labels = [label for label, _v in bars]
    data = [
        _money(
            labels,
            [_f(v) for _label, v in bars],
            "Forecast",
            "Forecast",
            formats,
            type="bar",
            marker={"color": [GREEN, BLUE, BLUE, LIGHT][: len(bars)]},
        )
    ]
    if quota is not None:
        data.append(
            _money(
                labels,
                [_f(quota)] * len(labels),
                "Quota",
                "Quota",
                formats,
                type="scatter",
                mode="lines",
                line={"color": GREY, "dash": "dash"},
            )
        )
    return _figure(data, title, yaxis=_amount_axis(formats), height=300)
