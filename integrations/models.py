"""Tenant API tokens and the stored answers of idempotent requests."""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from spm.models import Membership
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
