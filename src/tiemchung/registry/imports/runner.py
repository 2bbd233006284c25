"""The server's import worker: one thread that runs the uploaded jobs (``jobs.run_job``) one
after another, off the group-commit writer that the desk's doses wait for.

One thread, not one per job: an import is CPU-bound Python and the machine's other work (the
desk, the API) needs the rest. The thread commits per chunk on its own sessions; the progress
figure is written between chunks. Nothing is lost across a crash or a stop:

* :meth:`ImportRunner.start` queues every job ``queued`` or left ``running`` (the import is
  idempotent: rows a first run stored are skipped), so the server picks them up at start;
* :meth:`ImportRunner.stop` (the platform closing) asks the running job to stop after its
  current chunk; it stays ``running`` and runs again at the next start.

The server starts the platform's runner (``server.create_app``); the routes hand it new jobs
through :func:`runner_for`. One server process per database runs the jobs (a second process
would pick up the first's running job at its start).
"""

from __future__ import annotations

import logging
import queue
import threading
import weakref
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from tiemchung.registry.imports.jobs import pending_jobs, run_job

log = logging.getLogger(__name__)


class ImportRunner:
    """A queue of job ids and the thread that runs them."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> ImportRunner:
        """Queue the jobs a previous process left (queued or running) and start the thread;
        starting a running runner again changes nothing."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return self
            self._stop.clear()
            self._queue = queue.Queue()  # a stopped runner's leftovers: the store says more
            with self.sessions() as s:
                left = pending_jobs(s)
            for job_id in left:
                self._queue.put(job_id)
            if left:
                log.info("import jobs picked up at start: %s", left)
            self._thread = threading.Thread(target=self._run, name="import-jobs", daemon=True)
            self._thread.start()
        return self

    def submit(self, job_id: int) -> None:
        """Run ``job_id`` after the jobs already queued (the thread starts if it is not)."""
        self._queue.put(job_id)
        self.start()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until every queued job has run (tests, the CLI); False on a timeout."""
        done = threading.Event()

        def waiter() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=waiter, daemon=True).start()
        return done.wait(timeout)

    def stop(self, timeout: float | None = 60.0) -> None:
        """Stop after the running job's current chunk (it runs again at the next start)."""
        thread = self._thread
        if thread is None:
            return
        self._stop.set()
        self._queue.put(None)
        thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while True:
            job_id = self._queue.get()
            try:
                if job_id is None or self._stop.is_set():
                    return
                run_job(self.sessions, job_id, stop=self._stop)
            except Exception:  # a job's own failure is recorded by run_job; keep serving
                log.exception("import job %s could not be run", job_id)
            finally:
                self._queue.task_done()


_RUNNERS: weakref.WeakKeyDictionary[Any, ImportRunner] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def runner_for(platform: Any) -> ImportRunner:
    """The platform's import runner (made on first use; stopped when the platform closes)."""
    with _LOCK:
        runner = _RUNNERS.get(platform)
        if runner is None:
            runner = ImportRunner(platform.sessions)
            _RUNNERS[platform] = runner
            on_close = getattr(platform, "on_close", None)
            if on_close is not None:
                on_close(runner.stop)
        return runner
