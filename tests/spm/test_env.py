"""Every environment variable is read through spm.env, fails with its name when
malformed, and is documented in the README's "Configuration" section."""

import re
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from spm import devstack
from spm.env import EnvError, env_bool, env_choice, env_int, env_str, env_url

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(
    path
    for folder in ("spm", *settings.PILLAR_APPS, *settings.PLATFORM_APPS, "bench", "tests")
    for path in (ROOT / folder).rglob("*.py")
) + [ROOT / "manage.py"]
READ_ELSEWHERE = re.compile(
    r"os\.getenv\(|os\.environ\.get\(|os\.environ\[[^\]]+\](?!\s*=[^=])|in os\.environ\b(?!\.)"
)
READ_BY_NAME = re.compile(r"\benv_(?:str|bool|int|list|choice|url|path)\(\s*\"([A-Z][A-Z0-9_]*)\"")


def _configuration_section() -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("\n## Configuration\n")
    return readme[start : readme.index("\n## ", start + 1)]


def _documented() -> set[str]:
    rows = [line for line in _configuration_section().splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", row.split("|")[1])}


def _read() -> dict[str, list[str]]:
    names: dict[str, list[str]] = {}
    for path in SOURCES:
        for name in READ_BY_NAME.findall(path.read_text()):
            names.setdefault(name, []).append(str(path.relative_to(ROOT)))
    return names


def test_no_module_but_spm_env_reads_the_environment():
    offenders = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in SOURCES
        if path != ROOT / "spm" / "env.py"
        for match in READ_ELSEWHERE.finditer(path.read_text())
    ]
    assert offenders == []


def test_every_variable_read_is_documented_and_every_documented_one_is_read():
    read = set(_read())
    assert sorted(read - _documented()) == []
    assert sorted(_documented() - read) == []
    assert {"DB_CONN_MAX_AGE", "CACHE_KEY_PREFIX", "CELERY_QUEUE", "SPM_CHROMIUM", "PORT"} <= read


def test_compose_passes_the_app_only_variables_it_reads():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    passed = {
        key
        for name in ("migrate", "web", "worker", "beat")
        for key in services[name]["environment"]
    }
    assert sorted(passed - set(_read())) == []


@pytest.mark.parametrize(
    ("name", "value", "read", "message"),
    [
        ("PORT", "abc", lambda: env_int("PORT", 8000), "PORT='abc' is not an integer"),
        (
            "PORT",
            "70000",
            lambda: env_int("PORT", 8000, minimum=1, maximum=65535),
            "PORT='70000' is out of range (1..65535)",
        ),
        (
            "DEBUG",
            "maybe",
            lambda: env_bool("DEBUG", False),
            "DEBUG='maybe' is not a boolean (use 1/0, true/false, yes/no, on/off)",
        ),
        (
            "LOG_LEVEL",
            "LOUD",
            lambda: env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO")),
            "LOG_LEVEL='LOUD' is not one of DEBUG, INFO",
        ),
        (
            "REDIS_URL",
            "localhost:6379",
            lambda: env_url("REDIS_URL", None, schemes=("redis", "rediss")),
            "REDIS_URL='localhost:6379' is not a URL starting with redis:// or rediss://",
        ),
    ],
)
def test_a_malformed_value_fails_with_a_message_naming_the_variable(
    monkeypatch, name, value, read, message
):
    monkeypatch.setenv(name, value)
    with pytest.raises(EnvError) as error:
        read()
    assert str(error.value) == message


def test_empty_is_unset(monkeypatch):
    # compose passes an unset ${VAR} as an empty string
    for name in ("EMAIL_BACKEND", "SECURE_SSL_REDIRECT", "EMAIL_PORT"):
        monkeypatch.setenv(name, "")
    assert env_str("EMAIL_BACKEND", "smtp") == "smtp"
    assert env_bool("SECURE_SSL_REDIRECT", True) is True
    assert env_int("EMAIL_PORT", 25) == 25


def test_make_run_with_a_malformed_port_says_so_and_starts_nothing(monkeypatch, capsys):
    monkeypatch.setenv("PORT", "abc")
    assert devstack.main(["run"]) == 2
    assert capsys.readouterr() == ("", "[spm] PORT='abc' is not an integer\n")
