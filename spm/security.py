"""Brute-force lockout (django-axes) on the browser login and the API token
endpoint alike: the answer each gets, and the audit event a lockout writes."""

from __future__ import annotations

import logging
from typing import Any

from axes.signals import user_locked_out
from django.conf import settings
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from spm.api.errors import PROBLEM_CONTENT_TYPE
from spm.models import User
from spm.selectors import user_memberships
from spm.services import audit_record
from spm.tenancy.context import tenant_context

log = logging.getLogger("spm.security")

LOCKED_OUT = (
    "Too many failed log-ins: this account and address are locked for a while. "
    "Try again later, or reset your password."
)


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None,
    credentials: dict[str, Any] | None,
) -> HttpResponse:
    """429: problem+json on the API, the locked-out page in the browser."""
    if request.path_info.startswith("/api/"):
        return JsonResponse(
            {"type": "about:blank", "title": "Locked out", "status": 429, "detail": LOCKED_OUT},
            status=429,
            content_type=PROBLEM_CONTENT_TYPE,
        )
    return render(request, settings.AXES_LOCKOUT_TEMPLATE, status=429)


@receiver(user_locked_out)
def audit_lockout(
    sender: Any, request: HttpRequest, username: str | None, ip_address: str | None, **_: Any
) -> None:
    """Log the lockout, and write a ``login.locked_out`` audit event in every
    tenant the user belongs to (an unknown username is logged only)."""
    via = "api" if request.path_info.startswith("/api/") else "browser"
    log.warning("Locked out: username %r from %s (%s)", username, ip_address, via)
    user = User.objects.filter(username__iexact=username or "").first()
    if user is None:
        return
    with transaction.atomic():
        memberships = user_memberships(user)
    for membership in memberships:
        with tenant_context(membership.tenant):
            audit_record(
                membership.tenant,
                actor=None,
                action="login.locked_out",
                obj=membership,
                data={"username": user.username, "ip_address": ip_address or "", "via": via},
            )
