"""Pipelines and their stages: create (with the default sales process), update, reorder, delete."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from pipeline.models import (
    Deal,
    ForecastCategory,
    Pipeline,
    Stage,
    StageChange,
)
from pipeline.services.common import _raise_from_full_clean, _user
from spm.models import Membership, Tenant
from spm.services import audit_record

DEFAULT_PIPELINE_NAME = "New Business"


# (name, default probability %, forecast category, won, lost): the sales process of the
# product brief, lead generation to the post-sale relationship.
DEFAULT_STAGES: list[tuple[str, str, str, bool, bool]] = [
    ("Lead generation", "10", ForecastCategory.PIPELINE, False, False),
    ("Qualification", "20", ForecastCategory.PIPELINE, False, False),
    ("Needs analysis", "40", ForecastCategory.PIPELINE, False, False),
    ("Proposal and negotiation", "60", ForecastCategory.BEST_CASE, False, False),
    ("Closing", "80", ForecastCategory.COMMIT, False, False),
    ("Closed won", "100", ForecastCategory.COMMIT, True, False),
    ("Closed lost", "0", ForecastCategory.OMITTED, False, True),
    ("Post-sale", "100", ForecastCategory.COMMIT, True, False),
]


def pipeline_create_default(tenant: Tenant) -> Pipeline:
    """The tenant's first pipeline with the default stages (idempotent)."""
    existing = Pipeline.objects.filter(tenant=tenant).order_by("position", "id").first()
    if existing is not None:
        return existing
    return pipeline_create(tenant, name=DEFAULT_PIPELINE_NAME, actor=None, with_default_stages=True)


