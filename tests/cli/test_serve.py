"""`tiemchung serve` as a real process: it answers, and its logs never show an ID in clear."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.factories import PASSWORD
from tiemchung.config import Settings
from tiemchung.logmask import mask_text


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_and_masks_ids_in_its_logs(settings: Settings, tmp_path: Path) -> None:
    port = _port()
    log = tmp_path / "serve.log"
    env = dict(
        os.environ,
        TIEMCHUNG_DATABASE_URL=settings.resolved_database_url,
        TIEMCHUNG_DATA_DIR=str(settings.data_dir),
    )
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tiemchung.cli.main", "serve", "--port", str(port)],
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        for _ in range(150):
            try:
                if httpx.get(f"{base}/health", timeout=1).json()["status"] == "ok":
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise AssertionError(log.read_text())
        token = httpx.post(
            f"{base}/auth/token", data={"username": "central", "password": PASSWORD}
        ).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        r = httpx.get(f"{base}/persons", params={"national_id": "001085123456"}, headers=headers)
        assert r.json()["total"] == 1
        r = httpx.get(f"{base}/persons/P-AN", headers=headers)
        assert r.json()["national_id"] == "001085123456"
        httpx.get(f"{base}/persons/0912000001", headers=headers)  # an ID-like path segment
    finally:
        proc.terminate()
        proc.wait(10)
    text = log.read_text()
    assert "/api/v1/persons" in text  # the access log is on ...
    for secret in ("001085123456", "0912000001", "Nguyễn Văn An"):
        assert secret not in text  # ... and shows neither IDs, phones nor names


def test_mask_text() -> None:
    assert mask_text("GET /api/v1/persons?full_name=Tr%E1%BA%A7n&dob=1990 200") == (
        "GET /api/v1/persons?… 200"
    )
    assert mask_text("id 001085123456 phone +84912000001") == ("id 001******56 phone +8491******01")
    assert mask_text("dose 1234 of 2021-10-05") == "dose 1234 of 2021-10-05"
