"""KPI settings and custom KPIs."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from kpis.definitions import BY_KEY, LOWER, MEASURE_KEYS
from kpis.formula import validate as formula_validate
from kpis.models import CustomKpi, KpiSetting, KpiValue
from kpis.services.queue import periods_mark_dirty, recompute_enqueue
from spm.models import FiscalPeriod, Membership, Tenant
from spm.services import audit_record

# Settings and custom KPIs --------------------------------------------------------------


def kpi_setting_save(
    tenant: Tenant, *, actor: Membership, kpi: str, role: str = "", team: Any = None, **fields: Any
) -> KpiSetting:
    """Create or replace the setting of ``kpi`` for a scope (all, a role, a team).

    Raises ValidationError naming the field: unknown KPI, team of another
    tenant, thresholds in the wrong order for the direction."""
    known = MEASURE_KEYS | {c.value_key for c in CustomKpi.objects.filter(tenant=tenant)}
    if kpi not in known:
        raise ValidationError({"kpi": f"'{kpi}' is not a KPI of this tenant."})
    if team is not None and team.tenant_id != tenant.pk:
        raise ValidationError({"team": "Choose a team of this tenant."})
    direction = fields.get("direction") or (BY_KEY[kpi].direction if kpi in BY_KEY else "higher")
    green, amber = fields.get("green_from"), fields.get("amber_from")
    if green is not None and amber is not None:
        wrong = green > amber if direction == LOWER else green < amber
        if wrong:
            word = "at most" if direction == LOWER else "at least"
            raise ValidationError(
                {"green_from": f"With this direction, green must start {word} where amber starts."}
            )
    with transaction.atomic():
        setting, _ = KpiSetting.objects.update_or_create(
            tenant=tenant,
            kpi=kpi,
            role=role or "",
            team=team,
            defaults={**fields, "direction": direction},
        )
        audit_record(
            tenant,
            actor=actor.user,
            action="kpi_setting.save",
            obj=setting,
            data={"kpi": kpi, "role": role, "team": team.pk if team else None},
        )
    return setting


def kpi_setting_delete(tenant: Tenant, *, actor: Membership, setting: KpiSetting) -> None:
    with transaction.atomic():
        audit_record(
            tenant,
            actor=actor.user,
            action="kpi_setting.delete",
            obj=setting,
            data={"kpi": setting.kpi},
        )
        setting.delete()


def custom_kpi_save(
    tenant: Tenant,
    *,
    actor: Membership,
    key: str,
    name: str,
    formula: str,
    unit: str = "number",
    direction: str = "higher",
    description: str = "",
    instance: CustomKpi | None = None,
) -> CustomKpi:
    """Create or change a custom KPI. The formula is checked first (FormulaError,
    a ValidationError on ``formula``, says what is wrong); the values of every
    period are then recomputed in the background."""
    formula_validate(formula)
    if key in MEASURE_KEYS:
        raise ValidationError({"key": f"'{key}' is a built-in KPI; choose another key."})
    kpi = instance or CustomKpi(tenant=tenant)
    kpi.key, kpi.name, kpi.formula = key, name.strip(), formula.strip()
    kpi.unit, kpi.direction, kpi.description = unit, direction, description
    kpi.full_clean(exclude=["tenant"], validate_unique=False)
    with transaction.atomic():
        clash = CustomKpi.objects.filter(tenant=tenant, key=key).exclude(pk=kpi.pk).exists()
        if clash:
            raise ValidationError({"key": f"A custom KPI with the key '{key}' exists already."})
        kpi.save()
        audit_record(
            tenant,
            actor=actor.user,
            action="custom_kpi.save",
            obj=kpi,
            data={"key": key, "formula": kpi.formula},
        )
        periods_mark_dirty(
            tenant,
            period_ids=FiscalPeriod.objects.filter(tenant=tenant).values_list("pk", flat=True),
        )
        transaction.on_commit(lambda: recompute_enqueue(tenant.pk))
    return kpi


def custom_kpi_delete(tenant: Tenant, *, actor: Membership, kpi: CustomKpi) -> None:
    """Remove a custom KPI with its stored values and settings."""
    with transaction.atomic():
        audit_record(
            tenant, actor=actor.user, action="custom_kpi.delete", obj=kpi, data={"key": kpi.key}
        )
        KpiValue.objects.filter(tenant=tenant, kpi=kpi.value_key).delete()
        KpiSetting.objects.filter(tenant=tenant, kpi=kpi.value_key).delete()
        kpi.delete()
