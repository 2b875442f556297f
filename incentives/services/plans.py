"""Plans, versions and assignments: every write, each in its transaction."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse

from incentives.document import (
    PlanDocument,
    PlanDocumentError,
    plan_document_parse_text,
    plan_document_validate,
)
from incentives.engine.golden import golden_run
from incentives.models import (
    Assignment,
    Component,
    NotificationKind,
    Plan,
    PlanAcceptance,
    PlanVersion,
    VersionStatus,
)
from incentives.services.notifications import notify
from kpis.definitions import BUILT_IN
from kpis.models import CustomKpi
from spm.models import Membership, Role, Team, Tenant
from spm.services import audit_record


def known_kpis(tenant: Tenant) -> set[str]:
    """The KPI keys a component of this tenant's plans may use."""
    custom = CustomKpi.objects.filter(tenant=tenant).values_list("key", flat=True)
    return {k.key for k in BUILT_IN} | {f"custom:{key}" for key in custom}


def _document(tenant: Tenant, source: str | dict[str, Any]) -> PlanDocument:
    try:
        data = plan_document_parse_text(source) if isinstance(source, str) else source
        return plan_document_validate(data, known_kpis=known_kpis(tenant))
    except PlanDocumentError as exc:
        raise ValidationError({path: message for path, message in exc.errors}) from exc


def _write_components(tenant: Tenant, version: PlanVersion, document: PlanDocument) -> None:
    Component.objects.filter(tenant=tenant, version=version).delete()
    Component.objects.bulk_create(
        Component(
            tenant=tenant,
            version=version,
            position=i,
            key=comp.key,
            label=comp.label,
            measure=comp.measure,
            config=document.raw["components"][i],
        )
        for i, comp in enumerate(document.components)
    )


def _golden(document: PlanDocument) -> list[dict[str, Any]]:
    return [
        {"name": r.name, "passed": r.passed, "description": r.describe()}
        for r in golden_run(document)
    ]


def plan_version_create(
    tenant: Tenant,
    *,
    source: str | dict[str, Any],
    actor: Membership | None,
    plan: Plan | None = None,
    status: str = VersionStatus.DRAFT,
) -> PlanVersion:
    """Validate a plan document and save it as the next version of ``plan``
    (a new plan named after the document when ``plan`` is None).

    Runs the document's golden examples and stores their results. Raises
    ``ValidationError`` keyed by document path (nothing saved), or on
    ``effective_from`` when an active version of the plan overlaps the dates.
    """
    document = _document(tenant, source)
    with transaction.atomic():
        if plan is None:
            plan, _ = Plan.objects.get_or_create(tenant=tenant, name=document.name)
        Plan.objects.select_for_update().filter(tenant=tenant, pk=plan.pk).get()
        if status == VersionStatus.ACTIVE:
            check_active_overlap(tenant, plan=plan, document=document, exclude=None)
        last = (
            PlanVersion.objects.filter(tenant=tenant, plan=plan)
            .order_by("-number")
            .values_list("number", flat=True)
            .first()
        )
        version = PlanVersion.objects.create(
            tenant=tenant,
            plan=plan,
            number=(last or 0) + 1,
            status=status,
            effective_from=document.effective_from,
            effective_to=document.effective_to,
            document=dict(document.raw),
            golden_results=_golden(document),
            created_by=actor,
        )
        _write_components(tenant, version, document)
        audit_record(
            tenant,
            actor=actor.user if actor else None,
            action="plan_version.create",
            obj=version,
            data={"plan": plan.name, "number": version.number, "status": status},
        )
    return version


def plan_version_update(
    tenant: Tenant,
    *,
    version: PlanVersion,
    source: str | dict[str, Any],
    actor: Membership | None,
) -> PlanVersion:
    """Replace a version's document. A locked version (a published statement
    used it) is refused: change it by creating a new version."""
    document = _document(tenant, source)
    with transaction.atomic():
        version = PlanVersion.objects.select_for_update().get(tenant=tenant, pk=version.pk)
        if version.locked_at is not None:
            raise ValidationError(
                {
                    "document": f"{version} was used by a published statement and cannot "
                    "change; create a new version instead."
                }
            )
        if version.status == VersionStatus.ACTIVE:
            check_active_overlap(tenant, plan=version.plan, document=document, exclude=version)
        version.document = dict(document.raw)
        version.effective_from = document.effective_from
        version.effective_to = document.effective_to
        version.golden_results = _golden(document)
        version.save(update_fields=["document", "effective_from", "effective_to", "golden_results"])
        _write_components(tenant, version, document)
        audit_record(
            tenant,
            actor=actor.user if actor else None,
            action="plan_version.update",
            obj=version,
            data={"number": version.number},
        )
    return version


