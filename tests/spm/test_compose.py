"""docker-compose.yml, read as a file (CI machines have no Docker engine): the
services, their health checks, and which container receives which secret."""

import re
import secrets
import subprocess
import sys
from pathlib import Path

import yaml
from django.conf import settings

from tests.conftest import database_url

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
REFERENCE = re.compile(r"\$\{([A-Z0-9_]+)")
EXAMPLE = dict(
    line.split("=", 1)
    for line in (ROOT / "docker" / "env.example").read_text().splitlines()
    if line and not line.startswith("#")
)


def _references(service: str) -> set[str]:
    """The .env variables interpolated into a service's environment."""
    environment = SERVICES[service].get("environment", {})
    return {name for value in environment.values() for name in REFERENCE.findall(str(value))}


def test_the_stack_has_its_six_services_from_one_image():
    assert sorted(SERVICES) == ["beat", "migrate", "postgres", "redis", "web", "worker"]
    assert [s for s in SERVICES if SERVICES[s].get("build") == "."] == [
        "migrate",
        "web",
        "worker",
        "beat",
    ]
    assert SERVICES["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert SERVICES["migrate"]["restart"] == "no"
    for service in ("web", "worker", "beat"):
        assert SERVICES[service]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"}
        }
    assert SERVICES["migrate"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }


def test_servers_and_web_have_health_checks():
    checks = {name: SERVICES[name].get("healthcheck", {}).get("test") for name in SERVICES}
    assert checks == {
        "postgres": ["CMD-SHELL", "pg_isready -h 127.0.0.1 -U postgres -d spm"],
        "redis": ["CMD", "redis-cli", "ping"],
        "web": [
            "CMD",
            "python",
            "-c",
            "import urllib.request; "
            "urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=5)",
        ],
        "migrate": None,
        "worker": None,
        "beat": None,
    }


def test_no_container_gets_a_shared_env_file():
    assert [name for name, service in SERVICES.items() if "env_file" in service] == []


def test_each_container_receives_only_the_secrets_it_uses():
    secrets = ("POSTGRES_PASSWORD", "SPM_OWNER_PASSWORD", "SPM_APP_PASSWORD", "EMAIL_HOST_PASSWORD")
    holders = {
        secret: sorted(name for name in SERVICES if secret in _references(name))
        for secret in secrets
    }
    assert holders == {
        "POSTGRES_PASSWORD": ["postgres"],
        "SPM_OWNER_PASSWORD": ["migrate", "postgres"],
        "SPM_APP_PASSWORD": ["beat", "postgres", "web", "worker"],
        "EMAIL_HOST_PASSWORD": ["web", "worker"],
    }
    assert SERVICES["migrate"]["environment"]["DATABASE_URL"] == (
        "postgres://spm_app@postgres:5432/spm"
    )
    assert "DATABASE_OWNER_URL" not in {
        key for name in ("web", "worker", "beat") for key in SERVICES[name]["environment"]
    }


def test_every_interpolated_variable_is_in_the_example_env_and_none_is_left_over():
    used = {name for service in SERVICES for name in _references(service)}
    assert sorted(used) == sorted(EXAMPLE)


def test_migrate_needs_no_runtime_password_it_never_logs_in_as_the_runtime_role(django_db_setup):
    # given the migrate container's settings: the runtime role named at an address
    # where nothing listens, the owner role's real connection
    environment = SERVICES["migrate"]["environment"]
    assert environment["DATABASE_URL"].startswith("postgres://spm_app@")
    env = {
        "DJANGO_SETTINGS_MODULE": "spm.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": EXAMPLE["ALLOWED_HOSTS"],
        "DATABASE_URL": f"postgres://{settings.DATABASES['default']['USER']}@127.0.0.1:1/x",
        "DATABASE_OWNER_URL": database_url("owner"),
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }
    # when migrate runs (the test database is migrated: it checks, grants and stops)
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    # then it succeeds without ever opening the runtime role's connection
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines()[-2:] == ["Running migrations:", "  No migrations to apply."]
