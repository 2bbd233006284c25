"""The statistics service the page, the API and the CLI share: the current snapshot, kept fresh.

Freshness policy: with no snapshot yet, a request starts the first one in a background thread
and waits for it up to ``first_wait`` (``TIEMCHUNG_STATS_FIRST_WAIT_SECONDS``, default 20 s:
a province's first snapshot is ready by then; the whole country's takes minutes), then is told
to come back (:class:`SnapshotPendingError`: HTTP 503 with ``Retry-After``; the page says the
figures are being prepared and reloads itself). After that a request finding the snapshot
older than ``max_age`` (``TIEMCHUNG_STATS_MAX_AGE_SECONDS``, default 600 s) starts a refresh in
a background thread and is answered from the snapshot it has, so no request waits for a
refresh. ``tiemchung stats refresh`` takes one now (for cron).
The answer always carries ``built_at``: the page prints "số liệu lúc …".
"""

from __future__ import annotations

import json
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import Engine

from tiemchung.registry.errors import FieldProblem, ServiceError
from tiemchung.stats import snapshot as snap

#: seconds a client is told to wait before asking again while the first snapshot is built
RETRY_AFTER = 15


class SnapshotPendingError(ServiceError):
    """No snapshot yet and the first one is still being built (HTTP 503, ``Retry-After``)."""

    retry_after = RETRY_AFTER

    def __init__(self) -> None:
        super().__init__(
            503,
            "Statistics not ready / Số liệu chưa sẵn sàng",
            [
                FieldProblem(
                    "snapshot",
                    "snapshot_pending",
                    "Đang tạo số liệu thống kê lần đầu; vui lòng thử lại sau ít phút",
                    "the first statistics snapshot is being built; try again in a few minutes",
                )
            ],
        )


@dataclass
class Snapshot:
    path: Path
    con: duckdb.DuckDBPyConnection
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def built_at(self) -> datetime:
        return datetime.fromisoformat(str(self.meta["built_at"]))

    def age_seconds(self) -> float:
        return (datetime.now(UTC) - self.built_at).total_seconds()


def open_snapshot(path: Path) -> Snapshot:
    con = duckdb.connect(str(path), read_only=True)
    meta = {k: json.loads(v) for k, v in con.execute("SELECT key, value FROM meta").fetchall()}
    return Snapshot(path, con, meta)


class StatsService:
    """One per platform: opens the current snapshot and refreshes it when stale."""

    def __init__(
        self,
        engine: Engine,
        data_dir: Path,
        *,
        max_age: float | None = None,
        first_wait: float | None = None,
    ) -> None:
        self.engine = engine
        self.data_dir = Path(data_dir)
        self.max_age = (
            max_age
            if max_age is not None
            else float(os.environ.get("TIEMCHUNG_STATS_MAX_AGE_SECONDS", "600"))
        )
        self.first_wait = (
            first_wait
            if first_wait is not None
            else float(os.environ.get("TIEMCHUNG_STATS_FIRST_WAIT_SECONDS", "20"))
        )
        self._snap: Snapshot | None = None
        self._mutex = threading.Lock()
        self._refreshing: threading.Thread | None = None
        self.last_error: str | None = None

    def refresh(self) -> Snapshot:
        """Take a snapshot now (waiting for one already running) and make it current."""
        snap.refresh(self.engine, self.data_dir, wait=True)
        return self._load(force=True)

    def _load(self, *, force: bool = False) -> Snapshot:
        path = snap.current(self.data_dir)
        with self._mutex:
            if self._snap is not None and self._snap.path == path and not force:
                return self._snap
            if path is None:
                raise FileNotFoundError("no statistics snapshot yet")
            if self._snap is None or self._snap.path != path:
                self._snap = open_snapshot(path)  # the old one is closed when unreferenced
            return self._snap

    def current(self) -> Snapshot:
        """The newest snapshot; starts a refresh when stale. With none yet, the first one is
        built in the background and waited for up to ``first_wait`` seconds; raises
        :class:`SnapshotPendingError` when it is not ready by then."""
        if snap.current(self.data_dir) is None:
            self.start_refresh()
            worker = self._refreshing
            if worker is not None:
                worker.join(self.first_wait)
            if snap.current(self.data_dir) is None:
                if worker is not None and not worker.is_alive() and self.last_error:
                    raise RuntimeError(f"the statistics snapshot failed: {self.last_error}")
                raise SnapshotPendingError()  # still building here, or in another process
        s = self._load()
        if s.age_seconds() > self.max_age:
            self.start_refresh()
        return s

    def start_refresh(self) -> None:
        with self._mutex:
            if self._refreshing is not None and self._refreshing.is_alive():
                return

            def run() -> None:
                try:
                    if snap.refresh(self.engine, self.data_dir, wait=False) is not None:
                        self._load()
                    self.last_error = None
                except Exception as exc:
                    self.last_error = f"{type(exc).__name__}: {exc}"

            self._refreshing = threading.Thread(target=run, name="stats-refresh", daemon=True)
            self._refreshing.start()

    def join(self, timeout: float | None = 120.0) -> None:
        """Wait for a background refresh to end: a DuckDB build still running when the
        interpreter exits aborts the process ("FATAL: exception not rethrown")."""
        worker = self._refreshing
        if worker is not None and worker.is_alive():
            worker.join(timeout)

    @property
    def refreshing(self) -> bool:
        return self._refreshing is not None and self._refreshing.is_alive()

    @contextmanager
    def cursor(self) -> Iterator[tuple[duckdb.DuckDBPyConnection, Snapshot]]:
        """A cursor of the current snapshot for one request (DuckDB cursors are per thread)."""
        s = self.current()
        cur = s.con.cursor()
        try:
            yield cur, s
        finally:
            cur.close()


_SERVICES: weakref.WeakKeyDictionary[Any, StatsService] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def stats_for(platform: Any) -> StatsService:
    """The platform's statistics service (made on first use)."""
    with _LOCK:
        svc = _SERVICES.get(platform)
        if svc is None:
            svc = StatsService(platform.engine, Path(platform.settings.data_dir))
            _SERVICES[platform] = svc
            on_close = getattr(platform, "on_close", None)
            if on_close is not None:
                on_close(svc.join)
        return svc


def wait_refreshed(svc: StatsService, timeout: float = 60.0) -> None:
    """Wait for a background refresh to end (tests, the CLI)."""
    t0 = time.monotonic()
    while svc.refreshing and time.monotonic() - t0 < timeout:
        time.sleep(0.05)
