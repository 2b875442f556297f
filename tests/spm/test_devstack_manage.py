"""`make manage ARGS="..."` runs a manage.py command against the embedded
services that a running `make run` holds, and leaves them running."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import psycopg
import pytest
import redis

from spm import devstack

ROOT = Path(__file__).resolve().parents[2]

SHELL = (
    "from django.conf import settings; from django.db import connection; import redis\n"
    "with connection.cursor() as cursor:\n"
    "    cursor.execute('SELECT note FROM run_marker')\n"
    "    note = cursor.fetchone()[0]\n"
    "client = redis.Redis.from_url(settings.CACHES['default']['LOCATION'])\n"
    "print(note, client.get('run-marker').decode(), connection.settings_dict['USER'],"
    " settings.SETTINGS_MODULE, settings.DEBUG)\n"
)


@pytest.fixture
def var_dir() -> Iterator[Path]:
    """A data folder the embedded PostgreSQL can reach: run as root, pgserver
    starts it as its own user, which cannot enter pytest's private tmp_path."""
    folder = Path(tempfile.mkdtemp(prefix="spm-var-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_manage_reaches_the_embedded_services_of_a_running_stack_and_leaves_them_up(
    monkeypatch, var_dir
):
    # given embedded PostgreSQL and Redis under SPM_VAR_DIR, held the way `make run` holds them
    for name in ("DATABASE_URL", "DATABASE_OWNER_URL", "DATABASE_ADMIN_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    for name in ("DJANGO_SETTINGS_MODULE", "DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SPM_VAR_DIR", str(var_dir))
    with ExitStack() as run_stack:
        services = devstack.resolve_services(run_stack, prefer_local=False, quiet=True)
        with psycopg.connect(services["DATABASE_OWNER_URL"], autocommit=True) as owner:
            owner.execute("CREATE TABLE run_marker (note text)")
            owner.execute("INSERT INTO run_marker VALUES ('seen-in-postgres')")
            owner.execute("GRANT SELECT ON run_marker TO spm_app")
        socket_path = services["REDIS_URL"].removeprefix("redis+socket://")
        redis.Redis(unix_socket_path=socket_path).set("run-marker", "seen-in-redis")

        # when a manage.py command runs through the documented entry point
        result = subprocess.run(
            [sys.executable, "-m", "spm.devstack", "manage", "shell", "-c", SHELL],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

        # then it read both servers as the runtime role, under make run's settings
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[-1] == (
            "seen-in-postgres seen-in-redis spm_app spm.settings.local False"
        )
        # and the servers the running stack holds are still up
        with psycopg.connect(services["DATABASE_URL"]) as runtime:
            assert runtime.execute("SELECT note FROM run_marker").fetchone() == (
                "seen-in-postgres",
            )
        assert redis.Redis(unix_socket_path=socket_path).get("run-marker") == b"seen-in-redis"
    # pgserver's exit hook runs once more at interpreter exit and logs to a closed stream
    logging.getLogger("pgserver").propagate = False
