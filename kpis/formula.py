"""Custom KPI formulas: parsed with Python's ``ast`` against a whitelist of
nodes (never ``eval``), then translated to a SQL expression the engine runs
over the snapshot of built-in measures.

Syntax: built-in measure keys (``bookings``, ``activities``, ``deals_won``...),
decimal numbers, ``+ - * /``, unary minus, parentheses, and the functions
``min(a, b, ...)``, ``max(a, b, ...)``, ``abs(a)``. Division by zero gives no
value (SQL NULL) rather than an error; a measure with no value makes the whole
result empty (``min`` and ``max`` included, unlike SQL's LEAST / GREATEST).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError

from kpis.definitions import MEASURE_KEYS

MAX_LENGTH = 500
MAX_NODES = 100
FUNCTIONS = {"min": "LEAST", "max": "GREATEST", "abs": "ABS"}
OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*"}


class FormulaError(ValidationError):
    """A formula that cannot be accepted, with a message naming the problem."""


@dataclass(frozen=True)
class Compiled:
    """A checked formula: the SQL expression, its parameters, and the measures it reads."""

    sql: str
    params: tuple[Decimal, ...]
    measures: frozenset[str]


def _fail(message: str) -> FormulaError:
    return FormulaError({"formula": message})


def parse(formula: str) -> ast.expr:
    """Parse and check ``formula``; raise FormulaError with a clear message."""
    text = (formula or "").strip()
    if not text:
        raise _fail("Enter a formula, e.g. bookings / activities.")
    if len(text) > MAX_LENGTH:
        raise _fail(f"A formula has at most {MAX_LENGTH} characters.")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        column = exc.offset or 1
        raise _fail(f"Syntax error at character {column}: {exc.msg}.") from None
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise _fail(f"The formula is too long (more than {MAX_NODES} parts).")
    for node in nodes:
        _check_node(node)
    return tree.body


def _check_node(node: ast.AST) -> None:
    if isinstance(node, ast.Expression | ast.Load):
        return
    if isinstance(node, ast.BinOp):
        if not isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div):
            raise _fail(f"The operator '{_op_text(node.op)}' is not allowed; use + - * /.")
        return
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.USub | ast.UAdd):
            raise _fail("Only a leading minus or plus is allowed before a value.")
        return
    if isinstance(node, ast.operator | ast.unaryop):
        return
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise _fail(f"{node.value!r} is not a number; only numbers and measures are allowed.")
        return
    if isinstance(node, ast.Name):
        if node.id not in MEASURE_KEYS and node.id not in FUNCTIONS:
            known = ", ".join(sorted(MEASURE_KEYS))
            raise _fail(f"'{node.id}' is not a measure. Known measures: {known}.")
        return
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            raise _fail("Only the functions min(), max() and abs() may be called.")
        if node.keywords:
            raise _fail(f"{node.func.id}() takes no named arguments.")
        if node.func.id == "abs" and len(node.args) != 1:
            raise _fail("abs() takes exactly one value.")
        if node.func.id != "abs" and len(node.args) < 2:
            raise _fail(f"{node.func.id}() needs at least two values.")
        return
    raise _fail(_refusal(node))


# What a refused piece of syntax is called in the message (the rest by node name).
REFUSED: dict[str, str] = {
    "Attribute": "Attribute access (a dot after a name)",
    "Lambda": "A lambda",
    "Subscript": "Indexing with [ ]",
    "IfExp": "An if / else expression",
    "Compare": "A comparison",
    "BoolOp": "and / or",
    "Starred": "Unpacking with *",
    "NamedExpr": "An assignment (:=)",
    "List": "A list",
    "Tuple": "A tuple",
    "Dict": "A dictionary",
    "Set": "A set",
    "JoinedStr": "A text (f-string)",
}


def _refusal(node: ast.AST) -> str:
    name = type(node).__name__
    what = REFUSED.get(name, f"'{name}'")
    return (
        f"{what} is not allowed in a formula; use measures, numbers, + - * /, "
        "parentheses, min(), max() and abs()."
    )


def _op_text(op: ast.AST) -> str:
    names: dict[type[ast.AST], str] = {
        ast.Pow: "**",
        ast.Mod: "%",
        ast.FloorDiv: "//",
        ast.BitAnd: "&",
        ast.BitOr: "|",
        ast.BitXor: "^",
        ast.LShift: "<<",
        ast.RShift: ">>",
        ast.MatMult: "@",
    }
    return names.get(type(op), type(op).__name__)


def compile_sql(formula: str, column: str = "m.{key}") -> Compiled:
    """Translate ``formula`` into a SQL expression over measure columns named
    by ``column`` (``{key}`` is replaced by the measure key)."""
    body = parse(formula)
    params: list[Decimal] = []
    measures: set[str] = set()

    def emit(node: ast.expr) -> str:
        if isinstance(node, ast.Constant):
            try:
                params.append(Decimal(str(node.value)))
            except InvalidOperation:
                raise _fail(f"{node.value!r} is not a number.") from None
            return "%s::numeric"
        if isinstance(node, ast.Name):
            if node.id in FUNCTIONS:
                raise _fail(f"{node.id} is a function; call it with values, e.g. {node.id}(a, b).")
            measures.add(node.id)
            return column.format(key=node.id)
        if isinstance(node, ast.UnaryOp):
            sign = "-" if isinstance(node.op, ast.USub) else "+"
            return f"({sign}{emit(node.operand)})"
        if isinstance(node, ast.BinOp):
            left, right = emit(node.left), emit(node.right)
            if isinstance(node.op, ast.Div):
                return f"({left} / NULLIF({right}, 0))"
            return f"({left} {OPERATORS[type(node.op)]} {right})"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            function = FUNCTIONS[node.func.id]
            if function == "ABS":
                return f"ABS({emit(node.args[0])})"
            # LEAST / GREATEST skip NULLs; a missing value (or a division by
            # zero) must empty the result as everywhere else. The guard comes
            # first in the text, so its parameters are emitted first.
            guard = ", ".join(emit(a) for a in node.args)
            args = ", ".join(emit(a) for a in node.args)
            return f"CASE WHEN num_nulls({guard}) > 0 THEN NULL ELSE {function}({args}) END"
        raise _fail(_refusal(node))

    sql = emit(body)
    if not measures:
        raise _fail("A formula must use at least one measure, e.g. bookings / activities.")
    return Compiled(sql=sql, params=tuple(params), measures=frozenset(measures))


def validate(formula: str) -> Compiled:
    """Check a formula; the error names the problem (used by forms and the API)."""
    return compile_sql(formula)
