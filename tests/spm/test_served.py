"""The web process as it is really started: gunicorn from the Dockerfile's CMD
under the production settings, and gunicorn as `make run` starts it."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.test import Client
from gunicorn.ctl.client import ControlClient

from spm import devstack
from tests.conftest import database_url

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def _get(url: str, **headers: str) -> tuple[int, str, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - our own server
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


urllib.request.install_opener(urllib.request.build_opener(_NoRedirect))


def _dockerfile_cmd() -> list[str]:
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    return json.loads(next(line for line in lines if line.startswith("CMD "))[4:])


def test_the_compose_health_check_passes_against_the_image_command_under_production(tmp_path):
    # given the image's web command, bound to a free port, with the example .env's hosts
    port = devstack.free_port()
    command = _dockerfile_cmd()
    assert command == [
        "gunicorn",
        "spm.wsgi",
        "--bind",
        "0.0.0.0:8000",
        "--workers",
        "4",
        "--threads",
        "4",
        "--control-socket",
        "/tmp/gunicorn.ctl",  # noqa: S108 - inside the container, one per container
        "--access-logfile",
        "-",
    ]
    assert "DJANGO_SETTINGS_MODULE=spm.settings.production" in (ROOT / "Dockerfile").read_text()
    command[0] = str(VENV_BIN / "gunicorn")
    command[3] = f"127.0.0.1:{port}"
    command[5] = "1"
    command[9] = str(tmp_path / "gunicorn.ctl")
    example = dict(
        line.split("=", 1)
        for line in (ROOT / "docker" / "env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    env = {
        "DJANGO_SETTINGS_MODULE": "spm.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": example["ALLOWED_HOSTS"],
        "SECURE_SSL_REDIRECT": example["SECURE_SSL_REDIRECT"],
        # The health check must not need the database or the broker.
        "DATABASE_URL": "postgres://spm_app@127.0.0.1:1/spm",
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }
    health = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["web"]
    check = health["healthcheck"]["test"]
    assert check[:3] == ["CMD", "python", "-c"]
    with devstack.serving(command, env, port, tmp_path / "web.log"):
        # when the container's health check runs, as compose runs it
        result = subprocess.run(
            [sys.executable, "-c", check[3].replace(":8000/", f":{port}/")],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        # then it passes, while every other path still validates the host and the scheme
        assert (result.returncode, result.stderr) == (0, "")
        # (the container is live; the text says what monitoring must know: no database here)
        assert _get(f"http://127.0.0.1:{port}/healthz")[:2] == (
            200,
            "unavailable: the database does not answer",
        )
        assert _get(f"http://127.0.0.1:{port}/accounts/login/")[0] == 400
        status, _, headers = _get(
            f"http://127.0.0.1:{port}/accounts/login/", Host="spm.example.com"
        )
        assert (status, headers["Location"]) == (301, "https://spm.example.com/accounts/login/")


@pytest.fixture
def make_run_env(monkeypatch, django_db_setup, tmp_path) -> Iterator[dict[str, str]]:
    """The environment `make run` gives its processes (no DEBUG, no settings
    profile named), pointed at this test process's database and Redis keys."""
    for name in ("DJANGO_SETTINGS_MODULE", "DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url("default"))
    monkeypatch.setenv("DATABASE_OWNER_URL", database_url("owner"))
    monkeypatch.setenv("SPM_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("CACHE_KEY_PREFIX", settings.CACHES["default"]["KEY_PREFIX"])
    monkeypatch.setenv("CELERY_QUEUE", settings.CELERY_TASK_DEFAULT_QUEUE)
    with ExitStack() as stack:
        yield devstack.stack_env(stack, prefer_local=False, settings="spm.settings.local")


@pytest.mark.django_db(transaction=True)
def test_make_run_serves_its_own_not_found_page_to_a_signed_in_user_and_each_instance_its_own_control_socket(  # noqa: E501
    make_run_env, world_a, tmp_path
):
    # given two `make run` web servers on two ports, and a signed-in member
    assert make_run_env["DJANGO_SETTINGS_MODULE"] == "spm.settings.local"
    client = Client()
    client.force_login(world_a.rep1.user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    ports = [devstack.free_port(), devstack.free_port()]
    sockets = [tmp_path / f"gunicorn-{port}.ctl" for port in ports]
    with ExitStack() as servers:
        servers_started = [
            servers.enter_context(
                devstack.serving(
                    devstack.web_command(port, tmp_path),
                    make_run_env,
                    port,
                    tmp_path / f"web-{port}.log",
                )
            )
            for port in ports
        ]
        base = f"http://127.0.0.1:{ports[0]}"
        # when the member opens addresses that do not exist
        answers = [
            _get(f"{base}{path}", Cookie=cookie)
            for path in ("/alpha/no-such-page/", "/accounts/no-such-page/")
        ]
        # then both get SPM's page, with no URL pattern listed
        for status, body, _ in answers:
            assert status == 404
            assert "<h1>Not found</h1>" in body
            assert "Using the URLconf" not in body
            assert "alpha/kpis/" not in body
        # and each instance answers on its own control socket
        for path, server in zip(sockets, servers_started, strict=True):
            with ControlClient(str(path)) as control:
                assert control.send_command("show stats")["pid"] == server.pid
        servers.close()
    assert [path.exists() for path in sockets] == [False, False]
