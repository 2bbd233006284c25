"""Brakes on guessing: failed sign-ins and failed citizen look-ups slow down.

:class:`SignInThrottle` is the one implementation behind every door that takes a secret —
the sign-in page and the API's token endpoint share one instance per server process, so a
failure at either door counts at both; the public look-up has its own instance, keyed by the
ID number where sign-in has the user name (:func:`tiemchung.web.lookup.new_throttle`).

It never *locks* an account: a fixed lock per user name let anyone lock any nurse out by
typing her name five times. Instead failures are counted per
user name **and** source (client address): a guesser elsewhere slows down only their own
attempts, never the nurse's at her desk. The first failures are free, a warning says how many
are left from the third on, and then each further failure doubles the wait before the next
attempt. A second counter per source alone (any user names) brakes one machine trying many
accounts; it too slows down only that source.

It counts in shared storage (:mod:`tiemchung.auth.throttlestore`: the database, or Redis
when configured), so several server processes brake one guesser as one: with per-process
counts ``--workers 4`` gave four times the attempts. The policy stays here, the storage there;
a throttle made without a store (unit tests with a fake clock) counts in memory. Times are
wall-clock epoch seconds, the one clock every process shares.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tiemchung.auth.throttlestore import MemoryStore, State, ThrottleStore, digest, shared_store


@dataclass(frozen=True)
class Failure:
    """What one more failure means for the next attempt from the same user name and source."""

    count: int  #: failures in a row for this user name from this source
    remaining: int  #: attempts left before a wait starts (0: the wait has started)
    wait: int  #: seconds before the next attempt is allowed (0: none)

    @property
    def warn(self) -> bool:
        """Say how many attempts are left (from the third failure on)."""
        return self.count >= SignInThrottle.WARN_FROM


class _Backoff:
    """The policy for one kind of key: ``free`` failures cost nothing, then each one doubles
    the wait (``base`` seconds after the ``free``-th, capped at ``cap``). A key is forgotten
    ``forget`` seconds after its last failure (the store does the forgetting)."""

    def __init__(self, free: int, base: float, cap: float, forget: float) -> None:
        self.free, self.base, self.cap, self.forget = free, base, cap, forget

    def delay(self, failures: int) -> float:
        """The wait after ``failures`` failures: 0, then base, 2·base, 4·base … up to cap."""
        if failures < self.free:
            return 0.0
        return float(min(self.cap, self.base * 2 ** min(failures - self.free, 32)))

    def wait(self, state: State | None, now: float) -> int:
        """Seconds still to wait for a key in ``state`` (None: no live count)."""
        if state is None or state[0] < self.free:
            return 0
        return max(0, math.ceil(state[1] + self.delay(state[0]) - now))


class SignInThrottle:
    """Failed passwords per user name *and* source, and per source alone.

    Per user name and source: 5 failures are free (a warning from the 3rd), then the next
    attempt waits 30 s, and each further failure doubles it (1, 2, 4 … minutes, at most an
    hour); a success clears the count, else it is forgotten a day after the last failure.
    Per source, whatever the user names: 30 free, then the same doubling, forgotten an hour
    after the last failure — a station whose nurses share one address must not pile up a
    month of typos into a wait.
    """

    WARN_FROM = 3

    def __init__(
        self,
        free: int = 5,
        per_client: int = 30,
        base: float = 30.0,
        cap: float = 3600.0,
        forget: float = 86400.0,
        client_forget: float = 3600.0,
        clock: Callable[[], float] = time.time,
        store: ThrottleStore | None = None,
        name: str = "signin",
    ) -> None:
        self.pairs = _Backoff(free, base, cap, forget)
        self.clients = _Backoff(per_client, base, cap, client_forget)
        self.clock = clock
        self.store: ThrottleStore = store if store is not None else MemoryStore()
        self.name = name  # throttles sharing one store count apart (sign-in, look-up, clients)

    def _keys(self, username: str, client: str) -> tuple[str, str]:
        """The stored keys of a user name and source, and of the source alone."""
        pair = digest(f"{self.name}\x00p\x00{username.strip().lower()}\x00{client}")
        return pair, digest(f"{self.name}\x00c\x00{client}")

    def wait_seconds(self, username: str, client: str) -> int:
        """0 when this user name may try from this source now, else the seconds to wait."""
        now = self.clock()
        pair, source = self._keys(username, client)
        found = self.store.read([pair, source], now)
        return max(self.pairs.wait(found.get(pair), now), self.clients.wait(found.get(source), now))

    def failed(self, username: str, client: str) -> Failure:
        now = self.clock()
        pair, source = self._keys(username, client)
        counts = self.store.fail([(pair, self.pairs.forget), (source, self.clients.forget)], now)
        count = counts[pair]
        wait = max(
            self.pairs.wait((count, now), now), self.clients.wait((counts[source], now), now)
        )
        return Failure(count=count, remaining=max(0, self.pairs.free - count), wait=wait)

    def succeeded(self, username: str, client: str) -> None:
        self.store.clear(self._keys(username, client)[0])


def wait_words(seconds: int) -> tuple[str, str]:
    """A wait as people say it, in Vietnamese and English: seconds under a minute, else
    minutes rounded up."""
    if seconds < 60:
        return f"{seconds} giây", f"{seconds} second(s)"
    minutes = -(-seconds // 60)
    return f"{minutes} phút", f"{minutes} minute(s)"


def signin_throttle(state: Any) -> SignInThrottle:
    """The server process's one sign-in throttle, kept on the app's ``state``: the API's
    token endpoint and the sign-in page both take it from here, so a failure at either door
    counts at both; it counts in the process's shared store
    (:func:`~tiemchung.auth.throttlestore.shared_store`), so every worker counts it too. Made
    on first use — no await in between, so two requests cannot make two."""
    found = getattr(state, "signin_throttle", None)
    if found is None:
        found = state.signin_throttle = SignInThrottle(store=shared_store(state))
    return found  # type: ignore[no-any-return]
