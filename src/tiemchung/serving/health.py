"""Readiness: may this process take traffic? The database answers, its schema is the code's,
the certificate signing keys load and the writer thread every write waits for is alive.

Shared by ``GET /api/v1/health/ready`` and anything else that asks (a load balancer polls it
every few seconds, so each check is cheap: one one-row query, three small files, a thread
flag). The database check is time-bounded: a hung PostgreSQL (a full disk, a stopped
process, a lost network) must turn the probe to 503 within about two seconds, not hold the
probe's connection forever — a balancer that gets no answer keeps sending traffic.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from weakref import WeakKeyDictionary

from sqlalchemy import Engine

from tiemchung.certificates.keys import KeysMissingError
from tiemchung.core import Platform
from tiemchung.registry.errors import FieldProblem
from tiemchung.store import migrate

#: A probe thread still stuck after this long is abandoned and a new one started, so that a
#: database that hung once and came back is seen again (at most one thread per this period
#: is ever left behind while the database stays hung).
STUCK_AFTER_S = 30.0


@dataclass
class Readiness:
    """Each check's state (``ok`` or what is wrong) and the failures as problems."""

    checks: dict[str, str] = field(default_factory=dict)
    problems: list[FieldProblem] = field(default_factory=list)
    migration: str | None = None
    migration_head: str = ""

    @property
    def ready(self) -> bool:
        return not self.problems


class _RevisionProbe:
    """Reads the stored migration revision on a thread of its own, for a caller that waits
    a bounded time. Concurrent callers share one running read (a hung database costs one
    thread, not one per poll)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # by engine, forgotten with it (a test run builds hundreds of platforms)
        self._running: WeakKeyDictionary[Engine, tuple[float, Future[str | None]]] = (
            WeakKeyDictionary()
        )

    def read(self, engine: Engine) -> Future[str | None]:
        with self._lock:
            entry = self._running.get(engine)
            now = time.monotonic()
            if entry is None or entry[1].done() or now - entry[0] > STUCK_AFTER_S:
                fut: Future[str | None] = Future()
                self._running[engine] = (now, fut)
                threading.Thread(
                    target=_run_read, args=(engine, fut), name="tiemchung-health", daemon=True
                ).start()
            else:
                fut = entry[1]
        return fut


def _run_read(engine: Engine, fut: Future[str | None]) -> None:
    if not fut.set_running_or_notify_cancel():
        return
    try:
        fut.set_result(migrate.stored_revision(engine))
    except BaseException as exc:  # the waiter reports it; nothing here may escape a thread
        fut.set_exception(exc)


_PROBE = _RevisionProbe()


def database_revision(platform: Platform, timeout: float) -> tuple[str | None, str]:
    """The stored revision and ``ok``, or ``None`` and what went wrong (``timeout`` when the
    database did not answer in time, else the driver error's class name)."""
    fut = _PROBE.read(platform.engine)
    try:
        return fut.result(timeout), "ok"
    except FutureTimeout:
        return None, "timeout"
    except Exception as exc:
        return None, f"error: {type(exc).__name__}"


def keys_state(platform: Platform) -> str:
    """``ok`` when the current document signer and its private key load (what every
    certificate is signed with); ``missing`` or ``unreadable`` otherwise."""
    try:
        platform.keys.signer  # noqa: B018 - reading it is the check
    except KeysMissingError:
        return "missing"
    except Exception as exc:  # a file removed, unreadable, corrupt: the desk cannot sign
        return f"unreadable: {type(exc).__name__}"
    return "ok"


def readiness(platform: Platform) -> Readiness:
    """Every check, each named with its failure in Vietnamese and English."""
    out = Readiness(migration_head=migrate.head_revision())
    revision, database = database_revision(platform, platform.settings.health_timeout_s)
    out.migration = revision
    out.checks["database"] = database
    if database != "ok":
        out.problems.append(
            FieldProblem(
                "database",
                "database_unavailable",
                f"Cơ sở dữ liệu không trả lời ({database})",
                f"the database does not answer ({database})",
            )
        )
        out.checks["migrations"] = "unknown"
    elif revision != out.migration_head:
        out.checks["migrations"] = "behind"
        out.problems.append(
            FieldProblem(
                "migrations",
                "migrations_not_at_head",
                f"Cơ sở dữ liệu ở phiên bản {revision}, mã cần {out.migration_head}: "
                "hãy chạy `tiemchung init`",
                f"the database is at revision {revision}, the code needs "
                f"{out.migration_head}: run `tiemchung init`",
            )
        )
    else:
        out.checks["migrations"] = "ok"
    keys = keys_state(platform)
    out.checks["keys"] = keys
    if keys != "ok":
        out.problems.append(
            FieldProblem(
                "keys",
                "signing_keys_unavailable",
                f"Không đọc được khoá ký chứng nhận ({keys}): `tiemchung keys init`",
                f"the certificate signing keys cannot be read ({keys}): `tiemchung keys init`",
            )
        )
    alive = platform.writer.alive()
    out.checks["writer"] = "ok" if alive else "stopped"
    if not alive:
        out.problems.append(
            FieldProblem(
                "writer",
                "writer_stopped",
                "Luồng ghi dữ liệu đã dừng: mọi lần ghi sẽ chờ mãi",
                "the writer thread has stopped: every write would wait forever",
            )
        )
    return out
