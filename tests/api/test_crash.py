"""Crash test: a real server receiving doses is killed with SIGKILL mid-stream.

After a restart, every dose that got a 2xx is stored exactly once, none that was refused is
stored, and the ones whose answer was lost in the crash are settled by retrying with the same
client UUID (200 if it had been committed, 201 if not) — never stored twice.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.factories import PASSWORD, payload, world
from tiemchung.config import Settings
from tiemchung.registry.models import Dose
from tiemchung.store.db import make_engine, make_sessionmaker

pytestmark = pytest.mark.slow


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, settings: Settings, log: Path) -> None:
        self.settings, self.log, self.port = settings, log, _port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        env = dict(
            os.environ,
            TIEMCHUNG_DATABASE_URL=self.settings.resolved_database_url,
            TIEMCHUNG_DATA_DIR=str(self.settings.data_dir),
        )
        with self.log.open("ab") as fh:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "tiemchung.server:create_app",
                    "--factory",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--no-access-log",
                ],
                env=env,
                stdout=fh,
                stderr=subprocess.STDOUT,
            )
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if httpx.get(f"{self.base}/api/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def _token(base: str) -> dict[str, str]:
    r = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": "site_a1", "password": PASSWORD}, timeout=10
    )
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _stream(
    base: str,
    headers: dict[str, str],
    outcomes: dict[str, tuple[str, dict]],
    bodies: list[dict[str, Any]],
    stop: threading.Event,
) -> None:
    with httpx.Client(base_url=base, headers=headers, timeout=5) as client:
        for body in bodies:
            if stop.is_set():
                return
            try:
                r = client.post("/api/v1/doses", json=body)
                kind = (
                    "ok"
                    if r.status_code < 300
                    else "refused"
                    if r.status_code < 500
                    else ("unknown")
                )
            except httpx.HTTPError:
                kind = "unknown"
            outcomes[body["client_uuid"]] = (kind, body)
            if kind == "unknown":  # the server is gone: stop this client
                return


def test_sigkill_mid_stream_loses_nothing_and_duplicates_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    w = world()
    server = Server(settings, tmp_path / "server.log").start()
    headers = _token(server.base)
    outcomes: dict[str, tuple[str, dict]] = {}
    stop = threading.Event()
    clients = []
    for c in range(4):
        bodies = []
        for i in range(5000):
            extra = {"lot_number": "NOPE"} if i % 10 == 3 else {}  # refused: must never appear
            bodies.append(
                payload(None, full_name=f"Khách Thử {c} {i}", ward_code=w.wards["a1"], **extra)
            )
        clients.append(
            threading.Thread(
                target=_stream, daemon=True, args=(server.base, headers, outcomes, bodies, stop)
            )
        )
    for t in clients:
        t.start()
    deadline = time.time() + 60
    while sum(k == "ok" for k, _ in list(outcomes.values())) < 300 and time.time() < deadline:
        time.sleep(0.01)
    server.kill()  # SIGKILL while the clients are still sending
    for t in clients:
        t.join(15)
    stop.set()

    ok = {u for u, (k, _) in outcomes.items() if k == "ok"}
    refused = {u for u, (k, _) in outcomes.items() if k == "refused"}
    lost = {u for u, (k, _) in outcomes.items() if k == "unknown"}
    assert len(ok) >= 300 and refused, (len(ok), len(refused))

    engine = make_engine(settings.resolved_database_url)
    try:
        with make_sessionmaker(engine)() as s:
            stored = dict(
                s.execute(select(Dose.client_uuid, func.count()).group_by(Dose.client_uuid)).all()
            )
    finally:
        engine.dispose()
    stored_str = {str(k): v for k, v in stored.items()}
    assert all(stored_str.get(u) == 1 for u in ok), "a dose answered 2xx is missing"
    assert not refused & stored_str.keys(), "a refused dose was stored"
    assert set(stored_str) <= ok | lost, "a dose nobody sent was stored"
    assert all(v == 1 for v in stored_str.values())

    server = Server(settings, tmp_path / "server2.log").start()
    try:
        with httpx.Client(base_url=server.base, headers=_token(server.base), timeout=10) as c:
            for u in lost:
                body = outcomes[u][1]
                expected = 200 if u in stored_str else 422 if body["lot_number"] == "NOPE" else 201
                r = c.post("/api/v1/doses", json=body)
                assert r.status_code == expected, r.text
            sample = next(iter(ok))
            assert c.post("/api/v1/doses", json=outcomes[sample][1]).status_code == 200
            fresh = payload(
                None, full_name="Sau Sự Cố", ward_code=w.wards["a1"], client_uuid=str(uuid.uuid4())
            )
            assert c.post("/api/v1/doses", json=fresh).status_code == 201
    finally:
        server.stop()
    engine = make_engine(settings.resolved_database_url)
    try:
        with make_sessionmaker(engine)() as s:
            total = s.scalar(select(func.count()).select_from(Dose))
            distinct = s.scalar(select(func.count(func.distinct(Dose.client_uuid))))
    finally:
        engine.dispose()
    valid_lost = {u for u in lost if outcomes[u][1]["lot_number"] != "NOPE"}
    assert total == distinct == len(ok) + len(valid_lost) + 1
