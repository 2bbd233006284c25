"""`tiemchung serve` on PostgreSQL survives what production does to it (issue 20, "Done when").

* **A database restart** (``pg_ctl restart -m fast``: every connection dropped) while clients
  post doses: the requests it catches are answered 503 with ``Retry-After`` (never a 500);
  the client retries each with the same client UUID, so no acknowledged dose is lost and
  none is stored twice; the server answers again within seconds, without a restart.
* **A worker killed with SIGKILL** under ``--workers 2``: the other worker keeps answering,
  uvicorn starts a new one, and every acknowledged dose is stored exactly once (the requests
  the dead worker held are retried with their client UUID).

Each test runs its own PostgreSQL server (tests/pgserver.py): restarting the suite's shared
one would break every other test's connections.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.factories import PASSWORD, build_seeded_database, payload, world
from tests.pgserver import PostgresServer
from tiemchung.config import Settings
from tiemchung.registry.models import Dose
from tiemchung.store.db import make_engine, make_sessionmaker

pytestmark = pytest.mark.slow


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def worker_pids(parent: int) -> set[int]:
    """The uvicorn worker processes of ``parent`` (spawned: ``spawn_main`` in their command
    line, unlike multiprocessing's resource tracker)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"spawn_main" in cmdline:
            found.add(int(entry.name))
    return found


class Serve:
    """``tiemchung serve --workers N`` as its own process, as an operator runs it."""

    def __init__(self, url: str, data_dir: Path, log: Path, workers: int) -> None:
        self.url, self.data_dir, self.log, self.workers = url, data_dir, log, workers
        self.port = _port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Serve:
        # the token signing secret, as an installation has it (tests/conftest.py's settings)
        Settings(data_dir=self.data_dir, database_url=self.url).token_secret(create=True)
        env = dict(
            os.environ,
            TIEMCHUNG_DATABASE_URL=self.url,
            TIEMCHUNG_DATA_DIR=str(self.data_dir),
            TIEMCHUNG_LOG_LEVEL="WARNING",
        )
        cli = Path(sys.executable).parent / "tiemchung"
        with self.log.open("ab") as fh:
            self.proc = subprocess.Popen(
                [str(cli), "serve", "--port", str(self.port), "--workers", str(self.workers)],
                env=env,
                stdout=fh,
                stderr=subprocess.STDOUT,
            )
        deadline = time.time() + 180  # a busy shared machine starts slowly
        while time.time() < deadline:
            try:
                up = httpx.get(f"{self.base}/api/v1/health", timeout=1).status_code == 200
                if up and len(worker_pids(self.proc.pid)) in (self.workers, 0):
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"serve did not start: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@pytest.fixture
def own_pg(tmp_path: Path) -> Iterator[tuple[PostgresServer, str]]:
    server = PostgresServer().start()
    try:
        url = server.create_database("resilience")
        build_seeded_database(url)
        yield server, url
    finally:
        server.stop()


def _token(base: str) -> dict[str, str]:
    r = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": "site_a1", "password": PASSWORD}, timeout=10
    )
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


class Clients:
    """Threads posting doses, each retried with its own client UUID until it is answered
    2xx or 4xx: after a 503 (checked: a problem document with ``Retry-After``) and after a
    connection the server dropped (a killed worker's)."""

    def __init__(self, base: str, headers: dict[str, str], n: int) -> None:
        self.base, self.headers = base, headers
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.statuses: Counter[int] = Counter()
        self.acked: dict[str, int] = {}  # client UUID -> the 2xx it was answered
        self.retried: set[str] = set()
        self.transport_errors = 0
        self.bad_503: list[str] = []
        self.answers: list[tuple[float, int]] = []  # (time, status) of every answer
        w = world()
        self.threads = [
            threading.Thread(target=self._run, args=(c, w.wards["a1"]), daemon=True)
            for c in range(n)
        ]

    def start(self) -> Clients:
        for t in self.threads:
            t.start()
        return self

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)

    def _run(self, c: int, ward: str) -> None:
        with httpx.Client(base_url=self.base, headers=self.headers, timeout=15) as client:
            i = 0
            while not self.stop.is_set():
                body = payload(None, full_name=f"Khách Bền {c} {i}", ward_code=ward)
                i += 1
                self._send(client, body)

    def _send(self, client: httpx.Client, body: dict[str, Any]) -> None:
        uid = body["client_uuid"]
        deadline = time.time() + 45
        while time.time() < deadline:
            try:
                r = client.post("/api/v1/doses", json=body)
            except httpx.HTTPError:
                with self.lock:
                    self.transport_errors += 1
                    self.retried.add(uid)
                time.sleep(0.2)
                continue
            with self.lock:
                self.statuses[r.status_code] += 1
                self.answers.append((time.time(), r.status_code))
            if r.status_code == 503:
                retry = r.headers.get("retry-after", "")
                if not retry.isdigit() or not r.headers["content-type"].startswith(
                    "application/problem+json"
                ):
                    self.bad_503.append(f"{retry!r} {r.headers['content-type']}")
                with self.lock:
                    self.retried.add(uid)
                time.sleep(min(int(retry or 1), 2) / 4)  # a hurried client: 0.5 s
                continue
            if r.status_code < 300:
                with self.lock:
                    self.acked[uid] = r.status_code
            return
        raise AssertionError(f"dose {uid} never answered within 45 s")

    def count_ok(self) -> int:
        with self.lock:
            return len(self.acked)

    def wait_for(self, n: int, timeout: float = 120) -> None:
        deadline = time.time() + timeout
        while self.count_ok() < n:
            assert time.time() < deadline, f"only {self.count_ok()} doses acknowledged"
            time.sleep(0.05)


