"""`tiemchung messages list|budget` and `tiemchung worker --once` with the file gateway
(both backends): the demo's path end to end, the invalid numbers listed, a missing gateway
refused in both languages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tiemchung.cli.main import app
from tiemchung.config import Settings, get_settings
from tiemchung.core import Platform
from tiemchung.registry.messages.outbox import enqueue

runner = CliRunner()


def _run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (args, result.output)
    return result.output


def _seed(settings: Settings) -> None:
    with Platform(settings) as platform, platform.sessions() as s:
        enqueue(
            s,
            phone="0912 345 678",
            body="Mời tiêm mũi 2",
            kind="invitation",
            ref_id=7,
            ref_type="invitation",
        )
        enqueue(s, phone="abc", body="x", kind="reminder")
        s.commit()


def test_worker_once_sends_through_the_file_and_list_shows_it(
    env: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(env)
    out_file = tmp_path / "sms.jsonl"
    monkeypatch.setenv("TIEMCHUNG_SMS_GATEWAY", f"file:{out_file}")
    monkeypatch.setenv("TIEMCHUNG_SMS_QUIET_HOURS", "")
    get_settings.cache_clear()
    assert "sent/đã gửi 1," in _run("worker", "--once")
    (line,) = out_file.read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["text"] == "Moi tiem mui 2"
    listed = _run("messages", "list")
    rows = [r.split("\t") for r in listed.strip().splitlines()]
    assert [(r[2], r[3], r[4]) for r in rows] == [
        ("abc", "reminder", "invalid"),
        ("0912345678", "invitation", "sent"),
    ]
    assert _run("messages", "list", "--status", "invalid").count("\n") == 1
    assert "invitation:7" in _run("messages", "list", "--ref", "invitation:7")
    bad = _run("messages", "list", "--status", "lost", code=2)
    assert "queued" in bad and "Trạng thái" in bad


def test_worker_without_a_gateway_says_so_in_both_languages(
    env: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TIEMCHUNG_SMS_GATEWAY", raising=False)
    get_settings.cache_clear()
    out = _run("worker", "--once", code=2)
    assert "TIEMCHUNG_SMS_GATEWAY" in out and "chưa đặt" in out and "not set" in out


def test_budget_counts_segments() -> None:
    out = _run("messages", "budget", "Mời tiêm " + "a" * 160)
    assert "2 SMS" in out and "2 tin nhắn" in out
    out = _run("messages", "budget", "--keep-accents", "Mời tiêm")
    assert "1 SMS, 62 characters left" in out
