"""No float on a money path: the code says so, and cents add up exactly."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.db.models import Sum

from incentives.models import Adjustment
from spm.models import FiscalPeriod
from spm.tenancy.context import tenant_context
from tests.conftest import api_client_for

BASE_DIR = Path(__file__).resolve().parents[2]
# Every module that computes, stores, converts, parses or shows an amount of money.
MONEY_MODULES = [
    "spm/money.py",
    "spm/formatting.py",
    "spm/api/fields.py",
    "pipeline/models.py",
    "pipeline/credit.py",
    "pipeline/importing.py",
    "pipeline/services",
    "pipeline/sync",
    "goals/models.py",
    "goals/engine.py",
    "goals/csvio.py",
    "goals/services",
    "incentives/models.py",
    "incentives/engine",
    "incentives/services",
    "incentives/selectors.py",
    "incentives/modelling.py",
    "incentives/api_modelling.py",
    "incentives/api.py",
]
FLOAT_ON_MONEY = re.compile(r"\bfloat\(|\bFloatField\b|(?<![\w.])round\(")


def _python_files() -> list[Path]:
    files: list[Path] = []
    for name in MONEY_MODULES:
        path = BASE_DIR / name
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return files


def test_money_modules_use_no_float_and_no_builtin_round():
    offenders = [
        f"{path.relative_to(BASE_DIR)}:{number}: {line.strip()}"
        for path in _python_files()
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if FLOAT_ON_MONEY.search(line)
    ]
    assert len(_python_files()) > 30
    assert offenders == []


@pytest.mark.django_db
def test_ten_and_twenty_cents_of_adjustments_make_exactly_thirty(world_a):
    with tenant_context(world_a.tenant):
        march = FiscalPeriod.objects.get(kind="month", start=dt.date(2027, 3, 1))
    api = api_client_for(world_a.finance.user)

    posted = [
        api.post(
            "/api/v1/alpha/adjustments/",
            {
                "membership": world_a.rep1.pk,
                "period": march.pk,
                "amount": amount,
                "reason": "SPIFF",
            },
            format="json",
        )
        for amount in ("0.10", "0.20")
    ]
    listed = api.get(f"/api/v1/alpha/adjustments/?period={march.pk}").json()["results"]

    assert [r.status_code for r in posted] == [201, 201]
    assert [r["amount"] for r in listed] == ["0.10", "0.20"]
    with tenant_context(world_a.tenant):
        total = Adjustment.objects.filter(period=march).aggregate(total=Sum("amount"))["total"]
    assert (total, str(total)) == (Decimal("0.30"), "0.30")
    assert sum(Decimal(r["amount"]) for r in listed) == Decimal("0.30")
