"""`tiemchung webhooks add|list|pause|resume|dead|replay` (both backends) and `tiemchung
worker` delivering a partner's webhook as a real process, to a receiver on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from sqlalchemy import select
from typer.testing import CliRunner

from tiemchung.cli.main import app
from tiemchung.config import Settings
from tiemchung.core import Platform
from tiemchung.gateways.webhookpeer import WebhookPeer
from tiemchung.registry.changes.log import Change, append
from tiemchung.registry.models import AuditEvent
from tiemchung.registry.tables.changes import ApiClient
from tiemchung.registry.tables.webhooks import WebhookDeadLetter, WebhookSubscription

runner = CliRunner()


def _run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (args, result.output)
    return result.output


def _seed(settings: Settings) -> None:
    with Platform(settings) as platform, platform.sessions() as s:
        s.add(ApiClient(client_id="app", name="App", secret_hash="x", scopes=[], role="central"))
        s.commit()


def test_add_list_pause_resume_dead_replay(env: Settings) -> None:
    _seed(env)
    out = _run(
        "webhooks",
        "add",
        "--client",
        "app",
        "--url",
        "https://p.example.vn/h",
        "--resources",
        "Immunization",
    )
    row = next(line for line in out.splitlines() if "\t" in line)
    sub_id = int(row.split("\t")[0])
    secret = next(line for line in out.splitlines() if line.startswith("whsec_"))
    assert "Immunization" in row
    flat = " ".join(out.split())
    assert "never shown again" in flat and "không hiển thị lại" in flat
    listed = _run("webhooks", "list")
    assert "p.example.vn" in listed and secret not in listed
    assert "\tpaused\t" in _run("webhooks", "pause", str(sub_id), "--reason", "maintenance")
    assert "\tactive\t" in _run("webhooks", "resume", str(sub_id))
    with Platform(env) as platform, platform.sessions() as s:
        s.add(
            WebhookDeadLetter(
                subscription_id=sub_id,
                first_seq=4,
                last_seq=5,
                events=[{"seq": 4}, {"seq": 5}],
                attempts=8,
                last_error="HTTP 503: busy",
            )
        )
        s.commit()
        dead_id = s.scalar(select(WebhookDeadLetter.id))
    dead = _run("webhooks", "dead")
    assert f"{dead_id}\twebhook={sub_id}\t4..5\tevents=2\tattempts=8\tdead\tHTTP 503" in dead
    assert f"{dead_id}\treplay\t4..5" in _run("webhooks", "replay", str(dead_id))
    with Platform(env) as platform, platform.sessions() as s:
        actions = set(s.scalars(select(AuditEvent.action)))
    assert {"webhook.create", "webhook.pause", "webhook.resume", "webhook.replay"} <= actions


def test_bad_input_is_refused_in_both_languages(env: Settings) -> None:
    _seed(env)
    out = _run("webhooks", "add", "--client", "app", "--url", "mailto:x", code=2)
    out = " ".join(out.split())
    assert "url:" in out and "không hợp lệ" in out and "is not valid" in out
    out = _run("webhooks", "add", "--client", "nobody", "--url", "https://x/h", code=2)
    out = " ".join(out.split())
    assert "client_id:" in out and "Không tìm thấy" in out and "not found" in out
    out = _run("webhooks", "replay", "99", code=2)
    assert "Không tìm thấy" in out


def test_worker_delivers_webhooks_without_an_sms_gateway(env: Settings) -> None:
    _seed(env)
    with WebhookPeer() as peer:
        out = _run("webhooks", "add", "--client", "app", "--url", peer.url)
        peer.secret = next(line for line in out.splitlines() if line.startswith("whsec_"))
        child_env = {**os.environ, "TIEMCHUNG_SMS_GATEWAY": ""}
        worker = subprocess.Popen(
            [sys.executable, "-m", "tiemchung.cli.main", "worker"],
            env=child_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            with Platform(env) as platform, platform.sessions() as s:
                append(s.connection(), [Change("Immunization", "42", "created", "api")])
                s.commit()
            deadline = time.monotonic() + 30
            while not peer.batches and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            worker.send_signal(signal.SIGTERM)
            output = worker.communicate(timeout=30)[0].decode()
        assert worker.returncode == 0, output
        assert [e["id"] for e in peer.batches[0].events] == ["42"] and peer.bad == 0
    with Platform(env) as platform, platform.sessions() as s:
        sub = s.scalar(select(WebhookSubscription))
        assert sub is not None and sub.cursor == 1 and sub.lease_by is None
