"""`tiemchung serve` with TIEMCHUNG_WEBHOOKS_IN_SERVE as a real process: a change appended
to the store reaches a partner's receiver on 127.0.0.1, signed; without the setting, nothing
is delivered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx

from tests.cli.test_serve import _port
from tiemchung.config import Settings
from tiemchung.core import Platform
from tiemchung.gateways.webhookpeer import WebhookPeer
from tiemchung.registry.changes import webhooks
from tiemchung.registry.changes.log import Change, append
from tiemchung.registry.scope import Actor
from tiemchung.registry.tables.changes import ApiClient


def _serve(settings: Settings, port: int, flag: str) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        TIEMCHUNG_DATABASE_URL=settings.resolved_database_url,
        TIEMCHUNG_DATA_DIR=str(settings.data_dir),
        TIEMCHUNG_WEBHOOKS_IN_SERVE=flag,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "tiemchung.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("serve did not answer")


def test_serve_delivers_webhooks_only_when_asked(settings: Settings) -> None:
    with WebhookPeer() as peer:
        with Platform(settings) as platform, platform.sessions() as s:
            s.add(ApiClient(client_id="app", name="A", secret_hash="x", scopes=[], role="central"))
            s.flush()
            peer.secret = webhooks.add_subscription(s, Actor.system("t"), "app", peer.url).secret
            append(s.connection(), [Change("Immunization", "7", "created", "api")])
            s.commit()
        proc = _serve(settings, _port(), "0")
        try:
            time.sleep(1.5)
            assert peer.requests == 0
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        proc = _serve(settings, _port(), "1")
        try:
            deadline = time.monotonic() + 30
            while not peer.batches and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        assert [(b.webhook_id, b.events[0]["id"]) for b in peer.batches] == [("1..1", "7")]
        assert peer.bad == 0
