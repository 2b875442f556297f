"""Who is acting: the authenticated user of a request, typed for services."""

from __future__ import annotations

from typing import Any, cast

from django.core.exceptions import PermissionDenied

from spm.models import User


def request_user(request: Any) -> User:
    """The request's authenticated user; views behind the tenant bases always have one."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        raise PermissionDenied("Log in first.")
    return cast(User, user)
