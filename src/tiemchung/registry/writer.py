"""One writer thread with group commit: many requests' writes, one durable commit.

Every write of the server goes through here. Each queued job runs in its own SAVEPOINT, so a
job that breaks a rule rolls back alone; the batch then commits once (one fsync for SQLite
with ``synchronous=FULL``, one WAL flush for PostgreSQL). A caller's future resolves only
after that commit, so an HTTP 2xx is never sent for a write that is not durable — the property
the crash test checks. If the commit itself fails, every job of the batch gets the error.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")
log = logging.getLogger(__name__)

_STOP = object()


class Writer:
    """Serialises writes onto one connection and commits them in groups."""

    def __init__(self, sessions: sessionmaker[Session], *, max_batch: int = 512) -> None:
        self._sessions = sessions
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="tiemchung-writer", daemon=True)
        self._started = False
        self.batches = 0
        self.jobs = 0

    def start(self) -> Writer:
        if not self._started:
            self._started = True
            self._thread.start()
        return self

    def submit(self, job: Callable[[Session], T]) -> Future[T]:
        """Queue ``job(session)``; the future resolves after its batch is committed."""
        fut: Future[T] = Future()
        self._queue.put((job, fut))
        return fut

    def run(self, job: Callable[[Session], T], timeout: float | None = 60) -> T:
        """Blocking form of :meth:`submit` for synchronous callers."""
        return self.submit(job).result(timeout)

    def stop(self) -> None:
        if self._started:
            self._queue.put(_STOP)
            self._thread.join(timeout=30)
            self._started = False

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            stop_after = False
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop_after = True
                    break
                batch.append(item)
            self._commit_batch(batch)
            if stop_after:
                return

    def _commit_batch(self, batch: list[tuple[Callable[[Session], Any], Future[Any]]]) -> None:
        done: list[tuple[Future[Any], bool, Any]] = []
        try:
            with self._sessions() as session:
                session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
                for job, fut in batch:
                    if not fut.set_running_or_notify_cancel():
                        continue
                    savepoint = session.begin_nested()
                    try:
                        result = job(session)
                        savepoint.commit()
                        done.append((fut, True, result))
                    except Exception as exc:  # a job's failure is that caller's answer
                        savepoint.rollback()
                        done.append((fut, False, exc))
                session.commit()
        except Exception as exc:
            log.exception("group commit failed; %d writes not saved", len(batch))
            for _job, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
            return
        self.batches += 1
        self.jobs += len(done)
        for fut, ok, value in done:
            if ok:
                fut.set_result(value)
            else:
                fut.set_exception(value)
