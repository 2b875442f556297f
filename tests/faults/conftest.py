"""Real processes for the fault tests: a private Redis that a test may stop
and start again (never the shared one), and Celery workers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core.cache import caches

from spm.celery import app
from spm.env import env_str
from tests.conftest import database_url

BASE_DIR = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PrivateRedis:
    """A redis-server of this test's own on a free port, without persistence."""

    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        self.process = subprocess.Popen(  # noqa: S603 (a fixed binary and our own arguments)
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)


def _point_at(broker_url: str, cache_location: str) -> None:
    app.conf.broker_url = broker_url
    app._after_fork()  # drop the connection and producer pools of the old URL
    settings.CELERY_BROKER_URL = broker_url
    settings.CACHES["default"]["LOCATION"] = cache_location
    caches["default"].close()
    del caches["default"]


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """Celery and the cache on a private Redis for the test's duration."""
    server = PrivateRedis(tmp_path)
    server.start()
    broker, location = settings.CELERY_BROKER_URL, settings.CACHES["default"]["LOCATION"]
    _point_at(server.url, server.url)
    try:
        yield server
    finally:
        _point_at(broker, location)
        server.stop()


@pytest.fixture
def worker_thread(transactional_db: None) -> Iterator[None]:
    """A Celery worker (solo pool) in a thread of this process, on this
    process's queue."""
    with start_worker(
        app,
        pool="solo",
        perform_ping_check=False,
        shutdown_timeout=10,
        queues=[app.conf.task_default_queue],
    ):
        yield


def wait_until(predicate, *, timeout: float = 30.0, step: float = 0.1):  # type: ignore[no-untyped-def]
    """Poll ``predicate`` until it returns something truthy; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


@dataclass
class WorkerProcess:
    """``celery worker`` in a process of its own (prefork), on this
    test process's database and queue."""

    log: Path
    process: subprocess.Popen[bytes]

    def child_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def worker_environment(redis_url: str | None = None) -> dict[str, str]:
    """The environment of a worker process serving this test process."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "spm.settings.local",
        "DATABASE_URL": database_url("default"),
        "DATABASE_OWNER_URL": database_url("owner"),
        "REDIS_URL": redis_url or settings.CELERY_BROKER_URL,
        "CELERY_QUEUE": app.conf.task_default_queue,
        "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
        "LOG_LEVEL": "INFO",
    }


def start_worker_process(
    log: Path, *, redis_url: str | None = None, concurrency: int = 1
) -> WorkerProcess:
    """Start a worker (``concurrency`` child processes) and wait until it consumes."""
    handle = log.open("wb")
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "spm",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            str(concurrency),
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "--loglevel",
            "INFO",
            "--queues",
            app.conf.task_default_queue,
        ],
        cwd=BASE_DIR,
        env=worker_environment(redis_url),
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    worker = WorkerProcess(log, process)
    wait_until(lambda: " ready." in worker.output() or process.poll() is not None, timeout=60)
    assert process.poll() is None, worker.output()
    assert " ready." in worker.output(), worker.output()
    return worker


@pytest.fixture
def start_worker_for_test(
    transactional_db: None, tmp_path: Path
) -> Iterator[Callable[..., WorkerProcess]]:
    """Start a worker process once the test has written its data, on an empty
    queue (the data's own follow-up tasks are dropped: the test computes what
    it compares against itself). Stopped before the database is flushed."""
    started: list[WorkerProcess] = []

    def start(redis_url: str | None = None, concurrency: int = 1) -> WorkerProcess:
        app.control.purge()
        worker = start_worker_process(
            tmp_path / f"worker{len(started)}.log", redis_url=redis_url, concurrency=concurrency
        )
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def admin_connection() -> psycopg.Connection:
    """A superuser connection to this test process's database (outside RLS):
    the place faults are injected from."""
    admin_url = env_str("DATABASE_ADMIN_URL") or database_url("owner", "postgres")
    name = settings.DATABASES["default"]["NAME"]
    return psycopg.connect(conninfo_with_db(admin_url, name), autocommit=True)


def conninfo_with_db(url: str, name: str) -> str:
    base, _, _old = url.rpartition("/")
    return f"{base}/{name}"


def backends_waiting_on_a_lock() -> list[int]:
    """Backends of the runtime role blocked on a lock, in this database. Asked
    on a connection of its own: inside a transaction PostgreSQL shows the
    activity as it was when the transaction first looked."""
    with admin_connection() as monitor:
        rows = monitor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND usename = %s AND wait_event_type = 'Lock'",
            [settings.DATABASES["default"]["USER"]],
        ).fetchall()
    return [row[0] for row in rows]
