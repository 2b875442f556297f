"""What a tenant API token may do: its scopes, and the scope each endpoint needs.

Every tenant viewset declares ``token_read_scope`` (for GET, HEAD, OPTIONS)
and ``token_write_scope`` (for every other method). A token may read where it
holds either scope of the endpoint and write where it holds the write scope;
an endpoint whose write scope is None takes no writes from tokens. Signed-in
users (session or personal token) are not limited by scopes.
"""

from __future__ import annotations

from django.db import models


class Scope(models.TextChoices):
    REPORTS_READ = "reports:read", "Read reports"
    DEALS_WRITE = "deals:write", "Write deals and leads"
    QUOTAS_READ = "quotas:read", "Read quotas"
    QUOTAS_WRITE = "quotas:write", "Read and write quotas"
    INCENTIVES_READ = "incentives:read", "Read incentives"
    PAYROLL_EXPORT = "payroll:export", "Payroll export"
    AUDIT_READ = "audit:read", "Read the audit trail"


def scope_denial(
    *, safe: bool, read_scope: str | None, write_scope: str | None, held: frozenset[str]
) -> str | None:
    """Why a token holding ``held`` may not make this request (naming the
    scope it lacks), or None when it may."""
    if safe:
        if (read_scope and read_scope in held) or (write_scope and write_scope in held):
            return None
        if read_scope is None:
            return "API tokens cannot read this endpoint; sign in instead."
        return f"This token lacks the scope {read_scope}."
    if write_scope and write_scope in held:
        return None
    if write_scope is None:
        return "API tokens cannot change this endpoint; sign in instead."
    return f"This token lacks the scope {write_scope}."
