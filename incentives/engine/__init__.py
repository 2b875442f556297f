"""The calculation engine: credits and measures in, statement lines out.

Set-based: each function takes every member of a plan version at once as
pandas frames (exact ``Decimal`` values; cents as ``int64`` where running
sums are needed) and returns frames; nothing here queries the database,
loops over deals or reps, or knows about HTTP or Celery. ``compute_period``
(``incentives.engine.run``) is the entry point; ``incentives.engine.golden``
runs a plan document's examples through it.
"""

from incentives.engine.frames import CREDIT_COLUMNS, LINE_COLUMNS, Window
from incentives.engine.run import PeriodInputs, PeriodResult, compute_period

__all__ = [
    "CREDIT_COLUMNS",
    "LINE_COLUMNS",
    "PeriodInputs",
    "PeriodResult",
    "Window",
    "compute_period",
]
