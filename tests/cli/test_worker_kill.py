"""`tiemchung worker` killed with SIGKILL mid-batch against the SMSC simulator, then
started again: every message reaches the simulator's handset exactly once, none is lost.

The worker runs as a real process (the kill is a real ``kill -9``); the simulator, in this
test's process, is the only witness: its handset counts are what the assertions read."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from tiemchung.config import Settings
from tiemchung.core import Platform
from tiemchung.gateways.simulator import SmscSimulator
from tiemchung.registry.messages.outbox import enqueue
from tiemchung.registry.tables.messages import OutboxMessage

N = 1500


def _worker(env: dict[str, str], *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tiemchung.cli.main", "worker", *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _count(platform: Platform, status: str) -> int:
    with platform.sessions() as s:
        q = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == status)
        return int(s.scalar(q) or 0)


@pytest.mark.slow
def test_sigkill_mid_batch_loses_nothing_and_sends_nothing_twice(env: Settings) -> None:
    with Platform(env) as platform:
        with platform.sessions() as s:
            for i in range(N):
                enqueue(s, phone=f"09{i:08d}", body=f"Moi tiem {i}", kind="invitation")
            s.commit()
        with SmscSimulator() as sim:
            # 300 a second in chunks of 300 from claims of 400: claimed messages wait in
            # `sending` between chunks, so a kill at any moment finds some of them there
            child_env = {
                **os.environ,
                "TIEMCHUNG_SMS_GATEWAY": sim.url + "?rate=300",
                "TIEMCHUNG_SMS_BATCH": "400",
                "TIEMCHUNG_SMS_CLAIM_TIMEOUT_S": "1",
                "TIEMCHUNG_SMS_QUIET_HOURS": "",
            }
            first = _worker(child_env)
            deadline = time.monotonic() + 60
            while sim.stats()["submits"] < 500 and time.monotonic() < deadline:
                time.sleep(0.01)
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            assert first.returncode == -signal.SIGKILL
            in_flight = _count(platform, "sending")
            reached = sim.stats()["handset_messages"]
            assert 0 < reached < N and in_flight > 0  # killed mid-way, a claim left behind

            time.sleep(1.2)  # the dead sender's claim is older than the timeout
            child_env["TIEMCHUNG_SMS_GATEWAY"] = sim.url  # no rate limit the second time
            second = _worker(child_env, "--once")
            out, _ = second.communicate(timeout=120)
            assert second.returncode == 0, out.decode()
            time.sleep(0.3)
            stats = sim.stats()

        with platform.sessions() as s:
            ours = set(s.scalars(select(OutboxMessage.message_id)))
        assert set(sim.handset.texts) == ours  # none lost
        assert len(ours) == N
        assert max(sim.handset.deliveries.values()) == 1  # none twice at the handset
        assert stats["handset_deliveries"] == N
        assert _count(platform, "sending") == 0 and _count(platform, "queued") == 0
