"""Locust users of the load drill (started by ``bench/load.py``, which writes
the users file and starts the server).

Each simulated user is one prepared member (``BENCH_LOAD_USERS``: a JSON
object of ``users``, a list of {role, session, token, requests}, and
``think_seconds``, [min, max]); it reads its role's mix (bench/mix.py) at
random, waiting the think time between requests (``bench/load.py --think``,
1-3 s by default). Pages go with the member's session cookie, API pulls with
their API token.
"""

from __future__ import annotations

import itertools
import json
import random
import sys
from pathlib import Path
from typing import Any

from locust import FastHttpUser, between, task

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from spm.env import env_str  # noqa: E402 (the project root goes on the path first)

_users_file = env_str("BENCH_LOAD_USERS")
if _users_file is None:
    raise SystemExit(
        "BENCH_LOAD_USERS must name the prepared users' JSON file (bench/load.py sets it)"
    )
with open(_users_file) as _file:
    _PREPARED: dict[str, Any] = json.load(_file)
USERS: list[dict[str, Any]] = _PREPARED["users"]
_NEXT = itertools.cycle(USERS)


class Member(FastHttpUser):
    # seconds a member reads a page before the next request (bench/load.py --think)
    wait_time = between(*_PREPARED["think_seconds"])

    def on_start(self) -> None:
        self.member = next(_NEXT)
        self.requests = list(self.member["requests"].items())

    @task
    def read(self) -> None:
        name, path = random.choice(self.requests)  # noqa: S311 - a load mix, not a secret
        if path.startswith("/api/"):
            headers = {"Authorization": f"Token {self.member['token']}"}
        else:
            headers = {"Cookie": f"sessionid={self.member['session']}"}
        with self.client.get(
            path, headers=headers, name=f"{self.member['role']} {name}", catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}")
