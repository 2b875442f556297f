"""Data of the integration platform: API tokens, stored answers of idempotent requests,
webhooks, single sign-on, the audit trail."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from spm.models import Membership, Role
from spm.tenancy.fields import TenantForeignKey
from spm.tenancy.models import TenantModel


class ApiToken(TenantModel):
    """A named credential a tenant admin gives a REST client.

    The client sends ``Authorization: Bearer spm_<tenant id>_<prefix>_<secret>``.
    Only the SHA-256 of the secret is stored (the secret is 256 random bits, so
    a fast hash is as safe as a slow one and keeps each request cheap). The
    token acts as the member who created it, narrowed to ``scopes``.
    """

    name = models.CharField(max_length=120)
    prefix = models.CharField(max_length=16, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    # A list of ``spm.api.scopes.Scope`` values.
    scopes = models.JSONField(default=list)
    expires_at = models.DateTimeField()
    created_by = TenantForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "prefix"], name="apitoken_tenant_prefix"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class IdempotentRequest(TenantModel):
    """The first answer to a POST sent with an ``Idempotency-Key``, kept until
    ``expires_at`` so that a retry with the same key gets it again."""

    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField(encoder=DjangoJSONEncoder, null=True)
    response_headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key"], name="idempotentrequest_tenant_key"),
        ]
        indexes = [models.Index(fields=["tenant", "expires_at"], name="idempotent_tenant_expiry")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"


# Webhooks ---------------------------------------------------------------------------------


class WebhookEvent(models.TextChoices):
    """The event types a webhook subscription may ask for (the ``type`` of each message)."""

    DEAL_WON = "deal.won", "Deal won"
    QUOTA_CHANGED = "quota.changed", "Quota changed"
    STATEMENT_PUBLISHED = "statement.published", "Statement published"
    STATEMENT_DISPUTED = "statement.disputed", "Statement disputed"
    STATEMENT_DISPUTE_RESOLVED = "statement.dispute_resolved", "Statement dispute resolved"
    FORECAST_SUBMITTED = "forecast.submitted", "Forecast submitted"
    GOAL_APPROVED = "goal.approved", "Goal approved"
    REVIEW_COMPLETED = "review.completed", "Review completed"
    KPI_RUN_FINISHED = "kpi_run.finished", "KPI run finished"


class WebhookSubscription(TenantModel):
    """An HTTPS endpoint of the tenant's that receives the events it asks for,
    signed with its own secret (Standard Webhooks). Paused after
    ``WEBHOOK_PAUSE_AFTER_FAILURES`` deliveries in a row failed every attempt."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"

    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    event_types = ArrayField(models.CharField(max_length=40, choices=WebhookEvent.choices))
    # ``whsec_`` + base64 of 32 random bytes; kept in clear because every delivery signs with it.
    secret = models.CharField(max_length=80)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    status_reason = models.CharField(max_length=300, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_by = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(TenantModel):
    """One message for one subscription: the signed payload and where its
    attempts stand. ``message_id`` is the ``webhook-id`` header, the same on
    every attempt and replay so that receivers can drop duplicates."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    subscription = TenantForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    message_id = models.CharField(max_length=40)
    event_type = models.CharField(max_length=40, choices=WebhookEvent.choices)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "subscription", "message_id"], name="webhookdelivery_message"
            )
        ]
        indexes = [
            models.Index(
                fields=["tenant", "subscription", "created_at"], name="webhookdelivery_log"
            )
        ]


class WebhookAttempt(TenantModel):
    """One HTTP request of a delivery: what the receiver answered and how long it took."""

    class Trigger(models.TextChoices):
        AUTOMATIC = "automatic", "Automatic"
        REPLAY = "replay", "Replay"

    delivery = TenantForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="log")
    number = models.PositiveIntegerField()
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    requested_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField()
    response_excerpt = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["delivery_id", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "delivery", "number"], name="webhookattempt_number"
            )
        ]

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


# Single sign-on --------------------------------------------------------------------------


class SsoConfig(TenantModel):
    """The tenant's OpenID Connect provider (one per tenant; README, "Single sign-on")."""

    issuer = models.URLField(max_length=300)
    client_id = models.CharField(max_length=200)
    # Needed in clear to redeem authorization codes; only admins see the settings page,
    # which never shows it.
    client_secret = models.CharField(max_length=500)
    allowed_domains = ArrayField(models.CharField(max_length=200))
    default_role = models.CharField(max_length=8, choices=Role.choices, default=Role.REP)
    required = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="ssoconfig_one_per_tenant")]

    def __str__(self) -> str:
        return self.issuer


# Audit trail -------------------------------------------------------------------------------


class AuditJSONDecoder(json.JSONDecoder):
    """Numbers of a recorded row as they were stored: ``Decimal``, never float
    (a quota of 90000.00 reads back as ``Decimal("90000.00")``)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("parse_float", Decimal)
        super().__init__(**kwargs)


class AuditAction(models.TextChoices):
    CREATE = "create", "Created"
    UPDATE = "update", "Changed"
    DELETE = "delete", "Deleted"


class AuditRecord(TenantModel):
    """One row written, changed or deleted in a tracked table, as the database
    saw it (``integrations/audit/tracking.py``: a trigger on each tracked
    table writes these, whatever wrote the row: a page, the API, a bulk
    ``update()``, raw SQL).

    ``before`` and ``after`` are the whole row as JSON (``before`` is null for
    a create, ``after`` for a delete). ``context`` is what django-pghistory's
    ``pghistory.context`` carried at the time (how the change came: page, API
    with the token, task); ``actor`` is the signed-in user (from the context,
    else from the transaction's ``app.user_id``), null for changes made with
    neither (a management command, a database console).

    Append-only: the runtime role may insert and read, never update or delete
    (``spm.db.roles``), and the rows outlive a deleted tenant. So neither the
    tenant nor the actor has a database constraint, and the recorded object
    is a plain id (it may be deleted).
    """

    append_only = True

    tenant = models.ForeignKey(
        "spm.Tenant", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    created_at = models.DateTimeField()
    action = models.CharField(max_length=6, choices=AuditAction.choices)
    object_type = models.CharField(max_length=60)
    object_id = models.BigIntegerField()
    before = models.JSONField(null=True, decoder=AuditJSONDecoder)
    after = models.JSONField(null=True, decoder=AuditJSONDecoder)
    context = models.JSONField(null=True)
    context_id = models.UUIDField(null=True)
    actor = models.ForeignKey(
        "spm.User",
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "-created_at", "-id"], name="auditrecord_tenant_time"),
            models.Index(
                fields=["tenant", "object_type", "object_id", "-created_at"],
                name="auditrecord_tenant_object",
            ),
            models.Index(
                fields=["tenant", "actor", "-created_at"], name="auditrecord_tenant_actor"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.object_type} #{self.object_id}"


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "XLSX"


class Export(TenantModel):
    """A download of one API read (a list or a report, its filters included)
    written by a worker instead of a web process (README, "Exports in the
    background"). Only the member who asked for it may download it; the file
    is deleted when the export expires."""

    requested_by = TenantForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    # The API path (under /api/v1/<tenant>/) and query string that was asked for.
    path = models.CharField(max_length=2000)
    format = models.CharField(max_length=4, choices=ExportFormat.choices)
    task_run = TenantForeignKey("spm.TaskRun", on_delete=models.PROTECT, related_name="+")
    # The file's name in the default storage, once written.
    file = models.CharField(max_length=300, blank=True)
    size = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "requested_by", "created_at"], name="export_requester"),
            models.Index(fields=["tenant", "expires_at"], name="export_tenant_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.format} of {self.path}"