def _stored(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            rows = s.execute(select(Dose.client_uuid, func.count()).group_by(Dose.client_uuid))
            return {str(u): n for u, n in rows}
    finally:
        engine.dispose()


def _assert_exactly_once(clients: Clients, url: str) -> dict[str, int]:
    stored = _stored(url)
    missing = [u for u in clients.acked if stored.get(u) != 1]
    assert not missing, f"{len(missing)} acknowledged doses missing or stored twice"
    assert all(n == 1 for n in stored.values()), "a client UUID stored twice"
    return stored


def test_a_database_restart_is_503_then_recovers_and_loses_nothing(
    own_pg: tuple[PostgresServer, str], tmp_path: Path
) -> None:
    pg, url = own_pg
    serve = Serve(url, tmp_path / "data", tmp_path / "serve.log", workers=1).start()
    try:
        clients = Clients(serve.base, _token(serve.base), 4).start()
        clients.wait_for(150)
        restarted_at = time.time()
        pg.restart()  # every connection dropped, mid-stream
        back_at = time.time()
        clients.wait_for(clients.count_ok() + 150, timeout=60)
        clients.join()
        # the same process answers (no restart of the server)
        assert serve.proc is not None and serve.proc.poll() is None
    finally:
        serve.stop()

    log = (tmp_path / "serve.log").read_text(errors="replace")
    assert clients.statuses[503] >= 1, (clients.statuses, "the restart caught no request")
    assert not clients.bad_503, clients.bad_503
    server_errors = {s: n for s, n in clients.statuses.items() if s >= 500 and s != 503}
    assert not server_errors, (server_errors, log[-3000:])
    assert clients.transport_errors == 0, log[-3000:]
    # recovered within seconds of the database being back: the first 2xx after it
    first_ok = min(t for t, s in clients.answers if t >= back_at and s < 300)
    assert first_ok - back_at < 10, first_ok - back_at
    assert back_at - restarted_at < 30
    stored = _assert_exactly_once(clients, url)
    # a retried dose settled as 201 (not committed before) or 200 (it had been): stored once
    assert clients.retried and all(stored.get(u) == 1 for u in clients.retried)
    assert "Traceback" not in log, log[-3000:]


def test_a_worker_killed_mid_load_is_replaced_and_loses_nothing(
    own_pg: tuple[PostgresServer, str], tmp_path: Path
) -> None:
    _pg, url = own_pg
    serve = Serve(url, tmp_path / "data", tmp_path / "serve.log", workers=2).start()
    assert serve.proc is not None
    try:
        before = worker_pids(serve.proc.pid)
        assert len(before) == 2, before
        clients = Clients(serve.base, _token(serve.base), 4).start()
        clients.wait_for(150)
        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        killed_at = time.time()
        # the other worker keeps answering at once (the listening socket is shared)
        clients.wait_for(clients.count_ok() + 20, timeout=15)
        # and uvicorn's supervisor starts a new worker in the dead one's place
        deadline = time.time() + 30
        after = worker_pids(serve.proc.pid)
        while (len(after) != 2 or victim in after) and time.time() < deadline:
            time.sleep(0.2)
            after = worker_pids(serve.proc.pid)
        assert len(after) == 2 and victim not in after, (before, after)
        new = after - before
        assert len(new) == 1
        clients.wait_for(clients.count_ok() + 150, timeout=60)
        clients.join()
        answered_after = [t for t, s in clients.answers if t > killed_at and s < 300]
        assert answered_after, "nothing answered after the kill"
        assert serve.proc.poll() is None  # the supervisor itself never went down
        assert set(worker_pids(serve.proc.pid)) == after  # and the new worker stayed up
    finally:
        serve.stop()
    server_errors = {s: n for s, n in clients.statuses.items() if s >= 500}
    assert not server_errors, server_errors
    _assert_exactly_once(clients, url)
