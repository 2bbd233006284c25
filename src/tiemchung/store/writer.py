"""One writer thread with group commit: many requests' writes, one durable commit.

Every write of the server goes through here. Each queued job runs in its own SAVEPOINT, so a
job that breaks a rule rolls back alone; the batch then commits once (one fsync for SQLite
with ``synchronous=FULL``, one WAL flush for PostgreSQL). Items queued with
:meth:`Writer.submit_item` for the same handler are also *executed* together — concurrent
single-dose requests become one set-based call — and are retried one by one if that call
fails. A caller's future resolves only after that commit, so an HTTP 2xx is never sent for a
write that is not durable — the property the crash test checks. If the commit itself fails,
every job of the batch gets the error — :class:`~tiemchung.store.db.DatabaseUnavailableError` when
the connection was lost or the database is down (a restart), which the API answers 503 with
``Retry-After``: such a group is never acknowledged and never retried here (its COMMIT may or
may not have landed; the client's retry with the same client UUID settles which). The next
group takes a fresh connection (``pool_pre_ping``), so the writer recovers by itself.

Several server processes (``tiemchung serve --workers N``) each have a writer. Their
transactions are serialised all the same — SQLite by ``BEGIN IMMEDIATE``, PostgreSQL by a
transaction-level advisory lock taken first (:data:`WRITER_LOCK`) — so the checks a job makes
before writing (is this UUID stored? is dose 1 recorded?) still see every committed write of
every process: what the workers run in parallel is HTTP, validation and serialisation.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from tiemchung.store.db import DatabaseUnavailableError, is_unavailable

T = TypeVar("T")

#: A handler takes many queued items and returns one result per item, in order.
BatchHandler = Callable[[Session, list[Any]], list[Any]]
log = logging.getLogger(__name__)

_STOP = object()

#: The advisory lock key every writer transaction takes on PostgreSQL ('tiemchung' in ASCII).
WRITER_LOCK = 0x7469656D6368756E
#: Taken first in every writer transaction, in the same round trip: the lock, and JIT
#: compilation off for the transaction. The writer runs short keyed statements; when the
#: statistics of a fast-growing table lag behind, the planner costs their index probes
#: high enough to JIT-compile them, which took 400 ms of a 60 ms batch (registry/doses/record.py).
_LOCK = text("SELECT pg_advisory_xact_lock(:key), set_config('jit', 'off', true)")


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
        #: Called with each committed batch's size, on the writer thread (the metrics'
        #: group-commit histogram, serving/metrics.py); the store imports no monitoring.
        self.on_batch: Callable[[int], None] | None = None

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

    def submit_item(self, handler: BatchHandler, item: Any) -> Future[Any]:
        """Queue ``item`` for ``handler``; consecutive items of one handler run in one call."""
        fut: Future[Any] = Future()
        self._queue.put((_Item(handler, item), fut))
        return fut

    def run(self, job: Callable[[Session], T], timeout: float | None = 60) -> T:
        """Blocking form of :meth:`submit` for synchronous callers."""
        return self.submit(job).result(timeout)

    def alive(self) -> bool:
        """Whether the thread every write waits for is running (readiness checks it: a
        dead writer leaves every write hanging while reads still answer)."""
        return self._thread.is_alive()

    def queue_depth(self) -> int:
        """Writes queued and not yet taken into a batch (approximate, as the queue is)."""
        return self._queue.qsize()

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

    def _commit_batch(self, batch: list[tuple[Any, Future[Any]]]) -> None:
        live = [(job, fut) for job, fut in batch if fut.set_running_or_notify_cancel()]
        done: list[tuple[Future[Any], bool, Any]] = []
        invalidated = False
        try:
            with self._sessions() as session:
                conn = session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
                try:
                    if conn.dialect.name == "postgresql":
                        conn.execute(_LOCK, {"key": WRITER_LOCK})
                    for group in _groups(live):
                        if isinstance(group[0][0], _Item):
                            done.extend(self._run_items(session, group))
                        else:
                            job, fut = group[0]
                            done.append(_in_savepoint(session, job, fut))
                    session.commit()
                except Exception:
                    invalidated = conn.invalidated  # read before the session closes it
                    raise
        except Exception as exc:
            answer: Exception = exc
            # A job that lost the connection is answered as that job's failure and its
            # savepoint "rolled back" on the dead connection; the COMMIT then raises only
            # SQLAlchemy's PendingRollbackError. The lost connection is the cause all the same.
            lost = invalidated or any(not ok and is_unavailable(value) for _fut, ok, value in done)
            if lost or is_unavailable(exc):
                log.warning(
                    "group commit failed, the database is unreachable; %d writes not "
                    "acknowledged: %s",
                    len(batch),
                    type(exc).__name__,
                )
                answer = DatabaseUnavailableError("the database is unreachable")
                answer.__cause__ = exc
            else:
                log.exception("group commit failed; %d writes not saved", len(batch))
            for _job, fut in batch:
                if not fut.done():
                    fut.set_exception(answer)
            return
        self.batches += 1
        self.jobs += len(done)
        if self.on_batch is not None:
            try:
                self.on_batch(len(done))
            except Exception:  # monitoring never fails a committed batch
                log.exception("the writer's batch observer failed")
        for fut, ok, value in done:
            if ok:
                fut.set_result(value)
            else:
                fut.set_exception(value)

    @staticmethod
    def _run_items(
        session: Session, group: list[tuple[Any, Future[Any]]]
    ) -> list[tuple[Future[Any], bool, Any]]:
        handler = group[0][0].handler
        items = [job.item for job, _ in group]
        savepoint = session.begin_nested()
        try:
            results = handler(session, items)
            savepoint.commit()
            return [(fut, True, r) for (_, fut), r in zip(group, results, strict=True)]
        except Exception as exc:
            savepoint.rollback()
            if len(group) == 1:
                return [(group[0][1], False, exc)]
        # The grouped call failed: run each item alone so one bad item fails alone.
        return [
            _in_savepoint(session, partial(_alone, handler, job.item), fut) for job, fut in group
        ]


class _Item:
    __slots__ = ("handler", "item")

    def __init__(self, handler: BatchHandler, item: Any) -> None:
        self.handler, self.item = handler, item


def _groups(live: list[tuple[Any, Future[Any]]]) -> list[list[tuple[Any, Future[Any]]]]:
    """Consecutive items of one handler form a group; every plain job is a group of one."""
    groups: list[list[tuple[Any, Future[Any]]]] = []
    for entry in live:
        job = entry[0]
        last = groups[-1][0][0] if groups else None
        if isinstance(job, _Item) and isinstance(last, _Item) and last.handler is job.handler:
            groups[-1].append(entry)
        else:
            groups.append([entry])
    return groups


def _alone(handler: BatchHandler, item: Any, session: Session) -> Any:
    """One item through a batch handler, as a batch of one."""
    return handler(session, [item])[0]


def _in_savepoint(
    session: Session, job: Callable[[Session], Any], fut: Future[Any]
) -> tuple[Future[Any], bool, Any]:
    savepoint = session.begin_nested()
    try:
        result = job(session)
        savepoint.commit()
        return (fut, True, result)
    except Exception as exc:  # a job's failure is that caller's answer
        savepoint.rollback()
        return (fut, False, exc)
