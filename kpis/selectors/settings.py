"""KPI settings per scope, red/amber/green, labels of built-in and custom KPIs."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q

from kpis.definitions import BUILT_IN, BY_KEY, HIGHER, LOWER, KpiDef, kpi_def
from kpis.models import CustomKpi, KpiSetting
from kpis.selectors.scope import DEFAULT_TABLE_KPIS
from spm.models import Tenant

# Labels and RAG -----------------------------------------------------------------------


@dataclass
class Setting:
    kpi: str
    is_shown: bool = True
    direction: str = HIGHER
    target: Decimal | None = None
    green_from: Decimal | None = None
    amber_from: Decimal | None = None
    position: int = 0


def custom_labels(tenant: Tenant) -> dict[str, tuple[str, str]]:
    return {c.value_key: (c.name, c.unit) for c in CustomKpi.objects.filter(tenant=tenant)}


def settings_for(
    tenant: Tenant, *, role: str = "", team_id: int | None = None
) -> dict[str, Setting]:
    """The effective setting per KPI for a role and team: the team's row
    wins over the role's, which wins over the tenant-wide row (one query)."""
    rows = KpiSetting.objects.filter(tenant=tenant).filter(
        Q(team__isnull=True) | Q(team_id=team_id)
    )
    best: dict[str, tuple[int, KpiSetting]] = {}
    for row in rows:
        if row.role and row.role != role:
            continue
        rank = 2 if row.team_id else (1 if row.role else 0)
        if row.kpi not in best or rank > best[row.kpi][0]:
            best[row.kpi] = (rank, row)
    return {
        kpi: Setting(
            kpi=kpi,
            is_shown=row.is_shown,
            direction=row.direction,
            target=row.target,
            green_from=row.green_from,
            amber_from=row.amber_from,
            position=row.position,
        )
        for kpi, (_, row) in best.items()
    }


def rag(value: Decimal | None, setting: Setting | None) -> str:
    """'green', 'amber', 'red' or '' (no thresholds or no value)."""
    if value is None or setting is None or setting.green_from is None:
        return ""
    lower = setting.direction == LOWER
    if (value <= setting.green_from) if lower else (value >= setting.green_from):
        return "green"
    if setting.amber_from is not None and (
        (value <= setting.amber_from) if lower else (value >= setting.amber_from)
    ):
        return "amber"
    return "red"


def table_kpis(settings: dict[str, Setting], labels: dict[str, tuple[str, str]]) -> list[KpiDef]:
    """The KPIs a dashboard table shows: the tenant's shown KPIs in their order,
    else the defaults; custom KPIs follow when shown."""
    chosen = [s for s in settings.values() if s.is_shown]
    if chosen:
        chosen.sort(key=lambda s: (s.position, s.kpi))
        return [kpi_def(s.kpi, custom_labels=labels) for s in chosen]
    hidden = {k for k, s in settings.items() if not s.is_shown}
    keys = [k for k in DEFAULT_TABLE_KPIS if k not in hidden]
    keys += [k for k in labels if k not in hidden]
    return [kpi_def(k, custom_labels=labels) for k in keys]


def builtin_choices() -> list[tuple[str, str]]:
    return [(k.key, k.label) for k in BUILT_IN]


def label_of(key: str, labels: dict[str, tuple[str, str]] | None = None) -> str:
    return BY_KEY[key].label if key in BY_KEY else kpi_def(key, custom_labels=labels).label
