"""Chart figures: empty periods say so, stages carry their pipeline, labels read."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

from kpis import charts
from kpis.selectors import StageRow
from spm.models import FiscalPeriod
from spm.periods import period_picker
from spm.tenancy.context import tenant_context


def _stage(name, pipeline_id, pipeline_name):
    return SimpleNamespace(
        name=name, pipeline_id=pipeline_id, pipeline=SimpleNamespace(name=pipeline_name)
    )


def test_empty_charts_carry_no_data_instead_of_axes(world_a):
    with tenant_context(world_a.tenant):
        rows = [StageRow(_stage("Closing", 1, "New Business"), Decimal(0), Decimal(0))]
        figures = [
            charts.gauge(None, title="Attainment"),
            charts.bookings_vs_quota([], title="Trend"),
            charts.cumulative_vs_quota([], title="To date"),
            charts.pipeline_by_stage(rows, title="Pipeline"),
            charts.attainment_by_subject(["Ray"], [None], title="Attainment by rep"),
            charts.stage_funnel(rows, title="Conversion"),
            charts.teams_side_by_side(["West"], [None], [None], title="Teams"),
            charts.leaderboard_bars([], title="Board", axis="Bookings", percent=False),
        ]
    assert [(f["data"], f.get("empty")) for f in figures] == [
        ([], "No quota for this period"),
        *[([], "No data for this period")] * 7,
    ]


def test_stages_of_two_pipelines_stay_apart_and_conversion_labels_read(world_a):
    rows = [
        StageRow(
            _stage("Closing", 1, "New Business"),
            Decimal("500.00"),
            Decimal("400.00"),
            Decimal(15),
            Decimal("0.8667"),
        ),
        StageRow(
            _stage("Closing", 2, "Renewals"),
            Decimal("100.00"),
            Decimal("80.00"),
            Decimal(4),
            Decimal("0.5"),
        ),
    ]
    with tenant_context(world_a.tenant):
        bars = charts.pipeline_by_stage(rows, title="Pipeline")
        funnel = charts.stage_funnel(rows, title="Conversion")
    assert bars["data"][0]["x"] == [["New Business", "Renewals"], ["Closing", "Closing"]]
    assert bars["layout"]["separators"] == ".,"
    assert bars["data"][0]["hovertemplate"] == "%{x}: $%{y:,.2f}<extra>Raw</extra>"
    assert funnel["data"][0]["y"] == ["New Business<br>Closing", "Renewals<br>Closing"]
    assert funnel["data"][0]["text"] == ["15 · 86.7%", "4 · 50.0%"]
    assert funnel["data"][0]["hovertext"] == [
        "15 deals · 86.7% moved on",
        "4 deals · 50.0% moved on",
    ]


def test_period_picker_offers_kinds_the_years_periods_and_neighbours(world_a):

    with tenant_context(world_a.tenant):
        periods = list(FiscalPeriod.objects.filter(tenant=world_a.tenant))
    q1 = next(p for p in periods if p.kind == "quarter" and p.label == "FY2027 Q1")
    picker = period_picker(periods, q1, today=dt.date(2027, 5, 2))
    assert [(kind, p.label) for kind, _label, p in picker.kinds] == [
        ("month", "Jan 2027"),
        ("quarter", "FY2027 Q1"),
        ("year", "FY2027"),
    ]
    assert [p.label for p in picker.choices] == ["FY2027 Q1", "FY2027 Q2", "FY2027 Q3", "FY2027 Q4"]
    assert (picker.next.label, picker.current.label) == ("FY2027 Q2", "FY2027 Q2")
    assert picker.previous.label == "FY2026 Q4"
