"""The backup and restore drill, one command:

    .venv/bin/python bench/backup_drill.py [--db spm_bench] [--jobs 2]

Dumps the database ``--db`` on the server of ``BENCH_ADMIN_URL`` (default
postgres://postgres@127.0.0.1:5432/postgres) with ``pg_dump --format=custom``,
restores it into a scratch database with ``pg_restore --jobs``, and compares,
tenant by tenant, a hash of the statement lines and a hash of the KPI values
in both (read as the superuser, beside Row Level Security). Times each step,
prints a Markdown report (paste it into bench/RESULTS.md), drops the scratch
database, and exits 1 when any tenant's hashes differ.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from spm.env import env_str

# Per tenant: the rows of the ledger and of the KPI snapshot, in a fixed order,
# hashed by the server (md5 over the text of every row).
HASHES_SQL = """
SELECT t.slug,
       (SELECT count(*) FROM incentives_statementline l WHERE l.tenant_id = t.id),
       (SELECT md5(coalesce(string_agg(
            concat_ws('|', l.statement_id, l.period_id, l.position, l.amount, l.base, l.rate,
                      l.explanation), ',' ORDER BY l.statement_id, l.position), ''))
          FROM incentives_statementline l WHERE l.tenant_id = t.id),
       (SELECT count(*) FROM kpis_kpivalue v WHERE v.tenant_id = t.id),
       (SELECT md5(coalesce(string_agg(
            concat_ws('|', v.period_id, v.subject_kind, v.subject_id, v.kpi, v.value),
            ',' ORDER BY v.period_id, v.subject_kind, v.subject_id, v.kpi), ''))
          FROM kpis_kpivalue v WHERE v.tenant_id = t.id)
FROM spm_tenant t ORDER BY t.slug
"""


def _url(admin: str, name: str) -> str:
    return urlunsplit(urlsplit(admin)._replace(path=f"/{name}"))


def _hashes(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return list(conn.execute(HASHES_SQL).fetchall())


def _timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True)  # noqa: S603 (pg_dump/pg_restore with our arguments)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="spm_bench")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    admin = env_str("BENCH_ADMIN_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    source, scratch = _url(admin, args.db), f"{args.db}_restored"
    before = _hashes(source)
    with tempfile.TemporaryDirectory() as folder:
        dump = Path(folder) / f"{args.db}.dump"
        dump_seconds = _timed(["pg_dump", "--format=custom", f"--file={dump}", source])
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{scratch}"')
            conn.execute(f'CREATE DATABASE "{scratch}"')
        try:
            restore_seconds = _timed(
                ["pg_restore", f"--jobs={args.jobs}", f"--dbname={_url(admin, scratch)}", str(dump)]
            )
            after = _hashes(_url(admin, scratch))
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{scratch}"')
        size = dump.stat().st_size
    print(f"## Backup and restore drill: `{args.db}`\n")
    print(f"- dump (`pg_dump -Fc`): {dump_seconds:.1f} s, {size / 1e6:.1f} MB")
    print(f"- restore (`pg_restore -j{args.jobs}`): {restore_seconds:.1f} s\n")
    print("| tenant | statement lines | lines hash | KPI values | KPI hash | restored identical |")
    print("|---|---|---|---|---|---|")
    identical = True
    for row, restored in zip(before, after, strict=True):
        same = row == restored
        identical &= same
        slug, lines, lines_hash, values, kpi_hash = row
        print(f"| {slug} | {lines} | `{lines_hash[:12]}` | {values} | `{kpi_hash[:12]}` | {same} |")
    return 0 if identical and len(before) == len(after) else 1


if __name__ == "__main__":
    sys.exit(main())