def plan_component_delete(
    tenant: Tenant, *, version: PlanVersion, key: str, actor: Membership | None
) -> PlanVersion:
    """Remove the component ``key`` from a draft version's document (through
    ``plan_version_update``: validated, golden examples run again). Refused
    (``ValidationError`` on ``component``) when the version is not a draft or
    has no such component; on ``document`` when the rest is invalid (the last
    component, a golden example expecting a payout from it)."""
    if version.status != VersionStatus.DRAFT or version.locked_at is not None:
        raise ValidationError(
            {
                "component": f"Only a draft's components can be deleted; {version} is "
                f"{version.get_status_display().lower()}. Make a new draft from it first."
            }
        )
    components = version.document.get("components") or []
    kept = [c for c in components if c.get("key") != key]
    if len(kept) == len(components):
        raise ValidationError({"component": f"{version} has no component {key}."})
    document = {**version.document, "components": kept}
    return plan_version_update(tenant, version=version, source=document, actor=actor)


def _overlapping(start: dt.date, end: dt.date | None, *, start_field: str, end_field: str) -> Q:
    ends_after_start = Q(**{f"{end_field}__isnull": True}) | Q(**{f"{end_field}__gte": start})
    if end is None:
        return ends_after_start
    return ends_after_start & Q(**{f"{start_field}__lte": end})


def check_active_overlap(
    tenant: Tenant,
    *,
    plan: Plan,
    document: PlanDocument,
    exclude: PlanVersion | None,
    field: str = "effective_from",
) -> None:
    """Raise ``ValidationError`` on ``field`` when ``document``'s dates overlap
    an active version of ``plan`` (other than ``exclude``), naming it."""
    clash = (
        PlanVersion.objects.filter(tenant=tenant, plan=plan, status=VersionStatus.ACTIVE)
        .filter(
            _overlapping(
                document.effective_from,
                document.effective_to,
                start_field="effective_from",
                end_field="effective_to",
            )
        )
        .exclude(pk=exclude.pk if exclude else None)
        .first()
    )
    if clash is not None:
        raise ValidationError(
            {
                field: f"overlaps active version {clash.number} "
                f"({clash.effective_from} to {clash.effective_to or 'open'})"
            }
        )


def assignment_create(
    tenant: Tenant,
    *,
    membership: Membership,
    version: PlanVersion,
    start_date: dt.date,
    end_date: dt.date | None,
    target_incentive: Decimal,
    actor: Membership | None,
    payout_currency: str = "",
    notify_member: bool = True,
) -> Assignment:
    """Put a member on a plan version for a date range, paid in
    ``payout_currency`` (blank or the tenant's: the tenant's currency).

    Raises ``ValidationError`` on ``start_date`` when it overlaps another
    assignment of the member (naming it), on ``end_date`` when it is before
    the start, on ``target_incentive`` when negative, on ``payout_currency``
    when it is not a three-letter code. The member is notified that the plan
    awaits their acceptance (``notify_member``)."""
    payout_currency = (payout_currency or "").strip().upper()
    if payout_currency and not (
        len(payout_currency) == 3 and payout_currency.isascii() and payout_currency.isalpha()
    ):
        raise ValidationError({"payout_currency": "Use a three-letter ISO 4217 code, e.g. EUR."})
    if payout_currency == tenant.currency:
        payout_currency = ""
    if end_date is not None and end_date < start_date:
        raise ValidationError({"end_date": f"must not be before start_date ({start_date})"})
    if target_incentive < 0:
        raise ValidationError({"target_incentive": "must not be negative"})
    with transaction.atomic():
        # One member's assignments are checked and written one at a time.
        Membership.objects.select_for_update().filter(tenant=tenant, pk=membership.pk).get()
        clash = (
            Assignment.objects.filter(tenant=tenant, membership=membership)
            .filter(
                _overlapping(start_date, end_date, start_field="start_date", end_field="end_date")
            )
            .select_related("version__plan")
            .first()
        )
        if clash is not None:
            raise ValidationError(
                {
                    "start_date": f"overlaps the assignment to {clash.version} from "
                    f"{clash.start_date} to {clash.end_date or 'open'}"
                }
            )
        assignment = Assignment.objects.create(
            tenant=tenant,
            membership=membership,
            version=version,
            start_date=start_date,
            end_date=end_date,
            target_incentive=target_incentive,
            payout_currency=payout_currency,
        )
        audit_record(
            tenant,
            actor=actor.user if actor else None,
            action="assignment.create",
            obj=assignment,
            data={"member": membership.pk, "version": version.pk, "start": str(start_date)},
        )
        if notify_member:
            assignments_notify(tenant, assignments=[assignment])
    return assignment


