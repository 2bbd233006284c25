"""The server's export worker: one thread that runs the bulk exports (``$export``) one after
another, and deletes the expired ones with their files.

One thread, as the import worker (``registry/imports/runner.py``): an export is CPU-bound
Python and the desk and the API need the other core. Nothing is lost across a crash: at
start, every job ``queued`` or left ``running`` is queued again (its files are written anew).
A job cancelled while it runs (its row deleted by ``DELETE`` of its status URL) is seen at the
next chunk: the thread stops and removes what it wrote.
"""

from __future__ import annotations

import logging
import queue
import threading
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from tiemchung.fhir import codes
from tiemchung.fhir.bulk import ExportCancelledError, export_files
from tiemchung.registry.exports import jobs

log = logging.getLogger(__name__)

#: how often the idle thread looks for expired jobs (seconds)
EXPIRY_CHECK_S = 300.0
#: progress is written (and a cancellation seen) at most this often, in resources
PROGRESS_EVERY = 20_000


def run_export_job(
    sessions: sessionmaker[Session],
    job_id: int,
    *,
    expiry_hours: float,
    stop: threading.Event | None = None,
    sy: codes.Systems | None = None,
) -> str | None:
    """Run one job to its end; its status afterwards (``done``, ``failed``), ``running`` when
    the server stopped it (it runs again at the next start), None when cancelled or gone."""
    with sessions() as s:
        job = jobs.start_job(s, job_id)
        if job is None:
            return None
        scope, folder, types = jobs.job_scope(job), Path(job.folder), list(job.types)
    written = 0
    last = 0

    def progress(n: int) -> None:
        nonlocal written, last
        written += n
        if stop is not None and stop.is_set():
            raise InterruptedError
        if written - last >= PROGRESS_EVERY:
            last = written
            with sessions() as p:
                if not jobs.set_written(p, job_id, written):
                    raise ExportCancelledError

    try:
        jobs.remove_files(str(folder))  # a crashed run's partial files
        output = export_files(sessions, scope, types, folder, progress, sy)
    except ExportCancelledError:
        jobs.remove_files(str(folder))
        return None
    except InterruptedError:
        return jobs.RUNNING
    except Exception as exc:
        log.exception("export job %s failed", job_id)
        jobs.remove_files(str(folder))
        with sessions() as s:
            jobs.fail_job(s, job_id, exc, expiry_hours)
        return jobs.FAILED
    with sessions() as s:
        if not jobs.finish_job(s, job_id, output, expiry_hours):
            jobs.remove_files(str(folder))  # cancelled as it ended
            return None
    return jobs.DONE


class ExportRunner:
    """A queue of job ids and the thread that runs them (and expires the old ones)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        expiry_hours: float,
        sy: codes.Systems | None = None,
    ) -> None:
        self.sessions = sessions
        self.expiry_hours = expiry_hours
        self.sy = sy
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> ExportRunner:
        """Queue the jobs a previous process left and start the thread (once)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return self
            self._stop.clear()
            self._queue = queue.Queue()
            with self.sessions() as s:
                jobs.expire_jobs(s)
                left = jobs.pending_jobs(s)
            for job_id in left:
                self._queue.put(job_id)
            if left:
                log.info("export jobs picked up at start: %s", left)
            self._thread = threading.Thread(target=self._run, name="export-jobs", daemon=True)
            self._thread.start()
        return self

    def submit(self, job_id: int) -> None:
        self._queue.put(job_id)
        self.start()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until every queued job has run (tests); False on a timeout."""
        done = threading.Event()

        def waiter() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=waiter, daemon=True).start()
        return done.wait(timeout)

    def stop(self, timeout: float | None = 60.0) -> None:
        thread = self._thread
        if thread is None:
            return
        self._stop.set()
        self._queue.put(None)
        thread.join(timeout)

    def _run(self) -> None:
        while True:
            try:
                job_id = self._queue.get(timeout=EXPIRY_CHECK_S)
            except queue.Empty:
                self._expire()
                continue
            try:
                if job_id is None or self._stop.is_set():
                    return
                run_export_job(
                    self.sessions,
                    job_id,
                    expiry_hours=self.expiry_hours,
                    stop=self._stop,
                    sy=self.sy,
                )
            except Exception:  # a job's own failure is recorded; keep serving
                log.exception("export job %s could not be run", job_id)
            finally:
                self._queue.task_done()

    def _expire(self) -> None:
        try:
            with self.sessions() as s:
                jobs.expire_jobs(s)
        except Exception:
            log.exception("expired export jobs could not be removed")


_RUNNERS: weakref.WeakKeyDictionary[Any, ExportRunner] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def runner_for(platform: Any) -> ExportRunner:
    """The platform's export runner (made on first use; stopped when the platform closes)."""
    with _LOCK:
        runner = _RUNNERS.get(platform)
        if runner is None:
            runner = ExportRunner(
                platform.sessions,
                platform.settings.export_expiry_hours,
                codes.systems(platform.settings.fhir_system_base),
            )
            _RUNNERS[platform] = runner
            on_close = getattr(platform, "on_close", None)
            if on_close is not None:
                on_close(runner.stop)
        return runner
