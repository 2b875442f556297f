"""Demo data for the KPI pillar: compute every snapshot of the demo history, so
the dashboards show figures on the first start (``manage.py seed_demo``)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from kpis.services import kpi_recompute_full
from spm.models import Tenant


def seed(tenant: Tenant, *, rng: random.Random, today: dt.date, people: Any) -> None:
    kpi_recompute_full(tenant)