def pipeline_create(
    tenant: Tenant, *, name: str, actor: Membership | None, with_default_stages: bool = True
) -> Pipeline:
    """Create a pipeline, by default with the standard stages to rename or retire."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the pipeline a name."})
    if Pipeline.objects.filter(tenant=tenant, name__iexact=name).exists():
        raise ValidationError({"name": f"A pipeline named '{name}' already exists."})
    with transaction.atomic():
        position = (
            Pipeline.objects.filter(tenant=tenant).aggregate(m=Max("position"))["m"] or 0
        ) + 1
        pipeline = Pipeline.objects.create(tenant=tenant, name=name, position=position)
        if with_default_stages:
            Stage.objects.bulk_create(
                [
                    Stage(
                        tenant=tenant,
                        pipeline=pipeline,
                        name=s_name,
                        position=index,
                        probability=Decimal(prob),
                        forecast_category=category,
                        is_won=won,
                        is_lost=lost,
                    )
                    for index, (s_name, prob, category, won, lost) in enumerate(
                        DEFAULT_STAGES, start=1
                    )
                ]
            )
        audit_record(
            tenant, actor=_user(actor), action="pipeline.create", obj=pipeline, data={"name": name}
        )
    return pipeline


def pipeline_update(
    tenant: Tenant,
    *,
    pipeline: Pipeline,
    actor: Membership | None,
    name: str | None = None,
    is_active: bool | None = None,
    position: int | None = None,
) -> Pipeline:
    """Rename, reorder, or (de)activate a pipeline."""
    with transaction.atomic():
        locked = Pipeline.objects.select_for_update().get(tenant=tenant, pk=pipeline.pk)
        changes: dict[str, list[str]] = {}
        if name is not None and name.strip() != locked.name:
            name = name.strip()
            if not name:
                raise ValidationError({"name": "Give the pipeline a name."})
            if (
                Pipeline.objects.filter(tenant=tenant, name__iexact=name)
                .exclude(pk=locked.pk)
                .exists()
            ):
                raise ValidationError({"name": f"A pipeline named '{name}' already exists."})
            changes["name"] = [locked.name, name]
            locked.name = name
        if is_active is not None and is_active != locked.is_active:
            changes["is_active"] = [str(locked.is_active), str(is_active)]
            locked.is_active = is_active
        if position is not None and position != locked.position:
            changes["position"] = [str(locked.position), str(position)]
            locked.position = position
        locked.save()
        if changes:
            audit_record(
                tenant, actor=_user(actor), action="pipeline.update", obj=locked, data=changes
            )
    return locked


def pipeline_delete(tenant: Tenant, *, pipeline: Pipeline, actor: Membership | None) -> None:
    """Delete a pipeline that never held a deal (with its stages)."""
    with transaction.atomic():
        if Deal.objects.filter(tenant=tenant, pipeline=pipeline).exists():
            raise ValidationError(
                {"pipeline": f"'{pipeline.name}' has deals; deactivate it instead."}
            )
        audit_record(
            tenant,
            actor=_user(actor),
            action="pipeline.delete",
            obj=pipeline,
            data={"name": pipeline.name},
        )
        pipeline.delete()


def _check_stage_flags(is_won: bool, is_lost: bool) -> None:
    if is_won and is_lost:
        raise ValidationError({"is_lost": "A stage cannot be both won and lost."})


def stage_create(
    tenant: Tenant,
    *,
    pipeline: Pipeline,
    name: str,
    actor: Membership | None,
    probability: Decimal = Decimal("0"),
    forecast_category: str = ForecastCategory.PIPELINE,
    is_won: bool = False,
    is_lost: bool = False,
    position: int | None = None,
) -> Stage:
    """Add a stage to ``pipeline`` (at the end unless ``position`` is given)."""
    if pipeline.tenant_id != tenant.pk:
        raise ValidationError({"pipeline": "Choose a pipeline of this tenant."})
    _check_stage_flags(is_won, is_lost)
    name = name.strip()
    with transaction.atomic():
        if Stage.objects.filter(tenant=tenant, pipeline=pipeline, name__iexact=name).exists():
            raise ValidationError(
                {"name": f"'{pipeline.name}' already has a stage named '{name}'."}
            )
        if position is None:
            position = (
                Stage.objects.filter(tenant=tenant, pipeline=pipeline).aggregate(m=Max("position"))[
                    "m"
                ]
                or 0
            ) + 1
        stage = Stage(
            tenant=tenant,
            pipeline=pipeline,
            name=name,
            position=position,
            probability=probability,
            forecast_category=forecast_category,
            is_won=is_won,
            is_lost=is_lost,
        )
        _raise_from_full_clean(stage, exclude=["tenant", "pipeline"])
        stage.save()
        audit_record(
            tenant,
            actor=_user(actor),
            action="stage.create",
            obj=stage,
            data={"pipeline": pipeline.pk, "name": name},
        )
    return stage


STAGE_FIELDS = {
    "name",
    "probability",
    "forecast_category",
    "is_won",
    "is_lost",
    "is_active",
    "position",
}


def stage_update(tenant: Tenant, *, stage: Stage, actor: Membership | None, **fields: Any) -> Stage:
    """Rename a stage, change its defaults, retire (``is_active=False``) or restore it.

    The won/lost flags of a stage that holds deals cannot change (they decide
    the deals' status). Defaults apply to deals moved into the stage later.
    """
    unknown = set(fields) - STAGE_FIELDS
    if unknown:
        raise ValidationError(
            {name: "This field cannot be changed here." for name in sorted(unknown)}
        )
    with transaction.atomic():
        locked = Stage.objects.select_for_update().get(tenant=tenant, pk=stage.pk)
        changes: dict[str, list[str]] = {}
        for name, value in fields.items():
            if name == "name":
                value = value.strip()
            if getattr(locked, name) != value:
                changes[name] = [str(getattr(locked, name)), str(value)]
                setattr(locked, name, value)
        _check_stage_flags(locked.is_won, locked.is_lost)
        if ("is_won" in changes or "is_lost" in changes) and Deal.objects.filter(
            tenant=tenant, stage=locked
        ).exists():
            field = "is_won" if "is_won" in changes else "is_lost"
            raise ValidationError(
                {field: f"'{locked.name}' holds deals; its won/lost flags cannot change."}
            )
        if (
            "name" in changes
            and Stage.objects.filter(
                tenant=tenant, pipeline_id=locked.pipeline_id, name__iexact=locked.name
            )
            .exclude(pk=locked.pk)
            .exists()
        ):
            raise ValidationError(
                {"name": f"This pipeline already has a stage named '{locked.name}'."}
            )
        _raise_from_full_clean(locked, exclude=["tenant", "pipeline"])
        locked.save()
        if changes:
            audit_record(
                tenant, actor=_user(actor), action="stage.update", obj=locked, data=changes
            )
    return locked


def stage_reorder(
    tenant: Tenant, *, pipeline: Pipeline, stage_ids: Sequence[int], actor: Membership | None
) -> list[Stage]:
    """Put the pipeline's stages in the order of ``stage_ids`` (all of them, once each)."""
    with transaction.atomic():
        stages = {
            s.pk: s
            for s in Stage.objects.select_for_update().filter(tenant=tenant, pipeline=pipeline)
        }
        if sorted(stage_ids) != sorted(stages) or len(set(stage_ids)) != len(stage_ids):
            raise ValidationError({"stages": "List every stage of the pipeline exactly once."})
        ordered = []
        for position, pk in enumerate(stage_ids, start=1):
            stage = stages[pk]
            stage.position = position
            ordered.append(stage)
        Stage.objects.bulk_update(ordered, ["position"])
        audit_record(
            tenant,
            actor=_user(actor),
            action="stage.reorder",
            obj=pipeline,
            data={"order": list(stage_ids)},
        )
    return ordered


def stage_delete(tenant: Tenant, *, stage: Stage, actor: Membership | None) -> None:
    """Delete a stage that never held a deal; otherwise retire it instead."""
    with transaction.atomic():
        used = (
            Deal.objects.filter(tenant=tenant, stage=stage).exists()
            or StageChange.objects.filter(tenant=tenant, to_stage=stage).exists()
        )
        if used:
            raise ValidationError({"stage": f"'{stage.name}' has deals; retire it instead."})
        audit_record(
            tenant, actor=_user(actor), action="stage.delete", obj=stage, data={"name": stage.name}
        )
        stage.delete()
