"""The plan document: YAML/JSON round trip, the published schema, errors by path."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from incentives.document import (
    PLAN_SCHEMA,
    PlanDocumentError,
    plan_document_dump,
    plan_document_load,
    plan_document_validate,
    plan_schema_json,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "plans" / "account-executive.yaml"


def base(**component):
    return {
        "schema_version": 1,
        "name": "AE",
        "effective_from": "2027-01-01",
        "components": [
            {
                "key": "a",
                "measure": "credited_bookings",
                "rate_table": [{"from": "0", "to": "50", "rate": "2"}, {"from": "50", "rate": "8"}],
            },
            {
                "key": "b",
                "measure": "credited_bookings",
                "rate_table": [{"from": "0", "rate": "5"}],
            },
            {"key": "c", "measure": "credited_bookings", **component},
        ],
    }


def errors_of(data, **kw):
    with pytest.raises(PlanDocumentError) as caught:
        plan_document_validate(data, **kw)
    return caught.value.errors


def test_published_schema_file_is_the_one_the_code_checks():
    assert (ROOT / "docs" / "plan.schema.json").read_text() == plan_schema_json()
    assert PLAN_SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_yaml_and_json_round_trip_to_the_same_document():
    document = plan_document_load(EXAMPLE.read_text())
    again_yaml = plan_document_load(plan_document_dump(document, fmt="yaml"))
    again_json = plan_document_load(plan_document_dump(document, fmt="json"))
    assert again_yaml == document
    assert again_json == document
    assert json.loads(plan_document_dump(document, fmt="json"))["components"][0]["rate_table"][
        1
    ] == {"from": "50", "to": "100", "rate": "8"}
    assert document.components[0].rate_table[2].rate == Decimal("12")
    assert document.components[0].cap_per_period == Decimal("20000.00")


def test_overlapping_band_is_named_by_path():
    bands = [{"from": "0", "to": "60", "rate": "2"}, {"from": "50", "to": "100", "rate": "8"}]
    assert errors_of(base(rate_table=bands)) == [
        ("components[2].rate_table[1].from", "overlaps the band before (which ends at 60)")
    ]


def test_unordered_band_and_gap():
    bands = [
        {"from": "0", "to": "50", "rate": "2"},
        {"from": "100", "to": "150", "rate": "8"},
        {"from": "150", "to": "120", "rate": "9"},
    ]
    assert errors_of(base(rate_table=bands)) == [
        ("components[2].rate_table[1].from", "leaves a gap after 50"),
        ("components[2].rate_table[2].to", "must be above from (150)"),
    ]


def test_open_band_must_be_last():
    bands = [{"from": "0", "rate": "2"}, {"from": "50", "rate": "8"}]
    assert errors_of(base(rate_table=bands)) == [
        ("components[2].rate_table[0].to", "only the last band may be open-ended")
    ]


def test_cap_below_zero():
    doc = base(rate_table=[{"from": "0", "rate": "2"}], cap={"per_period": "-1"})
    assert errors_of(doc) == [("components[2].cap.per_period", "a cap must not be below zero")]


def test_unknown_kpi():
    doc = base()
    doc["components"][2] = {
        "key": "c",
        "measure": "kpi",
        "kpi": "happiness",
        "basis": "target",
        "target": "1",
        "rate_table": [{"from": "0", "rate": "100"}],
    }
    assert errors_of(doc, known_kpis={"win_rate"}) == [
        ("components[2].kpi", "unknown KPI 'happiness'")
    ]


def test_schema_errors_name_the_path_and_the_field():
    doc = base(rate_table=[{"from": "zero", "rate": "2"}], colour="red")
    assert errors_of(doc) == [
        ("components[2]", "Unknown field ('colour' was unexpected)"),
        (
            "components[2].rate_table[0].from",
            "'zero' is not a valid number (up to 12 digits, 6 decimals)",
        ),
    ]


def test_reordering_the_operations_is_refused_unless_it_is_the_stated_alternative():
    doc = base(rate_table=[{"from": "0", "rate": "2"}])
    doc["order_of_operations"] = [
        "credits",
        "measures",
        "multipliers",
        "rate_tables",
        "caps",
        "spiffs_and_bonuses",
        "draws",
        "adjustments",
    ]
    assert [path for path, _ in errors_of(doc)] == ["order_of_operations"]
    doc["order_of_operations"] = [
        "credits",
        "measures",
        "rate_tables",
        "multipliers",
        "spiffs_and_bonuses",
        "caps",
        "draws",
        "adjustments",
    ]
    assert plan_document_validate(doc).bonuses_inside_cap is True


def test_nul_characters_are_refused_by_path():
    doc = base(rate_table=[{"from": "0", "rate": "2"}], label="Bad\x00label")
    assert errors_of(doc) == [("components[2].label", "contains a NUL character")]


def test_numbers_beyond_the_columns_are_refused():
    doc = base(rate_table=[{"from": "0", "rate": "2"}], cap={"per_period": "1" * 14})
    assert errors_of(doc) == [
        (
            "components[2].cap.per_period",
            "'11111111111111' is not a valid number (up to 12 digits, 6 decimals)",
        )
    ]


def test_yaml_syntax_error_names_the_line():
    with pytest.raises(PlanDocumentError) as caught:
        plan_document_load("schema_version: 1\nname: [unclosed\n")
    assert caught.value.errors[0][0] == "line 3"


def test_floats_in_yaml_become_exact_decimals():
    text = yaml.safe_dump(base(rate_table=[{"from": 0, "rate": 0.1}]))
    document = plan_document_load(text)
    assert document.components[2].rate_table[0].rate == Decimal("0.1")


def test_plan_check_runs_the_examples(capsys):
    call_command("plan_check", str(EXAMPLE))
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "pass: 130,000 in the quarter pays 8,600 on the tiers: bookings 8600.00, total 8600.00",
        "pass: below the gate nothing is paid: bookings 0.00",
        "pass: a Cloud new logo earns the SPIFF beside its commission: bookings 6200.00, "
        "new_logo 500.00, total 6700.00",
        "pass: objectives scored 80.5% pay 4,025: mbo 4025.00",
        f"{EXAMPLE}: valid, 4 example(s) passed",
    ]


def test_plan_check_reports_a_failing_example(tmp_path, capsys):
    text = EXAMPLE.read_text().replace('expected: {mbo: "4025.00"}', 'expected: {mbo: "4000.00"}')
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    with pytest.raises(CommandError, match="1 of 4 example"):
        call_command("plan_check", str(path))
    assert "FAIL: objectives scored 80.5% pay 4,025: mbo 4025.00 (expected 4000.00)" in (
        capsys.readouterr().out.splitlines()
    )


def test_plan_check_reports_errors_by_path(tmp_path, capsys):
    path = tmp_path / "plan.yaml"
    path.write_text(
        EXAMPLE.read_text().replace("{from: 50, to: 100, rate: 8}", "{from: 40, to: 100, rate: 8}")
    )
    with pytest.raises(CommandError, match="1 error"):
        call_command("plan_check", str(path))
    assert capsys.readouterr().err.splitlines() == [
        f"{path}: components[0].rate_table[1].from: overlaps the band before (which ends at 50)"
    ]
