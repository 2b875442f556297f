"""CPU seconds for the benchmarks: a wall time on a shared machine is mostly
waiting for a core, so the scripts report the CPU the work used as well."""

from __future__ import annotations

import os
from pathlib import Path


def backend_cpu() -> float:
    """CPU seconds of this connection's PostgreSQL backend so far (0 when its
    /proc entry cannot be read: the server is on another machine)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
