"""Small checks shared by the goals services."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from django.core.exceptions import ValidationError


def refuse_unknown_fields(fields: Iterable[str], *, allowed: Collection[str]) -> None:
    """Raise ValidationError naming every field of ``fields`` not in ``allowed``."""
    unknown = set(fields) - set(allowed)
    if unknown:
        raise ValidationError(
            {name: "This field cannot be changed here." for name in sorted(unknown)}
        )
