"""`tiemchung register fake-server` (a real process), `register pull` and the worker's
scheduled pull (TIEMCHUNG_REGISTER_PULL_EVERY_S), against the fake register."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.registry.register_fakes import admin, fake_register, hoa, write_register
from tiemchung.cli.main import app
from tiemchung.config import Settings, get_settings
from tiemchung.core import Platform
from tiemchung.registry.models import Person

runner = CliRunner()


def _run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (args, result.output)
    return result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_fake_server_command_serves_the_contract_with_its_token(tmp_path: Path) -> None:
    source = write_register(tmp_path / "register.parquet", [hoa()])
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tiemchung.cli.main", "register", "fake-server",
         "--from", str(source), "--port", str(port), "--token", "t0k"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/_admin/stats", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "the fake server did not start"
                time.sleep(0.2)
        ok = httpx.get(url + "/persons", params={"id": "079190000111"},
                       headers={"Authorization": "Bearer t0k"})  # fmt: skip
        refused = httpx.get(url + "/persons", params={"id": "079190000111"})
        bad = httpx.get(url + "/persons", headers={"Authorization": "Bearer t0k"})
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    assert ok.status_code == 200 and [p["person_id"] for p in ok.json()["persons"]] == ["R-HOA"]
    assert refused.status_code == 401
    assert bad.status_code == 400 and "name và dob" in bad.json()["detail"]


def test_register_pull_twice_and_with_the_register_down(
    env: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fake_register(tmp_path) as server:
        admin(server, "/_admin/persons", {"persons": [hoa()]})
        monkeypatch.setenv("TIEMCHUNG_REGISTER_URL", server.url)
        get_settings.cache_clear()
        first = _run("register", "pull")
        second = _run("register", "pull")
    assert "1 created/thêm mới, 0 corrected/sửa" in first and "cursor 1" in first
    assert "0 created/thêm mới, 0 corrected/sửa" in second and "cursor 1" in second
    # the re-check is reported in the words of `register recheck`, not as a repr
    assert "1  người đã đổi / persons changed" in first and "RecheckReport" not in first
    down = _run("register", "pull", code=1)  # the server is stopped now
    assert "không liên lạc được" in down and "unreachable" in down
    monkeypatch.delenv("TIEMCHUNG_REGISTER_URL")
    get_settings.cache_clear()
    unset = _run("register", "pull", code=2)
    assert "TIEMCHUNG_REGISTER_URL" in unset and "chưa đặt" in unset


def test_the_worker_pulls_on_its_schedule(
    env: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fake_register(tmp_path) as server:
        admin(server, "/_admin/persons", {"persons": [hoa()]})
        monkeypatch.setenv("TIEMCHUNG_REGISTER_URL", server.url)
        monkeypatch.setenv("TIEMCHUNG_REGISTER_PULL_EVERY_S", "60")
        monkeypatch.setenv("TIEMCHUNG_SMS_GATEWAY", f"file:{tmp_path / 'sms.jsonl'}")
        get_settings.cache_clear()
        out = _run("worker", "--once")
    assert "1 created/thêm mới" in out
    with Platform(get_settings()) as platform, platform.sessions() as s:
        assert s.scalar(select(Person.full_name).where(Person.person_id == "R-HOA")) == "Lê Thị Hoa"


def _stored(settings: Settings, person_id: str) -> bool:
    with Platform(settings) as platform, platform.sessions() as s:
        return s.scalar(select(Person.id).where(Person.person_id == person_id)) is not None


def test_register_pull_every_pulls_again_until_sigterm(
    env: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fake_register(tmp_path) as server:
        admin(server, "/_admin/persons", {"persons": [hoa()]})
        monkeypatch.setenv("TIEMCHUNG_REGISTER_URL", server.url)
        proc = subprocess.Popen(
            [sys.executable, "-m", "tiemchung.cli.main", "register", "pull", "--every", "0.2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            for person_id in ("R-HOA", "R-LATER"):
                if person_id == "R-LATER":  # changed while the command waits
                    later = {**hoa(), "person_id": "R-LATER", "national_id": "079190000333"}
                    admin(server, "/_admin/persons", {"persons": [later]})
                deadline = time.monotonic() + 60
                while not _stored(env, person_id):
                    assert proc.poll() is None and time.monotonic() < deadline, person_id
                    time.sleep(0.2)
        finally:
            os.kill(proc.pid, signal.SIGTERM)
            out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert b"1 created" in out
