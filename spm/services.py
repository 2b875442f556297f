"""Every write of the core: tenants, people, teams, periods, audit, task runs.

Services take the tenant first and keyword-only arguments after it, own their
transaction, and write an audit row in it (docs/architecture.md, "Services, selectors, tasks").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerOperationalError

from spm import events
from spm.db.locks import LockBusyError
from spm.formatting import Locale
from spm.models import AuditEvent, FiscalPeriod, Membership, Role, TaskRun, Team, Tenant, User
from spm.periods import fiscal_year_of, fiscal_year_periods
from spm.tenancy.context import tenant_context


def audit_record(
    tenant: Tenant,
    *,
    actor: User | None,
    action: str,
    obj: Any = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        tenant=tenant,
        actor=actor,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        data=data or {},
    )


class Unset:
    """Marks an optional argument that was not passed (None is a meaningful value)."""


UNSET = Unset()


# Tenants and periods ---------------------------------------------------------------


def tenant_create(
    *,
    name: str,
    slug: str,
    currency: str = "USD",
    fiscal_year_start_month: int = 1,
    time_zone: str = "UTC",
    locale: str = Locale.EN_US,
    actor: User | None = None,
    years: tuple[int, int] = (-2, 2),
    today: dt.date | None = None,
) -> Tenant:
    """Create a tenant and its fiscal periods around ``today``.

    Raises ValidationError naming the field when a value is invalid.
    """
    tenant = Tenant(
        name=name,
        slug=slug,
        currency=currency,
        fiscal_year_start_month=fiscal_year_start_month,
        time_zone=time_zone,
        locale=locale,
    )
    tenant.full_clean()
    with transaction.atomic():
        tenant.save()
        with tenant_context(tenant):
            periods_ensure(tenant, around=today or timezone.localdate(), years=years)
            audit_record(tenant, actor=actor, action="tenant.create", obj=tenant)
    return tenant


def tenant_delete(tenant: Tenant) -> None:
    """Delete ``tenant`` and every row that belongs to it, in one transaction.

    A cascade from the tenant cannot pass the PROTECT foreign keys between its
    own tables (a team with sub-teams, a stage holding deals, a period with
    quotas), so each table that references the tenant loses the tenant's rows
    in one statement, with the foreign keys deferred, and they are checked
    before returning: a row of another table still pointing at a deleted one
    raises IntegrityError and nothing is deleted. No audit row: the audit
    table is the tenant's and goes with it. Other tenants are untouched (the
    statements run inside the tenant's context, so RLS holds them to it).

    Append-only tables (``TenantModel.append_only``: the database audit trail,
    README "Audit trail") keep the tenant's rows, including the deletes this
    makes: the runtime role cannot delete them, only the database owner can.
    """
    columns = sorted(
        (model._meta.db_table, str(field.column))
        for model in apps.get_models()
        if not getattr(model, "append_only", False)
        for field in model._meta.concrete_fields
        if field.is_relation and field.related_model is Tenant and field.column
    )
    quote = connection.ops.quote_name
    with transaction.atomic(), tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for table, column in columns:
            # Identifiers from the model registry, quoted; the value is a parameter.
            statement = f"DELETE FROM {quote(table)} WHERE {quote(column)} = %s"  # noqa: S608
            cursor.execute(statement, [tenant.pk])
        cursor.execute(
            f"DELETE FROM {quote(Tenant._meta.db_table)} WHERE id = %s",  # noqa: S608
            [tenant.pk],
        )
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def tenant_update(tenant: Tenant, *, actor: User, **fields: Any) -> Tenant:
    """Change name, currency, locale, time zone, fiscal start month, stall
    days or the statements' dispute window.

    The fiscal start month can only change while no period has been closed;
    periods are then regenerated.
    """
    allowed = {
        "name",
        "currency",
        "locale",
        "time_zone",
        "fiscal_year_start_month",
        "stalled_after_days",
        "dispute_window_days",
    }
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({name: "This field cannot be changed here." for name in unknown})
    old = {name: getattr(tenant, name) for name in fields}
    for name, value in fields.items():
        setattr(tenant, name, value)
    tenant.full_clean()
    with transaction.atomic():
        start_changed = old.get("fiscal_year_start_month", tenant.fiscal_year_start_month) != (
            tenant.fiscal_year_start_month
        )
        if start_changed:
            if FiscalPeriod.objects.filter(tenant=tenant, is_closed=True).exists():
                message = "Periods have been closed; the fiscal calendar is fixed."
                raise ValidationError({"fiscal_year_start_month": message})
            years = list(
                FiscalPeriod.objects.filter(tenant=tenant, kind="year").values_list(
                    "fiscal_year", flat=True
                )
            )
            FiscalPeriod.objects.filter(tenant=tenant).delete()
            if years:
                for year in range(min(years), max(years) + 1):
                    _periods_create_year(tenant, year)
        tenant.save()
        audit_record(
            tenant,
            actor=actor,
            action="tenant.update",
            obj=tenant,
            data={k: [str(v), str(fields[k])] for k, v in old.items()},
        )
    return tenant


def _periods_create_year(tenant: Tenant, fiscal_year: int) -> None:
    FiscalPeriod.objects.bulk_create(
        [
            FiscalPeriod(
                tenant=tenant,
                kind=s.kind,
                fiscal_year=s.fiscal_year,
                number=s.number,
                start=s.start,
                end=s.end,
                label=s.label,
            )
            for s in fiscal_year_periods(fiscal_year, tenant.fiscal_year_start_month)
        ],
        ignore_conflicts=True,
    )


def periods_ensure(tenant: Tenant, *, around: dt.date, years: tuple[int, int] = (-2, 2)) -> None:
    """Make sure fiscal years ``around`` + years[0] .. + years[1] exist (idempotent)."""
    current = fiscal_year_of(around, tenant.fiscal_year_start_month)
    with transaction.atomic():
        for year in range(current + years[0], current + years[1] + 1):
            _periods_create_year(tenant, year)


class PeriodClosedError(ValidationError):
    """A write to the figures of a closed period: a form shows it beside the
    field like any ValidationError; the API answers 409 Conflict."""


def period_require_open(
    tenant: Tenant, *, period_ids: Iterable[int], what: str = "its figures cannot be changed"
) -> None:
    """The guard of every write of period-keyed figures (quotas, objective
    scores, KPI snapshots, exchange rates, statements, adjustments): raises
    ``PeriodClosedError`` (a ValidationError) naming
    ``period`` ("Jan 2027 is closed; " + ``what``) when one of ``period_ids``
    is closed. Call inside the writing transaction: the periods' rows stay
    locked (FOR SHARE) until it ends, so a close waits for the write, and a
    write that comes after the close sees it closed. What "closed" means for
    each pillar: docs/architecture.md, "Periods"."""
    ids = sorted({int(pk) for pk in period_ids})
    if not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(PERIODS_SHARE_SQL, [tenant.pk, ids])
        closed = [label for label, is_closed in cursor.fetchall() if is_closed]
    if closed:
        raise PeriodClosedError({"period": f"{closed[0]} is closed; {what}."})


PERIODS_SHARE_SQL = """
SELECT label, is_closed FROM spm_fiscalperiod
WHERE tenant_id = %s AND id = ANY(%s)
ORDER BY start, "end" DESC
FOR SHARE
"""


def period_close(tenant: Tenant, *, period: FiscalPeriod, actor: User) -> FiscalPeriod:
    """Close a period: its figures are frozen from now on (docs/architecture.md,
    "Periods"); the writes of period-keyed figures refuse it
    (``period_require_open``)."""
    with transaction.atomic():
        locked = FiscalPeriod.objects.select_for_update().get(tenant=tenant, pk=period.pk)
        if locked.is_closed:
            raise ValidationError({"period": f"{locked.label} is already closed."})
        locked.is_closed = True
        locked.closed_at = timezone.now()
        locked.save(update_fields=["is_closed", "closed_at"])
        audit_record(tenant, actor=actor, action="period.close", obj=locked)
        events.publish(events.PeriodClosed(tenant_id=tenant.pk, period_id=locked.pk))
    return locked


# People ----------------------------------------------------------------------------


def membership_add(
    tenant: Tenant,
    *,
    email: str,
    first_name: str = "",
    last_name: str = "",
    role: str = Role.REP,
    title: str = "",
    team: Team | None = None,
    start_date: dt.date | None = None,
    end_date: dt.date | None = None,
    actor: User | None = None,
    password: str | None = None,
    send_invite: bool = False,
    request: Any = None,
) -> Membership:
    """Add a person to the tenant, creating their user if the email is new.

    With ``send_invite`` an email with a link to set their password is sent
    (after commit). Raises ValidationError when the email already belongs to a
    member of this tenant or a field is invalid.
    """
    email = User.objects.normalize_email(email).lower()
    if team is not None and team.tenant_id != tenant.pk:
        raise ValidationError({"team": "Choose a team of this tenant."})
    with transaction.atomic():
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            user = User.objects.create_user(
                username=email,
                email=email,
                password=password,
                first_name=first_name,
                last_name=last_name,
            )
            if password is None:
                user.set_unusable_password()
                user.save(update_fields=["password"])
        elif Membership.objects.filter(tenant=tenant, user=user).exists():
            raise ValidationError({"email": f"{email} is already a member of {tenant.name}."})
        membership = Membership(
            tenant=tenant,
            user=user,
            role=role,
            title=title,
            team=team,
            start_date=start_date or timezone.localdate(),
            end_date=end_date,
        )
        membership.full_clean(exclude=["tenant", "user"], validate_unique=False)
        membership.save()
        audit_record(
            tenant,
            actor=actor,
            action="membership.add",
            obj=membership,
            data={"email": email, "role": role},
        )
        if send_invite:
            transaction.on_commit(lambda: _send_invite(user, request))
    return membership


def _send_invite(user: User, request: Any) -> None:
    form = PasswordResetForm({"email": user.email})
    if not form.is_valid():
        return
    # An invited user has an unusable password, which the stock form would skip.
    form.get_users = lambda email: iter([user])  # type: ignore[method-assign]
    base = urlsplit(settings.SPM_BASE_URL)
    form.save(
        request=request,
        domain_override=None if request else base.netloc,
        use_https=request.is_secure() if request else base.scheme == "https",
        subject_template_name="registration/invite_subject.txt",
        email_template_name="registration/invite_email.txt",
    )


def membership_update(
    tenant: Tenant, *, membership: Membership, actor: User | None, **fields: Any
) -> Membership:
    """Change role, title, team, dates, active flag or employee id; audited with old and new
    values. A change of team, role or dates publishes ``MembershipChanged``."""
    allowed = {"role", "title", "team", "start_date", "end_date", "is_active", "employee_id"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({name: "This field cannot be changed here." for name in unknown})
    team = fields.get("team")
    if team is not None and team.tenant_id != tenant.pk:
        raise ValidationError({"team": "Choose a team of this tenant."})
    with transaction.atomic():
        locked = Membership.objects.select_for_update().get(tenant=tenant, pk=membership.pk)
        before = (locked.team_id, locked.role, locked.start_date, locked.end_date)
        changes = {}
        for name, value in fields.items():
            old = getattr(locked, name)
            if old != value:
                changes[name] = [str(old), str(value)]
                setattr(locked, name, value)
        locked.full_clean(exclude=["tenant", "user"], validate_unique=False)
        if (
            changes.get("role")
            and locked.role != Role.ADMIN
            and membership.role == Role.ADMIN
            and not Membership.objects.filter(tenant=tenant, role=Role.ADMIN, is_active=True)
            .exclude(pk=locked.pk)
            .exists()
        ):
            raise ValidationError({"role": "A tenant needs at least one active admin."})
        locked.save()
        if changes:
            audit_record(tenant, actor=actor, action="membership.update", obj=locked, data=changes)
        after = (locked.team_id, locked.role, locked.start_date, locked.end_date)
        if after != before:
            events.publish(
                events.MembershipChanged(
                    tenant_id=tenant.pk,
                    membership_id=locked.pk,
                    old_team_id=before[0],
                    new_team_id=after[0],
                    old_role=before[1],
                    new_role=after[1],
                    old_start_date=before[2],
                    new_start_date=after[2],
                    old_end_date=before[3],
                    new_end_date=after[3],
                )
            )
    return locked


# Teams -----------------------------------------------------------------------------


def team_create(
    tenant: Tenant,
    *,
    name: str,
    parent: Team | None = None,
    manager: Membership | None = None,
    actor: User | None = None,
) -> Team:
    """Create a team under ``parent`` (None for a top-level team)."""
    if parent is not None and parent.tenant_id != tenant.pk:
        raise ValidationError({"parent": "Choose a team of this tenant."})
    if manager is not None and manager.tenant_id != tenant.pk:
        raise ValidationError({"manager": "Choose a member of this tenant."})
    if Team.objects.filter(tenant=tenant, parent=parent, name__iexact=name).exists():
        raise ValidationError({"name": f"A team named '{name}' already exists there."})
    with transaction.atomic():
        team = Team.objects.create(tenant=tenant, name=name, parent=parent, manager=manager)
        team.path = f"{parent.path if parent else '/'}{team.pk}/"
        team.depth = parent.depth + 1 if parent else 0
        team.save(update_fields=["path", "depth"])
        audit_record(tenant, actor=actor, action="team.create", obj=team, data={"name": name})
    return team


def team_update(
    tenant: Tenant,
    *,
    team: Team,
    actor: User | None,
    name: str | None = None,
    manager: Membership | None | Unset = UNSET,
    parent: Team | None | Unset = UNSET,
) -> Team:
    """Rename, change manager, or move a team (with its whole subtree) under another parent.

    Moving a team under itself or one of its descendants raises ValidationError.
    The subtree's paths are rewritten in one UPDATE.
    """
    with transaction.atomic():
        locked = Team.objects.select_for_update().get(tenant=tenant, pk=team.pk)
        changes: dict[str, list[str]] = {}
        if name is not None and name != locked.name:
            target_parent = (
                locked.parent_id if isinstance(parent, Unset) else getattr(parent, "pk", None)
            )
            if (
                Team.objects.filter(tenant=tenant, parent_id=target_parent, name__iexact=name)
                .exclude(pk=locked.pk)
                .exists()
            ):
                raise ValidationError({"name": f"A team named '{name}' already exists there."})
            changes["name"] = [locked.name, name]
            locked.name = name
        if not isinstance(manager, Unset):
            if manager is not None and manager.tenant_id != tenant.pk:
                raise ValidationError({"manager": "Choose a member of this tenant."})
            changes["manager"] = [str(locked.manager_id), str(getattr(manager, "pk", None))]
            locked.manager = manager
        locked.save()
        if not isinstance(parent, Unset) and getattr(parent, "pk", None) != locked.parent_id:
            new_parent = parent
            if new_parent is not None:
                if new_parent.tenant_id != tenant.pk:
                    raise ValidationError({"parent": "Choose a team of this tenant."})
                if new_parent.path.startswith(locked.path):
                    raise ValidationError(
                        {"parent": "A team cannot move under itself or its own sub-team."}
                    )
            old_path = locked.path
            new_path = f"{new_parent.path if new_parent else '/'}{locked.pk}/"
            delta = (new_parent.depth + 1 if new_parent else 0) - locked.depth
            Team.objects.filter(tenant=tenant, pk=locked.pk).update(parent=new_parent)
            Team.objects.filter(tenant=tenant, path__startswith=old_path).update(
                path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
                depth=F("depth") + delta,
            )
            changes["parent"] = [str(team.parent_id), str(getattr(new_parent, "pk", None))]
            events.publish(
                events.TeamMoved(
                    tenant_id=tenant.pk,
                    team_id=locked.pk,
                    old_parent_id=locked.parent_id,
                    new_parent_id=getattr(new_parent, "pk", None),
                )
            )
            locked.refresh_from_db()
        if changes:
            audit_record(tenant, actor=actor, action="team.update", obj=locked, data=changes)
    return locked


def team_delete(tenant: Tenant, *, team: Team, actor: User | None) -> None:
    """Delete an empty team (no sub-teams, no members)."""
    with transaction.atomic():
        if Team.objects.filter(tenant=tenant, parent=team).exists():
            raise ValidationError({"team": "Move or delete its sub-teams first."})
        if Membership.objects.filter(tenant=tenant, team=team).exists():
            raise ValidationError({"team": "Move its members to another team first."})
        audit_record(tenant, actor=actor, action="team.delete", obj=team, data={"name": team.name})
        team.delete()


# Task runs -------------------------------------------------------------------------


def task_run_create(
    tenant: Tenant,
    *,
    kind: str,
    label: str = "",
    created_by: Membership | None = None,
    total: int = 0,
) -> TaskRun:
    """A queued run, for a job that a worker will start (the page shows it at once)."""
    return TaskRun.objects.create(
        tenant=tenant, kind=kind, label=label, created_by=created_by, progress_total=total
    )


@dataclass
class RunRecorder:
    """What a long job tells its run while ``task_run`` holds it open: progress
    as it goes, and the outcome that is recorded when the job ends."""

    tenant: Tenant
    run_id: int
    rows: int = 0
    ok: bool = True
    message: str = ""
    result: dict[str, Any] = field(default_factory=dict)

    def progress(self, done: int, *, rows: int | None = None) -> None:
        """Record ``done`` steps (and the rows so far) in a short transaction of
        its own, so the page polling the run sees it while the work goes on."""
        if rows is not None:
            self.rows = rows
        with tenant_context(self.tenant):
            TaskRun.objects.filter(tenant=self.tenant, pk=self.run_id).update(
                progress_done=done, rows=self.rows
            )

    def outcome(
        self,
        *,
        ok: bool = True,
        rows: int | None = None,
        message: str = "",
        result: dict[str, Any] | None = None,
    ) -> None:
        """What the run records when the job ends (a job that finds bad input
        ends with ``ok=False`` without raising)."""
        self.ok, self.message, self.result = ok, message, result or {}
        if rows is not None:
            self.rows = rows


# Faults a task retries (spm.tasks.tenant_task): a lost database connection, a
# terminated backend, an unreachable broker, a lock still held by another run.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, BrokerOperationalError, LockBusyError)
_retries_left: ContextVar[int] = ContextVar("spm_task_retries_left", default=0)


@contextmanager
def task_retries_left(count: int) -> Iterator[None]:
    """Tell ``task_run`` that the task running in this block will be retried
    ``count`` more times after a transient fault (set by ``tenant_task``)."""
    token = _retries_left.set(count)
    try:
        yield
    finally:
        _retries_left.reset(token)


@contextmanager
def task_run(
    tenant: Tenant,
    *,
    kind: str = "",
    label: str = "",
    run_id: int | None = None,
    total: int | None = None,
    created_by: Membership | None = None,
    failure: str = "",
) -> Iterator[RunRecorder]:
    """Run a long job under a TaskRun: start it (the queued run ``run_id``,
    else a new run of ``kind``), hand the job a ``RunRecorder`` for progress
    and outcome, and on exit record the end: the recorder's outcome, or, when
    the job raises, a failure whose message is ``failure`` followed by the
    error (the exception propagates). Each record is a short transaction of
    its own; call outside any transaction when the progress must be visible
    while the job runs. A transient fault (``TRANSIENT_ERRORS``) that the task
    will retry puts the run back to queued instead, saying why: the run is
    never shown failed, nor succeeded with part of its work."""
    with tenant_context(tenant):
        if run_id is None:
            run_id = task_run_create(tenant, kind=kind, label=label, created_by=created_by).pk
        started: dict[str, Any] = {"status": TaskRun.Status.RUNNING, "started_at": timezone.now()}
        if total is not None:
            started["progress_total"] = total
        TaskRun.objects.filter(tenant=tenant, pk=run_id).update(**started)
    recorder = RunRecorder(tenant, run_id)
    try:
        yield recorder
    except TRANSIENT_ERRORS as exc:
        if _retries_left.get() <= 0:
            recorder.outcome(ok=False, message=f"{failure}{exc}"[:2000])
            _task_run_end(recorder)
            raise
        _task_run_requeue(recorder, exc)
        raise
    except Exception as exc:
        recorder.outcome(ok=False, message=f"{failure}{exc}"[:2000])
        _task_run_end(recorder)
        raise
    _task_run_end(recorder)


def _task_run_requeue(recorder: RunRecorder, exc: Exception) -> None:
    """Back to queued after a transient fault, its work rolled back or
    idempotent (the retry does it again)."""
    with tenant_context(recorder.tenant):
        TaskRun.objects.filter(tenant=recorder.tenant, pk=recorder.run_id).update(
            status=TaskRun.Status.QUEUED,
            message=f"Interrupted ({type(exc).__name__}: {exc}); retrying."[:2000],
        )


def _task_run_end(recorder: RunRecorder) -> None:
    status = TaskRun.Status.SUCCEEDED if recorder.ok else TaskRun.Status.FAILED
    with tenant_context(recorder.tenant):
        kind = (
            TaskRun.objects.filter(tenant=recorder.tenant, pk=recorder.run_id)
            .values_list("kind", flat=True)
            .get()
        )
        TaskRun.objects.filter(tenant=recorder.tenant, pk=recorder.run_id).update(
            status=status,
            finished_at=timezone.now(),
            rows=recorder.rows,
            message=recorder.message,
            result=recorder.result,
            progress_done=F("progress_total") if recorder.ok else F("progress_done"),
        )
        events.publish(
            events.TaskRunFinished(
                tenant_id=recorder.tenant.pk,
                run_id=recorder.run_id,
                kind=kind,
                status=status,
                rows=recorder.rows,
                message=recorder.message,
            )
        )
