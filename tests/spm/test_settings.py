"""Settings: the production profile passes `check --deploy`; bad env values fail loudly."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from spm.env import EnvError, env_bool, env_int

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # The browser tests' conftest allows async-unsafe ORM use in-process; never in a deploy check.
    full_env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"} | env
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_profile_passes_check_deploy_with_no_warnings():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SETTINGS_MODULE="spm.settings.production",
        SECRET_KEY="k3#Zq8!vR2@pL6^wT9&yB4*nM1(cF5)hJ0-gD7+sX" * 2,
        ALLOWED_HOSTS="spm.example.com",
    )
    assert result.stderr == ""
    assert (result.returncode, result.stdout.strip()) == (
        0,
        "System check identified no issues (0 silenced).",
    )


def test_production_refuses_the_development_secret_key():
    result = _manage("check", DJANGO_SETTINGS_MODULE="spm.settings.production", SECRET_KEY="short")
    assert result.returncode == 1
    assert "SECRET_KEY must be set to a random string of at least 50 characters" in result.stderr


def test_malformed_env_values_fail_loudly(monkeypatch):
    monkeypatch.setenv("DEBUG", "maybe")
    monkeypatch.setenv("AXES_FAILURE_LIMIT", "five")
    with pytest.raises(EnvError, match=r"DEBUG='maybe' is not a boolean"):
        env_bool("DEBUG", False)
    with pytest.raises(EnvError, match=r"AXES_FAILURE_LIMIT='five' is not an integer"):
        env_int("AXES_FAILURE_LIMIT", 5)


def test_non_postgres_database_url_is_refused():
    result = _manage("check", DATABASE_URL="sqlite:///db.sqlite3")
    assert result.returncode == 1
    assert "DATABASE_URL must point at PostgreSQL" in result.stderr
