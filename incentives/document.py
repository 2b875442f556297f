"""The plan document: a plan version as YAML or JSON, its schema and its checks.

A plan version is a document people can read, diff and review like code
(docs/formulas.md, "Commission plans"). ``plan_document_load`` parses YAML or
JSON text, checks it against ``PLAN_SCHEMA`` (published at
``docs/plan.schema.json``) and then against the rules a schema cannot say
(bands ordered and without gaps or overlaps, a known KPI, the order of
operations); every error names its path, for example
``components[2].rate_table[1].from``. It returns a ``PlanDocument`` of frozen
dataclasses with exact ``Decimal`` values, which the engine reads.

Units: attainment bands and gates are percentages (``50`` is 50%), rates are
percentages of the credited amount (``8`` is 8%), money is a decimal string.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import jsonschema
import yaml

# The order of operations (docs/formulas.md, "Order of operations"). A plan
# may state one other order only: SPIFFs and bonuses before the caps (inside
# the cap). Anything else is refused, so no plan reorders silently.
STANDARD_ORDER: Final = (
    "credits",
    "measures",
    "rate_tables",
    "multipliers",
    "caps",
    "spiffs_and_bonuses",
    "draws",
    "adjustments",
)
BONUSES_INSIDE_CAP_ORDER: Final = (
    "credits",
    "measures",
    "rate_tables",
    "multipliers",
    "spiffs_and_bonuses",
    "caps",
    "draws",
    "adjustments",
)

MEASURES: Final = (
    "credited_bookings",
    "deal_count",
    "kpi",
    "team_attainment",
    "mbo_score",
    "spiff",
)
# Measures paid per credited deal (one statement line per deal and band).
DEAL_MEASURES: Final = ("credited_bookings", "deal_count", "spiff")
# Measures paid on an attainment as a share of the target incentive.
CURVE_MEASURES: Final = ("kpi", "team_attainment")
CREDIT_ROLES: Final = ("direct", "split", "overlay")
DEAL_TYPES: Final = ("new_business", "expansion", "renewal")

# Bounded so that every value fits the columns and exact sums stay in int64
# cents: money up to 13 integer digits, other numbers up to 12 and 6 decimals.
_DECIMAL = r"^-?\d{1,12}(\.\d{1,6})?$"
_MONEY = r"^\d{1,13}(\.\d{1,2})?$"

_band = {
    "type": "object",
    "additionalProperties": False,
    "required": ["from"],
    "properties": {
        "from": {"type": "string", "pattern": _DECIMAL},
        "to": {"type": ["string", "null"], "pattern": _DECIMAL},
        "rate": {"type": "string", "pattern": _DECIMAL},
        "amount": {"type": "string", "pattern": _MONEY},
    },
}

_component = {
    "type": "object",
    "additionalProperties": False,
    "required": ["key", "measure"],
    "properties": {
        "key": {"type": "string", "pattern": r"^[a-z][a-z0-9_]{0,39}$"},
        "label": {"type": "string", "maxLength": 120},
        "measure": {"enum": list(MEASURES)},
        "kpi": {"type": "string", "minLength": 1},
        "credit_roles": {
            "type": "array",
            "items": {"enum": list(CREDIT_ROLES)},
            "minItems": 1,
            "uniqueItems": True,
        },
        "basis": {"enum": ["quota", "target"]},
        "target": {"type": "string", "pattern": _DECIMAL},
        "period": {"enum": ["month", "quarter", "year"]},
        "payout_frequency": {"enum": ["month", "quarter"]},
        "tiering": {"enum": ["marginal", "retroactive"]},
        "rate_table_on": {"enum": ["attainment", "amount"]},
        "rate_table": {"type": "array", "items": _band, "minItems": 1},
        "weight": {"type": "string", "pattern": _DECIMAL},
        "multipliers": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["factor"],
                "properties": {
                    "factor": {"type": "string", "pattern": _DECIMAL},
                    "deal_type": {"enum": list(DEAL_TYPES)},
                    "product_line": {"type": "string"},
                },
            },
        },
        "gate": {"type": "string", "pattern": _DECIMAL},
        "cap": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "per_period": {"type": "string", "pattern": _DECIMAL},
                "per_year": {"type": "string", "pattern": _DECIMAL},
            },
        },
        "spiff": {
            "type": "object",
            "additionalProperties": False,
            "required": ["amount"],
            "properties": {
                "amount": {"type": "string", "pattern": _MONEY},
                "deal_type": {"enum": list(DEAL_TYPES)},
                "product_line": {"type": "string"},
                "from": {"type": "string", "format": "date"},
                "to": {"type": "string", "format": "date"},
            },
        },
        "target_bonus": {"type": "string", "pattern": _MONEY},
    },
}

_example = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "expected"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "quota": {"type": "string", "pattern": _MONEY},
        "target_incentive": {"type": "string", "pattern": _MONEY},
        "team_attainment": {"type": "string", "pattern": _DECIMAL},
        "mbo_score": {"type": "string", "pattern": _DECIMAL},
        "kpi_values": {
            "type": "object",
            "additionalProperties": {"type": "string", "pattern": _DECIMAL},
        },
        "deals": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["amount"],
                "properties": {
                    "amount": {"type": "string", "pattern": _MONEY},
                    "date": {"type": "string", "format": "date"},
                    "deal_type": {"enum": list(DEAL_TYPES)},
                    "product_line": {"type": "string"},
                },
            },
        },
        "expected": {
            "type": "object",
            "additionalProperties": {"type": "string", "pattern": r"^-?\d{1,13}(\.\d{1,2})?$"},
            "minProperties": 1,
        },
    },
}

PLAN_SCHEMA: Final[dict[str, Any]] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "SPM commission plan version",
    "type": "object",
    "additionalProperties": False,
    "required": ["schema_version", "name", "effective_from", "components"],
    "properties": {
        "schema_version": {"const": 1},
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "description": {"type": "string"},
        "effective_from": {"type": "string", "format": "date"},
        "effective_to": {"type": ["string", "null"], "format": "date"},
        "order_of_operations": {"type": "array", "items": {"type": "string"}},
        "clawback": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "policy": {"enum": ["reverse", "reclaim"]},
                "window_days": {"type": "integer", "minimum": 0},
                "pro_rata": {"type": "boolean"},
                "term_months": {"type": "integer", "minimum": 1},
            },
        },
        "exchange_rate_changes": {"enum": ["keep", "adjust"]},
        "draw": {
            "type": "object",
            "additionalProperties": False,
            "required": ["amount"],
            "properties": {
                "amount": {"type": "string", "pattern": _MONEY},
                "recoverable": {"type": "boolean"},
            },
        },
        "components": {"type": "array", "items": _component, "minItems": 1},
        "examples": {"type": "array", "items": _example},
    },
}


class PlanDocumentError(ValueError):
    """A plan document that cannot be used; ``errors`` maps path -> message."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{path}: {message}" for path, message in errors))


