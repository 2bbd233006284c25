"""`tiemchung serve` with TIEMCHUNG_SMS_WORKER_IN_SERVE (the demo's set-up) as a real
process: a message queued in the store is sent to the file gateway by the server's sender."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.cli.test_serve import _port
from tiemchung.config import Settings
from tiemchung.core import Platform
from tiemchung.registry.messages.outbox import enqueue


def test_serve_runs_the_sender_when_asked(settings: Settings, tmp_path: Path) -> None:
    with Platform(settings) as platform, platform.sessions() as s:
        mid = enqueue(s, phone="0912345678", body="Mời tiêm", kind="otp").message.message_id
        s.commit()
    out = tmp_path / "sms.jsonl"
    env = dict(
        os.environ,
        TIEMCHUNG_DATABASE_URL=settings.resolved_database_url,
        TIEMCHUNG_DATA_DIR=str(settings.data_dir),
        TIEMCHUNG_SMS_GATEWAY=f"file:{out}",
        TIEMCHUNG_SMS_WORKER_IN_SERVE="1",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "tiemchung.cli.main", "serve", "--port", str(_port())],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while (
            not (out.exists() and out.read_text(encoding="utf-8")) and time.monotonic() < deadline
        ):
            time.sleep(0.2)
        (line,) = out.read_text(encoding="utf-8").splitlines()
        assert json.loads(line)["message_id"] == mid
        assert json.loads(line)["text"] == "Moi tiem"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
