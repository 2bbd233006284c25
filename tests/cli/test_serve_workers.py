"""`tiemchung serve --workers 2` as a real process on SQLite and on PostgreSQL: the throttles
hold their limit across both workers, no worker logs an ID number, a name or a SQL parameter
in clear (not even in a traceback), and every line of a request carries its request id.

Which worker served a request is read from the JSON log: the access line with the request's
id (echoed in ``X-Request-ID``) gives the worker's pid."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.factories import PASSWORD
from tiemchung.config import Settings

pytestmark = pytest.mark.slow

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """The running server: its base URL and its log, read as JSON lines."""

    def __init__(self, base: str, log: Path) -> None:
        self.base, self.log = base, log

    def lines(self) -> list[dict[str, Any]]:
        time.sleep(0.3)  # the workers' last lines reach the file
        found = []
        for line in self.log.read_text(encoding="utf-8").splitlines():
            if line.startswith("{"):
                found.append(json.loads(line))
        return found

    def pid_of(self, request_id: str) -> int:
        """The pid of the worker that served the request (from its access line)."""
        for _ in range(20):
            for line in self.lines():
                if line["logger"] == "tiemchung.access" and line["request_id"] == request_id:
                    return int(line["pid"])
        raise AssertionError(f"no access line for {request_id}")


@pytest.fixture
def served(settings: Settings, tmp_path: Path) -> Iterator[Served]:
    port = _port()
    log = tmp_path / "serve.log"
    env = dict(
        os.environ,
        TIEMCHUNG_DATABASE_URL=settings.resolved_database_url,
        TIEMCHUNG_DATA_DIR=str(settings.data_dir),
        TIEMCHUNG_LOG_FORMAT="json",
    )
    argv = ["serve", "--port", str(port), "--workers", "2"]
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tiemchung.cli.main", *argv],
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(1200):  # a loaded machine takes its time to start two workers
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise AssertionError(log.read_text())
        yield Served(base, log)
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:  # a worker stuck on a loaded machine: still ours
            proc.kill()
            proc.wait(30)


def fresh(n: int) -> httpx.Client:
    """A client whose one connection comes from 127.0.0.<10+n>: a source of its own, so the
    per-source counters of one try never brake the next."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=f"127.0.0.{10 + n}"))


def spread(
    served: Served, attempt: Callable[[int], httpx.Response], tries: int = 12
) -> tuple[list[httpx.Response], set[int]]:
    """Five failures of one key from one source, each on a fresh connection, then a sixth
    attempt; tried with a new key and source until the five were served by both workers
    (which one accepts a connection is the kernel's choice). Returns the six answers and the
    pids of the five."""
    for n in range(tries):
        answers = [attempt(n) for _ in range(6)]
        pids = {served.pid_of(r.headers["x-request-id"]) for r in answers[:5]}
        if len(pids) == 2:
            return answers, pids
    raise AssertionError("the workers never shared five requests: no proof either way")


def test_throttles_masking_and_request_ids_across_two_workers(
    served: Served, settings: Settings
) -> None:
    base = served.base

    # -- (a) the sign-in throttle (the API's token endpoint): 5 failures in all, not per worker
    def sign_in(n: int) -> httpx.Response:
        data = {"username": f"nobody{n}", "password": "wrong-password"}
        with fresh(n) as client:
            return client.post(f"{base}/api/v1/auth/token", data=data, timeout=30)

    answers, pids = spread(served, sign_in)
    assert [r.status_code for r in answers] == [401, 401, 401, 401, 401, 429], pids
    assert "1 attempt(s) left" in answers[3].text
    assert "wait 30 second(s)" in answers[4].text
    assert 0 < int(answers[5].headers["Retry-After"]) <= 30

    # -- (a) the citizen look-up: 5 misses of one ID number in all, then even the right date
    # of birth waits
    def look_up(n: int) -> httpx.Response:
        with fresh(n) as client:
            page = client.get(f"{base}/lookup", timeout=30)
        token = CSRF.search(page.text)
        assert token is not None
        with fresh(n) as client:
            client.cookies = page.cookies
            return client.post(
                f"{base}/lookup",
                data={"national_id": f"0790{n:02d}000111", "dob": "01/01/1990"}
                | {"csrf_token": token.group(1)},
                timeout=30,
            )

    answers, pids = spread(served, look_up)
    assert [r.status_code for r in answers] == [404, 404, 404, 404, 404, 429], pids
    assert "Còn 1 lần thử" in answers[3].text

    # -- (b) a failed request's exception, an ID number in its URL and a SQL error
    token = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": "central", "password": PASSWORD}
    ).json()["access_token"]
    engine = create_engine(settings.resolved_database_url)
    with engine.begin() as conn:  # every query of a person now fails in the database
        conn.execute(text("ALTER TABLE persons RENAME TO persons_gone"))
    engine.dispose()
    auth = {"Authorization": f"Bearer {token}"}
    by_id = httpx.get(
        f"{base}/api/v1/persons/001085123456",
        headers=auth | {"X-Request-ID": "proof-by-id-1"},
        timeout=30,
    )
    by_name = httpx.get(
        f"{base}/api/v1/persons",
        params={"full_name": "Nguyễn Văn An", "national_id": "001085123456"},
        headers=auth | {"X-Request-ID": "bad id with spaces"},
        timeout=30,
    )
    assert by_id.status_code == 500 and by_name.status_code == 500
    assert by_id.headers["x-request-id"] == "proof-by-id-1"  # a well-formed id is kept
    named = by_name.headers["x-request-id"]
    assert named != "bad id with spaces" and re.fullmatch(r"[0-9a-f]{32}", named)
    # (c) the problem document names the request
    assert by_id.json()["request_id"] == "proof-by-id-1"
    assert by_name.json()["request_id"] == named

    lines = served.lines()
    everything = served.log.read_text(encoding="utf-8")
    for secret in ("001085123456", "Nguyễn Văn An", "0912000001", "wrong-password"):
        assert secret not in everything
    # the failures were logged (masked), with the SQL error and its parameters hidden
    failed = [x for x in lines if x["request_id"] == "proof-by-id-1" and "exc" in x]
    assert failed, "the failed request's exception was not logged"
    assert "001******56" in failed[0]["msg"]  # the URL's ID number, masked
    assert "persons" in failed[0]["exc"] and "SQL parameters hidden" in failed[0]["exc"]
    assert any("exc" in x for x in lines if x["request_id"] == named)

    # -- (c) every line of a request carries its id: the access line and the error line
    for rid, route in (
        ("proof-by-id-1", "/api/v1/persons/{person_id}"),
        (named, "/api/v1/persons"),
    ):
        own = [x for x in lines if x["request_id"] == rid]
        assert {x["logger"] for x in own} >= {"tiemchung.access", "tiemchung.api.problems"}
        access = [x for x in own if x["logger"] == "tiemchung.access"]
        assert access[0]["route"] == route and access[0]["status"] == 500
        assert access[0]["duration_ms"] >= 0
    # and no access line nor error line lacks an id
    served_lines = [x for x in lines if x["logger"] == "tiemchung.access" or "exc" in x]
    assert served_lines and all(x["request_id"] != "-" for x in served_lines)
    # both workers wrote JSON lines, each with its pid
    assert len({x["pid"] for x in lines if x["logger"] == "tiemchung.access"}) == 2
