"""Objects of the integrations app for the isolation tests (see test_discovery.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from integrations.services import api_token_create


def make_objects(world: Any) -> list[Any]:
    issued = api_token_create(
        world.tenant,
        name="Isolation token",
        scopes=["reports:read"],
        expires_at=timezone.now() + dt.timedelta(days=30),
        actor=world.admin,
    )
    return [issued.token]
