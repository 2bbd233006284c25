"""Failed sign-ins slow down password guessing: a few per user name and per client address.

The sign-in page and the API's token endpoint share these counters (a failure at either
door counts at both), and refuse further attempts for a while after too many failures — per
user name (guessing one account's password) and per client address (trying many accounts).
The citizen look-up uses the same class with its own limits. Counted in memory per server
process: a restart forgets, which is acceptable for a brake on guessing (every failure is also
in the audit log).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque


class Throttle:
    """At most ``limit`` failures per key within ``window`` seconds."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._fails: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._fails.setdefault(key, deque())
        while q and now - q[0] >= self.window:
            q.popleft()
        return q

    def wait_seconds(self, key: str, now: float | None = None) -> int:
        """0 when ``key`` may try now, else how many seconds until it may."""
        now = time.monotonic() if now is None else now
        with self._lock:
            q = self._recent(key, now)
            if len(q) < self.limit:
                return 0
            return max(1, math.ceil(q[0] + self.window - now))

    def failed(self, key: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._recent(key, now).append(now)
            if len(self._fails) > 100_000:  # bound memory under a spray of user names
                self._fails = {k: v for k, v in self._fails.items() if v}

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._fails.pop(key, None)


class SignInThrottle:
    """Per user name (5 failures / 15 min) and per client address (30 / 15 min)."""

    def __init__(self, per_user: int = 5, per_client: int = 30, window: float = 900.0) -> None:
        self.users = Throttle(per_user, window)
        self.clients = Throttle(per_client, window)

    def wait_seconds(self, username: str, client: str) -> int:
        return max(
            self.users.wait_seconds(username.strip().lower()),
            self.clients.wait_seconds(client),
        )

    def failed(self, username: str, client: str) -> None:
        self.users.failed(username.strip().lower())
        self.clients.failed(client)

    def succeeded(self, username: str) -> None:
        self.users.succeeded(username.strip().lower())