def assignments_notify(tenant: Tenant, *, assignments: list[Assignment]) -> None:
    """Tell the assigned members (of one version and start date: one member,
    or one team's) that their plan awaits their acceptance."""
    if not assignments:
        return
    first = assignments[0]
    notify(
        tenant,
        recipients=[a.membership for a in assignments],
        kind=NotificationKind.PLAN_ASSIGNED,
        title=f"You are on {first.version} from {first.start_date:%Y-%m-%d}: please accept it",
        body="Read the plan and its payout curves, then accept it on My plan.",
        link=reverse("incentives:my-plan", args=[tenant.slug]),
    )


def plan_accept(tenant: Tenant, *, assignment: Assignment, actor: Membership) -> PlanAcceptance:
    """``actor`` accepts the plan of their own ``assignment`` (the date is
    kept); accepting again returns the first acceptance unchanged.

    Raises ``ValidationError`` on ``assignment`` when it is someone else's."""
    if assignment.membership_id != actor.pk:
        raise ValidationError({"assignment": "You accept only a plan you are assigned."})
    with transaction.atomic():
        # One acceptance per assignment: the assignment's row lock orders two clicks.
        Assignment.objects.select_for_update().filter(tenant=tenant, pk=assignment.pk).get()
        acceptance = PlanAcceptance.objects.filter(tenant=tenant, assignment=assignment).first()
        if acceptance is not None:
            return acceptance
        acceptance = PlanAcceptance.objects.create(
            tenant=tenant, assignment=assignment, membership=actor
        )
        audit_record(
            tenant,
            actor=actor.user,
            action="plan.accept",
            obj=acceptance,
            data={"assignment": assignment.pk, "version": assignment.version_id},
        )
    return acceptance


def assignment_create_for_team(
    tenant: Tenant,
    *,
    team: Team,
    version: PlanVersion,
    start_date: dt.date,
    end_date: dt.date | None,
    target_incentive: Decimal,
    actor: Membership | None,
) -> list[Assignment]:
    """Put every rep and manager of ``team`` (not its subteams) on ``version``,
    all or none: an overlap of any member is refused (``ValidationError`` on
    ``team`` naming the member and the assignment it overlaps)."""
    members = list(
        Membership.objects.filter(tenant=tenant, team=team, role__in=[Role.REP, Role.MANAGER])
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "pk")
    )
    if not members:
        raise ValidationError({"team": f"{team.name} has no reps or managers to assign."})
    created = []
    with transaction.atomic():
        for member in members:  # one team's members, each checked for overlaps
            try:
                created.append(
                    assignment_create(
                        tenant,
                        membership=member,
                        version=version,
                        start_date=start_date,
                        end_date=end_date,
                        target_incentive=target_incentive,
                        actor=actor,
                        notify_member=False,
                    )
                )
            except ValidationError as exc:
                reasons = "; ".join(m for ms in exc.message_dict.values() for m in ms)
                raise ValidationError(
                    {"team": f"{member.display_name}: {reasons}. Nobody was assigned."}
                ) from exc
        assignments_notify(tenant, assignments=created)
    return created
