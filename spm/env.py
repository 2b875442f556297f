"""The one reader of environment variables.

Every setting, launcher option and test switch that comes from the environment
goes through these helpers, so a malformed value fails loudly, with a message
naming the variable, instead of being silently replaced by a default or
surfacing later as a bare ValueError. The README's "Configuration" section
lists every variable read here (tests/spm/test_env.py keeps the two in step).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class EnvError(RuntimeError):
    """An environment variable is present but malformed."""


def _read(name: str) -> str | None:
    """The variable's value; unset and empty are the same (compose passes an
    unset ``${VAR}`` as an empty string)."""
    value = os.environ.get(name)
    return None if value is None or value.strip() == "" else value


def env_str(name: str, default: str | None = None) -> str | None:
    value = _read(name)
    return default if value is None else value


def env_bool(name: str, default: bool) -> bool:
    value = _read(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise EnvError(f"{name}={value!r} is not a boolean (use 1/0, true/false, yes/no, on/off)")


def env_int(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    value = _read(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise EnvError(f"{name}={value!r} is not an integer") from exc
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        low = "" if minimum is None else minimum
        high = "" if maximum is None else maximum
        raise EnvError(f"{name}={value!r} is out of range ({low}..{high})")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = _read(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    """One of ``choices``, compared without regard to case."""
    value = _read(name)
    if value is None:
        return default
    for choice in choices:
        if value.strip().lower() == choice.lower():
            return choice
    raise EnvError(f"{name}={value!r} is not one of {', '.join(choices)}")


def env_url(name: str, default: str | None, *, schemes: tuple[str, ...]) -> str | None:
    """A URL whose scheme is one of ``schemes`` (checked here, not at first use)."""
    value = _read(name)
    if value is None:
        return default
    parts = urlsplit(value.strip())
    if parts.scheme not in schemes or not (parts.netloc or parts.path):
        starts = " or ".join(f"{scheme}://" for scheme in schemes)
        raise EnvError(f"{name}={value!r} is not a URL starting with {starts}")
    return value.strip()


def env_path(name: str, default: Path) -> Path:
    value = _read(name)
    if value is None:
        return default
    return Path(value).expanduser()
