"""A test run leaves nothing of its own in Redis: no queue, no kombu binding, no cache key."""

import subprocess
import sys
from pathlib import Path

import redis
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]

# Runs in a pytest session of its own (with the suite's session hook): it
# publishes a task nobody consumes and writes a cache key, checks that both are in
# Redis, and prints the names the outer test then looks for.
INNER = """
import redis
from django.conf import settings
from django.core.cache import cache

from spm.celery import app


def test_publish_and_cache():
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    app.send_task("spm.never_consumed", args=[1], queue=queue)
    cache.set("marker", "1", 3600)
    client = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    assert client.llen(queue) == 1
    assert client.exists(f"_kombu.binding.{queue}") == 1
    assert client.exists(f"{prefix}:1:marker") == 1
    print(f"QUEUE={queue} PREFIX={prefix}")
"""


def test_a_test_run_removes_its_queue_bindings_and_cache_keys(tmp_path):
    # given a finished test session that published a task and cached a value
    inner = tmp_path / "test_inner.py"
    inner.write_text(INNER)
    (tmp_path / "conftest.py").write_text("from tests.conftest import pytest_sessionfinish\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--confcutdir",
            str(tmp_path),
            "-s",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(ROOT),
            "-c",
            str(ROOT / "pyproject.toml"),
            str(inner),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    line = next(part for part in result.stdout.split() if part.startswith("QUEUE="))
    queue = line.removeprefix("QUEUE=")
    prefix = next(p for p in result.stdout.split() if p.startswith("PREFIX=")).removeprefix(
        "PREFIX="
    )
    # then nothing with its queue's or cache prefix's name remains
    client = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    left = sorted(k.decode() for k in client.scan_iter(match=f"*{queue}*", count=1000))
    left += sorted(k.decode() for k in client.scan_iter(match=f"{prefix}:*", count=1000))
    assert queue != settings.CELERY_TASK_DEFAULT_QUEUE
    assert left == []