@dataclass(frozen=True)
class Band:
    lower: Decimal
    upper: Decimal | None
    rate: Decimal  # percent of the amount (money measures)
    amount: Decimal  # money per deal (deal count)


@dataclass(frozen=True)
class Multiplier:
    factor: Decimal
    deal_type: str | None
    product_line: str | None


@dataclass(frozen=True)
class Spiff:
    amount: Decimal
    deal_type: str | None
    product_line: str | None
    date_from: dt.date | None
    date_to: dt.date | None


@dataclass(frozen=True)
class Component:
    key: str
    label: str
    measure: str
    kpi: str | None = None
    credit_roles: tuple[str, ...] = ("direct", "split")
    basis: str = "quota"
    target: Decimal | None = None
    period: str = "quarter"
    payout_frequency: str = "month"
    tiering: str = "marginal"
    rate_table_on: str = "attainment"
    rate_table: tuple[Band, ...] = ()
    weight: Decimal = Decimal("100")
    multipliers: tuple[Multiplier, ...] = ()
    gate: Decimal | None = None
    cap_per_period: Decimal | None = None
    cap_per_year: Decimal | None = None
    spiff: Spiff | None = None
    target_bonus: Decimal | None = None


@dataclass(frozen=True)
class ExampleDeal:
    amount: Decimal
    date: dt.date | None
    deal_type: str
    product_line: str


@dataclass(frozen=True)
class Example:
    name: str
    quota: Decimal | None
    target_incentive: Decimal
    team_attainment: Decimal | None
    mbo_score: Decimal | None
    kpi_values: Mapping[str, Decimal]
    deals: tuple[ExampleDeal, ...]
    expected: Mapping[str, Decimal]


