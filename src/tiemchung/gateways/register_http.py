"""The national population register over HTTP: a ``RegisterSource`` (issue 19, point 5).

The wire contract is docs/register-remote.md (``GET /persons?id=``, ``GET
/persons?name=&dob=``, ``GET /changes?since=&limit=``). What makes it safe at a desk:

- every call has a deadline (``register_deadline_s``) besides the connect and read timeouts:
  a retry (5xx or 429, after the backoff or the ``Retry-After`` the register asked for) is
  made only when it can finish before the deadline, so the desk never waits longer;
- a circuit breaker: after ``breaker_failures`` failed calls in a row the register is not
  asked at all for ``cooldown_s`` (the desk answers from the snapshot at once), then one call
  is let through (half-open): its success closes the breaker, its failure opens it again;
- a TTL cache of the look-ups' answers, the misses too (for a shorter time): a queue at the
  desk typing the same ID twice, or a list asking for one person many times, costs one call.

Every failure ends as :class:`RegisterUnavailable`; the caller decides what that means.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from tiemchung.config import Settings
from tiemchung.registry.people.register_source import (
    ChangesPage,
    RegisterPerson,
    RegisterUnavailable,
    clean_many,
)

log = logging.getLogger(__name__)
Clock = Callable[[], float]


class CircuitBreaker:
    """Closed → open after ``failures`` failures in a row → half-open after ``cooldown_s``
    (one trial call) → closed on its success, open again on its failure. Thread-safe."""

    def __init__(self, failures: int, cooldown_s: float, clock: Clock = time.monotonic):
        self.failures = max(failures, 1)
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._count = 0
        self._opened_at: float | None = None
        self._trial = False

    @property
    def state(self) -> str:
        with self._lock:
            return self._state()

    def _state(self) -> str:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.cooldown_s:
            return "half-open"
        return "open"

    def allow(self) -> bool:
        """May a call be made now? In half-open only one at a time (the trial)."""
        with self._lock:
            state = self._state()
            if state == "closed":
                return True
            if state == "half-open" and not self._trial:
                self._trial = True
                return True
            return False

    def success(self) -> None:
        with self._lock:
            self._count, self._opened_at, self._trial = 0, None, False

    def failure(self) -> None:
        with self._lock:
            self._count += 1
            if self._trial or self._count >= self.failures:
                self._opened_at, self._trial = self._clock(), False


class TTLCache:
    """Answers kept ``ttl`` seconds (each entry its own), at most ``size`` entries (the
    oldest go first). Thread-safe."""

    def __init__(self, size: int = 50_000, clock: Clock = time.monotonic):
        self.size = size
        self._clock = clock
        self._lock = threading.Lock()
        self._data: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        self.hits = 0

    def get(self, key: Any) -> Any | None:
        with self._lock:
            hit = self._data.get(key)
            if hit is None:
                return None
            if hit[0] <= self._clock():
                del self._data[key]
                return None
            self.hits += 1
            return hit[1]

    def put(self, key: Any, value: Any, ttl: float) -> None:
        if ttl <= 0:
            return
        with self._lock:
            self._data[key] = (self._clock() + ttl, value)
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


class HttpRegister:
    """A :class:`~tiemchung.registry.people.register_source.RegisterSource` over HTTP."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str = "",
        basic: str = "",
        client_cert: str = "",
        client_key: str = "",
        ca: str = "",
        connect_timeout_s: float = 1.0,
        read_timeout_s: float = 2.0,
        deadline_s: float = 3.0,
        retries: int = 2,
        backoff_s: float = 0.2,
        breaker_failures: int = 5,
        breaker_cooldown_s: float = 30.0,
        cache_ttl_s: float = 300.0,
        cache_miss_ttl_s: float = 30.0,
        clock: Clock = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.deadline_s = deadline_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.cache_ttl_s = cache_ttl_s
        self.cache_miss_ttl_s = cache_miss_ttl_s
        self.breaker = CircuitBreaker(breaker_failures, breaker_cooldown_s, clock)
        self.cache = TTLCache(clock=clock)
        self.calls = 0  # HTTP requests made (tests and `doctor` read it)
        self._clock = clock
        self._sleep = sleep
        self._timeout = httpx.Timeout(read_timeout_s, connect=connect_timeout_s)
        auth: Any = None
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        elif basic:
            user, _, password = basic.partition(":")
            auth = httpx.BasicAuth(user, password)
        tls = ssl.create_default_context(cafile=ca or None)  # the register's CA, else the system's
        if client_cert:  # mTLS
            tls.load_cert_chain(client_cert, client_key or None)
        self._client = httpx.Client(
            base_url=self.base_url, headers=headers, auth=auth, verify=tls, timeout=self._timeout
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpRegister:
        return cls(
            settings.register_url,
            token=settings.register_token,
            basic=settings.register_basic,
            client_cert=settings.register_client_cert,
            client_key=settings.register_client_key,
            ca=settings.register_ca,
            connect_timeout_s=settings.register_connect_timeout_s,
            read_timeout_s=settings.register_read_timeout_s,
            deadline_s=settings.register_deadline_s,
            retries=settings.register_retries,
            backoff_s=settings.register_backoff_s,
            breaker_failures=settings.register_breaker_failures,
            breaker_cooldown_s=settings.register_breaker_cooldown_s,
            cache_ttl_s=settings.register_cache_ttl_s,
            cache_miss_ttl_s=settings.register_cache_miss_ttl_s,
        )

    def close(self) -> None:
        self._client.close()

    # -- the three questions ------------------------------------------------------------------

    def by_id(self, digits: str) -> list[RegisterPerson]:
        return self._lookup(("id", digits), {"id": digits})

    def by_name_dob(self, name: str, dob: str) -> list[RegisterPerson]:
        return self._lookup(("name", name, dob), {"name": name, "dob": dob})

    def changes_since(self, cursor: str | None, limit: int) -> ChangesPage:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["since"] = cursor
        body = self._get("/changes", params)
        persons, rejected = clean_many(list(body.get("persons") or []))
        return ChangesPage(
            persons, body.get("cursor") or cursor, bool(body.get("more")), tuple(rejected)
        )

    # -- the machinery ----------------------------------------------------------------------

    def _lookup(self, key: tuple[str, ...], params: dict[str, str]) -> list[RegisterPerson]:
        cached = self.cache.get(key)
        if cached is not None:
            return list(cached)
        body = self._get("/persons", params)
        persons, rejected = clean_many(list(body.get("persons") or []))
        for person_id, reason in rejected:
            log.warning("register sent an unusable person %s: %s", person_id, reason)
        ttl = self.cache_ttl_s if persons else self.cache_miss_ttl_s
        self.cache.put(key, tuple(persons), ttl)
        return persons

    def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        """One GET within the deadline, retried on 5xx/429; :class:`RegisterUnavailable`
        when it cannot be answered (the breaker counts one failure per call, not per try)."""
        if not self.breaker.allow():
            raise RegisterUnavailable("circuit open (register not asked) / mạch ngắt")
        deadline = self._clock() + self.deadline_s
        attempt = 0
        while True:
            remaining = deadline - self._clock()
            if remaining <= 0:
                self.breaker.failure()
                raise RegisterUnavailable(f"{path}: deadline passed / quá thời hạn")
            timeout = httpx.Timeout(
                min(self._timeout.read or remaining, remaining),
                connect=min(self._timeout.connect or remaining, remaining),
            )
            self.calls += 1
            try:
                resp = self._client.get(path, params=params, timeout=timeout)
            except httpx.HTTPError as exc:  # refused, timed out, TLS: no retry, the desk waits
                self.breaker.failure()
                raise RegisterUnavailable(f"{path}: {type(exc).__name__} {exc}") from exc
            if resp.status_code == 200:
                try:
                    body = resp.json()
                except ValueError as exc:
                    self.breaker.failure()
                    raise RegisterUnavailable(f"{path}: answer is not JSON") from exc
                self.breaker.success()
                return body if isinstance(body, dict) else {}
            retryable = resp.status_code == 429 or resp.status_code >= 500
            wait = retry_after(resp.headers.get("Retry-After"))
            if wait is None:
                wait = self.backoff_s * (2**attempt)
            if not retryable or attempt >= self.retries or self._clock() + wait >= deadline:
                self.breaker.failure()
                raise RegisterUnavailable(
                    f"{path}: HTTP {resp.status_code} after {attempt + 1} tries / "
                    f"sau {attempt + 1} lần"
                )
            attempt += 1
            self._sleep(wait)


def build_register(settings: Settings) -> HttpRegister | None:
    """The remote register ``TIEMCHUNG_REGISTER_URL`` names; ``None`` when it is empty."""
    if not settings.register_url.strip():
        return None
    return HttpRegister.from_settings(settings)
