"""`tiemchung serve --workers 2` as real processes (issue 20 point 3): requests spread over
both workers, and one scrape, whichever worker answers it, counts every one of them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.cli.test_serve import _port
from tiemchung.certificates.keys import KeyStore
from tiemchung.config import Settings

WORKERS = ("--workers", "2")


def _live_count(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "tiemchung_http_requests_total" and s.labels == {
                "method": "GET",
                "route": "/api/v1/health/live",
                "status": "200",
            }:
                return s.value
    return 0.0


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_scrape_sums_every_worker(settings: Settings, tmp_path: Path) -> None:
    KeyStore.for_settings(settings).init()
    port = _port()
    env = dict(
        os.environ,
        TIEMCHUNG_DATABASE_URL=settings.resolved_database_url,
        TIEMCHUNG_DATA_DIR=str(settings.data_dir),
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = tmp_path / "serve.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [*(sys.executable, "-m", "tiemchung.cli.main", "serve"), "--port", str(port), *WORKERS],
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{base}/api/v1/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        pids: dict[int, int] = {}
        sent = 0
        # fresh connections until both workers have answered (the kernel spreads accepts)
        while len(pids) < 2 or sent < 20:
            r = httpx.get(f"{base}/api/v1/health/live", timeout=5)
            assert r.status_code == 200
            pid = r.json()["pid"]
            pids[pid] = pids.get(pid, 0) + 1
            sent += 1
            assert sent < 500, f"one worker answered everything: {pids}"
        assert len(pids) == 2 and proc.pid not in pids
        # each scrape may reach either worker: every one must count all `sent`
        for _ in range(4):
            scraped = httpx.get(f"{base}/metrics", timeout=5)
            assert scraped.status_code == 200
            assert _live_count(scraped.text) == sent, (pids, sent)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    # the multiprocess folder was the run's own, and goes with it
    assert not list((settings.data_dir / "run").glob("metrics-*"))