@dataclass(frozen=True)
class PlanDocument:
    name: str
    effective_from: dt.date
    effective_to: dt.date | None
    components: tuple[Component, ...]
    description: str = ""
    order_of_operations: tuple[str, ...] = STANDARD_ORDER
    clawback_policy: str = "reverse"
    clawback_window_days: int = 365
    clawback_pro_rata: bool = False
    clawback_term_months: int = 12
    draw_amount: Decimal | None = None
    draw_recoverable: bool = True
    exchange_rate_changes: str = "keep"
    examples: tuple[Example, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def bonuses_inside_cap(self) -> bool:
        return self.order_of_operations == BONUSES_INSIDE_CAP_ORDER


def format_path(parts: Iterable[str | int]) -> str:
    """``["components", 2, "rate_table", 1, "from"]`` -> ``components[2].rate_table[1].from``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "(document)"


def plan_document_parse_text(text: str) -> Any:
    """Parse YAML or JSON text (JSON is YAML); a syntax error names its line."""
    try:
        return yaml.safe_load(text)
    except yaml.reader.ReaderError as exc:
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        message = f"not valid YAML or JSON: character #x{code:04x} at position {exc.position}"
        raise PlanDocumentError([("(document)", message)]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(document)"
        problem = getattr(exc, "problem", None) or str(exc)
        raise PlanDocumentError([(where, f"not valid YAML or JSON: {problem}")]) from exc


# Whole numbers the schema keeps as integers; every other number becomes a
# decimal string, so that no value passes through a float (YAML reads 0.5 as
# a float and 2027-01-01 as a date).
_INTEGER_KEYS = frozenset({"schema_version", "window_days", "term_months"})


def _normalise(value: Any, key: str = "") -> Any:
    if isinstance(value, Mapping):
        return {str(k): _normalise(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v, key) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int) and key not in _INTEGER_KEYS:
        return str(value)
    return value


_FORMAT_CHECKER = jsonschema.FormatChecker(formats=["date"])


def _schema_errors(data: Any) -> list[tuple[str, str]]:
    validator = jsonschema.Draft202012Validator(PLAN_SCHEMA, format_checker=_FORMAT_CHECKER)
    errors = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path))):
        message = error.message
        if error.validator == "pattern":
            message = f"{error.instance!r} is not a valid number (up to 12 digits, 6 decimals)"
            if "\\.\\d{1,2}" in str(error.validator_value):
                message = f"{error.instance!r} is not a valid amount (up to 13 digits, 2 decimals)"
        elif error.validator == "additionalProperties":
            message = message.replace("Additional properties are not allowed", "Unknown field")
        errors.append((format_path(error.absolute_path), message))
    return errors


def _dec(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:  # the schema's pattern makes this unreachable
        return None


def _check_bands(path: str, bands: list[dict[str, Any]], measure: str) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    price_key = "amount" if measure == "deal_count" else "rate"
    previous_upper: Decimal | None = Decimal("0")
    for i, band in enumerate(bands):
        here = f"{path}[{i}]"
        lower = Decimal(band["from"])
        upper = _dec(band.get("to"))
        if price_key not in band:
            errors.append((f"{here}.{price_key}", f"required for the {measure} measure"))
        if lower < 0:
            errors.append((f"{here}.from", "must not be negative"))
        if upper is not None and upper <= lower:
            errors.append((f"{here}.to", f"must be above from ({band['from']})"))
        if i == 0 and lower != 0:
            errors.append((f"{here}.from", "the first band starts at 0"))
        elif i > 0 and previous_upper is None:
            errors.append((f"{path}[{i - 1}].to", "only the last band may be open-ended"))
        elif i > 0 and previous_upper is not None and lower < previous_upper:
            errors.append(
                (f"{here}.from", f"overlaps the band before (which ends at {previous_upper})")
            )
        elif i > 0 and previous_upper is not None and lower > previous_upper:
            errors.append((f"{here}.from", f"leaves a gap after {previous_upper}"))
        if band.get("rate") is not None and Decimal(band["rate"]) < 0:
            errors.append((f"{here}.rate", "must not be negative"))
        previous_upper = upper
    return errors


def _check_component(
    path: str, comp: dict[str, Any], known_kpis: set[str] | None
) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    measure = comp["measure"]
    if measure == "kpi":
        key = comp.get("kpi")
        if not key:
            errors.append((f"{path}.kpi", "required for the kpi measure"))
        elif known_kpis is not None and key not in known_kpis:
            errors.append((f"{path}.kpi", f"unknown KPI {key!r}"))
    elif "kpi" in comp:
        errors.append((f"{path}.kpi", "only for the kpi measure"))
    needs_table = measure in ("credited_bookings", "deal_count", *CURVE_MEASURES)
    if needs_table and "rate_table" not in comp:
        errors.append((f"{path}.rate_table", f"required for the {measure} measure"))
    if not needs_table and "rate_table" in comp:
        errors.append((f"{path}.rate_table", f"not used by the {measure} measure"))
    if "rate_table" in comp:
        errors += _check_bands(f"{path}.rate_table", comp["rate_table"], measure)
    on = comp.get("rate_table_on", "attainment")
    basis = comp.get("basis", "quota")
    if measure in CURVE_MEASURES and on != "attainment":
        errors.append((f"{path}.rate_table_on", f"the {measure} measure pays on attainment"))
    if measure == "kpi" and basis != "target":
        errors.append((f"{path}.basis", "a KPI is measured against a target: set basis: target"))
    if basis == "target" and "target" not in comp and measure != "team_attainment":
        errors.append((f"{path}.target", "required when basis is target"))
    if "target" in comp and Decimal(comp["target"]) <= 0:
        errors.append((f"{path}.target", "must be above 0"))
    if measure == "spiff" and "spiff" not in comp:
        errors.append((f"{path}.spiff", "required for the spiff measure"))
    if measure != "spiff" and "spiff" in comp:
        errors.append((f"{path}.spiff", "only for the spiff measure"))
    spiff = comp.get("spiff") or {}
    if spiff.get("from") and spiff.get("to") and spiff["to"] < spiff["from"]:
        errors.append((f"{path}.spiff.to", f"must not be before from ({spiff['from']})"))
    if measure == "mbo_score" and "target_bonus" not in comp:
        errors.append((f"{path}.target_bonus", "required for the mbo_score measure"))
    for key in ("per_period", "per_year"):
        value = (comp.get("cap") or {}).get(key)
        if value is not None and Decimal(value) < 0:
            errors.append((f"{path}.cap.{key}", "a cap must not be below zero"))
    if "gate" in comp and Decimal(comp["gate"]) < 0:
        errors.append((f"{path}.gate", "must not be negative"))
    if "weight" in comp and not Decimal("0") < Decimal(comp["weight"]) <= Decimal("100"):
        errors.append((f"{path}.weight", "a percentage above 0 and at most 100"))
    for j, mult in enumerate(comp.get("multipliers") or []):
        if Decimal(mult["factor"]) < 0:
            errors.append((f"{path}.multipliers[{j}].factor", "must not be negative"))
    periods = {"month": 1, "quarter": 3, "year": 12}
    if periods[comp.get("payout_frequency", "month")] > periods[comp.get("period", "quarter")]:
        errors.append((f"{path}.payout_frequency", "cannot be longer than the component's period"))
    return errors


def _semantic_errors(data: dict[str, Any], known_kpis: set[str] | None) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    start, end = data["effective_from"], data.get("effective_to")
    if end is not None and end < start:
        errors.append(("effective_to", f"must not be before effective_from ({start})"))
    order = data.get("order_of_operations")
    if order is not None and tuple(order) not in (STANDARD_ORDER, BONUSES_INSIDE_CAP_ORDER):
        errors.append(
            (
                "order_of_operations",
                "must be the standard order ("
                + ", ".join(STANDARD_ORDER)
                + ") or the same with spiffs_and_bonuses before caps",
            )
        )
    seen: dict[str, int] = {}
    for i, comp in enumerate(data["components"]):
        if comp["key"] in seen:
            errors.append(
                (
                    f"components[{i}].key",
                    f"{comp['key']!r} is already components[{seen[comp['key']]}]",
                )
            )
        seen.setdefault(comp["key"], i)
        errors += _check_component(f"components[{i}]", comp, known_kpis)
    for i, example in enumerate(data.get("examples") or []):
        for key in example["expected"]:
            if key != "total" and key not in seen:
                errors.append((f"examples[{i}].expected.{key}", "not a component key (or 'total')"))
    return errors


def _build(data: dict[str, Any]) -> PlanDocument:
    def band(b: dict[str, Any]) -> Band:
        return Band(
            lower=Decimal(b["from"]),
            upper=_dec(b.get("to")),
            rate=Decimal(b.get("rate", "0")),
            amount=Decimal(b.get("amount", "0")),
        )

    def date(value: str | None) -> dt.date | None:
        return dt.date.fromisoformat(value) if value else None

    components = []
    for c in data["components"]:
        spiff = c.get("spiff")
        cap = c.get("cap") or {}
        components.append(
            Component(
                key=c["key"],
                label=c.get("label") or c["key"].replace("_", " ").capitalize(),
                measure=c["measure"],
                kpi=c.get("kpi"),
                credit_roles=tuple(c.get("credit_roles") or ("direct", "split")),
                basis=c.get("basis", "quota"),
                target=_dec(c.get("target")),
                period=c.get("period", "quarter"),
                payout_frequency=c.get("payout_frequency", "month"),
                tiering=c.get("tiering", "marginal"),
                rate_table_on=c.get("rate_table_on", "attainment"),
                rate_table=tuple(band(b) for b in c.get("rate_table") or ()),
                weight=Decimal(c.get("weight", "100")),
                multipliers=tuple(
                    Multiplier(Decimal(m["factor"]), m.get("deal_type"), m.get("product_line"))
                    for m in c.get("multipliers") or ()
                ),
                gate=_dec(c.get("gate")),
                cap_per_period=_dec(cap.get("per_period")),
                cap_per_year=_dec(cap.get("per_year")),
                spiff=(
                    Spiff(
                        Decimal(spiff["amount"]),
                        spiff.get("deal_type"),
                        spiff.get("product_line"),
                        date(spiff.get("from")),
                        date(spiff.get("to")),
                    )
                    if spiff
                    else None
                ),
                target_bonus=_dec(c.get("target_bonus")),
            )
        )
    clawback = data.get("clawback") or {}
    draw = data.get("draw")
    examples = tuple(
        Example(
            name=e["name"],
            quota=_dec(e.get("quota")),
            target_incentive=Decimal(e.get("target_incentive", "0")),
            team_attainment=_dec(e.get("team_attainment")),
            mbo_score=_dec(e.get("mbo_score")),
            kpi_values={k: Decimal(v) for k, v in (e.get("kpi_values") or {}).items()},
            deals=tuple(
                ExampleDeal(
                    Decimal(d["amount"]),
                    date(d.get("date")),
                    d.get("deal_type", "new_business"),
                    d.get("product_line", ""),
                )
                for d in e.get("deals") or ()
            ),
            expected={k: Decimal(v) for k, v in e["expected"].items()},
        )
        for e in data.get("examples") or ()
    )
    return PlanDocument(
        name=data["name"],
        description=data.get("description", ""),
        effective_from=dt.date.fromisoformat(data["effective_from"]),
        effective_to=date(data.get("effective_to")),
        components=tuple(components),
        order_of_operations=tuple(data.get("order_of_operations") or STANDARD_ORDER),
        clawback_policy=clawback.get("policy", "reverse"),
        clawback_window_days=clawback.get("window_days", 365),
        clawback_pro_rata=clawback.get("pro_rata", False),
        clawback_term_months=clawback.get("term_months", 12),
        draw_amount=_dec(draw["amount"]) if draw else None,
        draw_recoverable=draw.get("recoverable", True) if draw else True,
        exchange_rate_changes=data.get("exchange_rate_changes", "keep"),
        examples=examples,
        raw=data,
    )


def _nul_errors(value: Any, path: list[str | int]) -> list[tuple[str, str]]:
    # PostgreSQL stores no NUL character in text or jsonb.
    if isinstance(value, str):
        return [(format_path(path), "contains a NUL character")] if "\x00" in value else []
    if isinstance(value, Mapping):
        errors = []
        for key, item in value.items():
            if "\x00" in str(key):
                errors.append((format_path(path), "a field name contains a NUL character"))
            else:
                errors += _nul_errors(item, [*path, str(key)])
        return errors
    if isinstance(value, list):
        return [e for i, item in enumerate(value) for e in _nul_errors(item, [*path, i])]
    return []


def plan_document_validate(data: Any, *, known_kpis: set[str] | None = None) -> PlanDocument:
    """Check a parsed document and build it; raise ``PlanDocumentError`` with
    every problem found (path, message). ``known_kpis`` is the tenant's KPI
    keys; ``None`` skips that check (a document read outside a tenant)."""
    data = _normalise(data)
    if not isinstance(data, dict):
        raise PlanDocumentError([("(document)", "a plan document is a mapping of fields")])
    errors = _nul_errors(data, []) or _schema_errors(data)
    if errors:
        raise PlanDocumentError(errors)
    errors = _semantic_errors(data, known_kpis)
    if errors:
        raise PlanDocumentError(errors)
    return _build(data)


def plan_document_load(text: str, *, known_kpis: set[str] | None = None) -> PlanDocument:
    """Parse YAML or JSON text and validate it (see ``plan_document_validate``)."""
    return plan_document_validate(plan_document_parse_text(text), known_kpis=known_kpis)


def plan_document_dump(document: PlanDocument, *, fmt: str = "yaml") -> str:
    """The document as YAML or JSON text; loading it back gives an equal document."""
    if fmt == "json":
        return json.dumps(document.raw, indent=2, sort_keys=False) + "\n"
    if fmt == "yaml":
        return yaml.safe_dump(dict(document.raw), sort_keys=False, allow_unicode=True)
    raise ValueError(f"unknown format {fmt!r}: yaml or json")


def plan_schema_json() -> str:
    """The published JSON Schema of a plan version document."""
    return json.dumps(PLAN_SCHEMA, indent=2) + "\n"
