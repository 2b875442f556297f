"""Plotly figures of the incentives pages, drawn by the shared ``spm/charts.js``
in the tenant's formats (the figure layout of ``kpis.charts``)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from incentives.whatif import Curve
from kpis.charts import BLUE, GREEN, NO_DATA, RED, _amount_axis, _empty, _f, _figure, _money
from spm.formatting import current_formats
from spm.models import FiscalPeriod


def payout_curve(curve: Curve | None, *, title: str) -> dict[str, Any]:
    """Payout against attainment (or booked amount), with the band edges marked."""
    if curve is None:
        return {**_empty(title), "empty": "No curve: this component pays per deal or per score"}
    formats = current_formats()
    xs = [_f(x) for x, _ in curve.points]
    ys = [_f(y) for _, y in curve.points]
    on_amount = curve.x_label != "Attainment (%)"
    hover = "%{x:,.2f}" if on_amount else "%{x:.2f}%"
    trace = _money(
        xs,
        ys,
        "Payout",
        curve.component.label,
        formats,
        mode="lines",
        line={"color": BLUE, "width": 3},
    )
    trace["hovertemplate"] = trace["hovertemplate"].replace("%{x}", hover)
    edges = sorted({b.lower for b in curve.component.rate_table if b.lower > 0})
    shapes = [
        {
            "type": "line",
            "xref": "x",
            "yref": "paper",
            "x0": float(edge),
            "x1": float(edge),
            "y0": 0,
            "y1": 1,
            "line": {"color": "#c8ced8", "dash": "dot", "width": 1},
        }
        for edge in edges
    ]
    xaxis: dict[str, Any] = {"title": {"text": curve.x_label}}
    if not on_amount:
        xaxis["ticksuffix"] = "%"
    return _figure([trace], title, xaxis=xaxis, yaxis=_amount_axis(formats), shapes=shapes)


def commission_by_period(
    rows: Sequence[tuple[FiscalPeriod, Decimal]], *, title: str
) -> dict[str, Any]:
    """Published commission per period as bars, the running total as a line."""
    if not rows:
        return {**_empty(title), "empty": NO_DATA}
    formats = current_formats()
    labels = [period.label for period, _ in rows]
    running: list[float | None] = []
    total = Decimal("0.00")
    for _, amount in rows:  # a year's few periods
        total += amount
        running.append(_f(total))
    data = [
        _money(
            labels,
            [_f(a) for _, a in rows],
            "Paid in the period",
            "paid",
            formats,
            type="bar",
            marker={"color": BLUE},
        ),
        _money(
            labels,
            running,
            "To date",
            "to date",
            formats,
            mode="lines+markers",
            line={"color": GREEN, "width": 3},
        ),
    ]
    return _figure(data, title, xaxis={"type": "category"}, yaxis=_amount_axis(formats))


def model_histogram(current: Sequence[Decimal], modelled: Sequence[Decimal]) -> dict[str, Any]:
    """How members' payouts spread under the plans in force and the draft."""
    title = "Payout per member: in force and draft"
    if not current:
        return {**_empty(title), "empty": "No member was on a plan in the period"}
    formats = current_formats()
    data = [
        {
            "type": "histogram",
            "x": [_f(v) for v in values],
            "name": name,
            "opacity": 0.6,
            "marker": {"color": color},
            "hovertemplate": "%{x}: %{y} members<extra>" + name + "</extra>",
        }
        for name, values, color in (("In force", current, BLUE), ("Draft", modelled, GREEN))
    ]
    xaxis = {"title": {"text": f"Payout ({formats.currency})"}, "tickformat": ",.0f"}
    return _figure(
        data, title, xaxis=xaxis, yaxis={"title": {"text": "Members"}}, barmode="overlay"
    )


def model_change(names: Sequence[str], changes: Sequence[Decimal]) -> dict[str, Any]:
    """Each member's change of payout under the draft, largest gain first."""
    title = "Change per member under the draft"
    if not changes:
        return {**_empty(title), "empty": "No member was on a plan in the period"}
    formats = current_formats()
    trace = _money(
        list(names),
        [_f(v) for v in changes],
        "Change",
        "change",
        formats,
        type="bar",
        marker={"color": [GREEN if v >= 0 else RED for v in changes]},
    )
    return _figure(
        [trace],
        title,
        xaxis={"type": "category", "showticklabels": len(names) <= 40},
        yaxis=_amount_axis(formats),
    )
