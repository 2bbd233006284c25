"""Issue 18's targets for invitations: this file's sender part (upload and invitations are
added beside it as their own functions).

Sender (``bench_sender``): ``tiemchung worker`` as a real process, PostgreSQL (a throw-away
server), our SMSC simulator on 127.0.0.1 in this process.

1. Sustained: ``--messages`` queued invitations, one worker, no rate limit of ours: messages a
   second from the first submit to the last handset delivery (target ≥ 500/s).
2. Crash: ``--crash-messages`` more, the worker killed with SIGKILL part-way, started again:
   duplicates at the handset and messages lost (target 0 and 0).
3. Baseline in the same run: the simulator's raw submit rate with a bare smpplib client
   (``send_message`` then read the response, one at a time, as its README shows), and our
   SMPP adapter alone (no database), on the same simulator.

    nice -n 10 .venv/bin/python bench/invitations.py sender [--messages 30000]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.pgserver import PostgresServer  # noqa: E402

from bench._common import write_result  # noqa: E402
from tiemchung.config import Settings  # noqa: E402
from tiemchung.gateways.simulator import SmscSimulator  # noqa: E402
from tiemchung.installation import initialise  # noqa: E402
from tiemchung.store.db import make_engine  # noqa: E402


def log(msg: str) -> None:
    print(msg, flush=True)


def queue(url: str, n: int, tag: str) -> list[str]:
    """``n`` queued invitations inserted in bulk (the bench measures the sender, not enqueue)."""
    from sqlalchemy import insert

    from tiemchung.registry.tables.messages import OutboxMessage

    ids = [str(uuid.uuid4()) for _ in range(n)]
    rows = [
        {
            "message_id": mid,
            "phone": f"09{i % 100_000_000:08d}",
            "body": f"Moi anh/chi den tiem mui 2 tai Tram Y te phuong 1 luc 8h. {tag}{i}",
            "kind": "invitation",
            "status": "queued",
            "attempts": 0,
        }
        for i, mid in enumerate(ids)
    ]
    engine = make_engine(url)
    with engine.begin() as conn:
        for start in range(0, n, 5000):
            conn.execute(insert(OutboxMessage), rows[start : start + 5000])
    engine.dispose()
    return ids


def worker(env: dict[str, str], *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tiemchung.cli.main", "worker", *extra],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_handset(sim: SmscSimulator, want: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while len(sim.handset.texts) < want and time.monotonic() < deadline:
        time.sleep(0.005)
    return time.perf_counter()


def bare_smpplib_rate(sim: SmscSimulator, n: int) -> float:
    """Submits a second with smpplib's own client, one request and its response at a time."""
    import smpplib.client

    client = smpplib.client.Client(sim.host, sim.port, allow_unknown_opt_params=True)
    client.set_message_sent_handler(lambda pdu: None)
    client.set_message_received_handler(lambda pdu: None)
    client.connect()
    client.bind_transceiver(system_id=sim.system_id, password=sim.password)
    start = time.perf_counter()
    for i in range(n):
        client.send_message(
            source_addr="TIEMCHUNG",
            source_addr_ton=5,
            destination_addr=f"8491{i:07d}",
            dest_addr_ton=1,
            dest_addr_npi=1,
            short_message=b"Moi tiem mui 2",
        )
        client.read_once()
    rate = n / (time.perf_counter() - start)
    client.unbind()
    client.disconnect()
    return rate


def adapter_rate(sim: SmscSimulator, n: int) -> float:
    """Submits a second through our SMPP adapter (windowed), no database."""
    from tiemchung.gateways.smpp import SmppGateway
    from tiemchung.registry.messages.gateway import Outgoing

    gw = SmppGateway(sim.url)
    batch = [
        Outgoing(str(uuid.uuid4()), f"09{i:08d}", "Moi tiem mui 2", "gsm7", 1) for i in range(n)
    ]
    start = time.perf_counter()
    for k in range(0, n, 500):
        gw.send(batch[k : k + 500])
    rate = n / (time.perf_counter() - start)
    gw.close()
    return rate


def bench_sender(
    url: str, *, messages: int = 30_000, crash_messages: int = 10_000
) -> dict[str, Any]:
    """The sender's figures (see the module's docstring)."""
    base_env = {
        **os.environ,
        "TIEMCHUNG_DATABASE_URL": url,
        "TIEMCHUNG_SMS_QUIET_HOURS": "",
        "TIEMCHUNG_SMS_CLAIM_TIMEOUT_S": "2",
    }
    out: dict[str, Any] = {}
    with SmscSimulator() as sim:
        env = {**base_env, "TIEMCHUNG_SMS_GATEWAY": sim.url}
        # 1. sustained
        queue(url, messages, "s")
        proc = worker(env)
        while sim.stats()["submits"] == 0:
            time.sleep(0.001)
        first = time.perf_counter()
        last = wait_handset(sim, messages, 600)
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        reached = len(sim.handset.texts)
        out["sustained"] = {
            "messages": messages,
            "reached_handset": reached,
            "seconds": round(last - first, 2),
            "messages_per_s": round(reached / (last - first), 1),
        }
        log(f"sustained: {out['sustained']}")
        # 2. crash
        before = dict(sim.handset.deliveries)
        ids = queue(url, crash_messages, "c")
        proc = worker(env)
        while len(sim.handset.texts) < messages + crash_messages // 3:
            time.sleep(0.001)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        at_kill = len(sim.handset.texts) - messages
        time.sleep(2.2)  # the dead worker's claims age past the timeout
        proc = worker(env, "--once")
        proc.wait(600)
        time.sleep(0.5)
        crash_ids = set(ids)
        counts = {k: v for k, v in sim.handset.deliveries.items() if k in crash_ids}
        out["crash"] = {
            "messages": crash_messages,
            "reached_handset_at_kill": at_kill,
            "lost": len(crash_ids - set(counts)),
            "duplicates_at_handset": sum(v - 1 for v in counts.values()),
            "repeats_dropped_by_simulator": sim.stats()["duplicates_dropped"],
            "earlier_messages_untouched": all(
                sim.handset.deliveries[k] == v for k, v in before.items()
            ),
        }
        log(f"crash: {out['crash']}")
        # 3. baselines
        out["baseline_bare_smpplib_submits_per_s"] = round(bare_smpplib_rate(sim, 5000), 1)
        out["baseline_adapter_only_submits_per_s"] = round(adapter_rate(sim, 20_000), 1)
        log(
            f"baselines: {out['baseline_bare_smpplib_submits_per_s']}, "
            f"{out['baseline_adapter_only_submits_per_s']}"
        )
    out["targets"] = {
        "sustained_ge_500_per_s": out["sustained"]["messages_per_s"] >= 500,
        "crash_0_duplicates_0_lost": out["crash"]["lost"] == 0
        and out["crash"]["duplicates_at_handset"] == 0,
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=30_000)
    parser.add_argument("--crash-messages", type=int, default=10_000)
    args = parser.parse_args()
    server = PostgresServer().start()
    try:
        url = server.create_database("bench_invitations")
        with tempfile.TemporaryDirectory() as work:
            initialise(Settings(database_url=url, data_dir=Path(work)))
            sender = bench_sender(url, messages=args.messages, crash_messages=args.crash_messages)
    finally:
        server.stop()
    path = write_result(
        "invitations",
        inputs={
            "messages": args.messages,
            "crash_messages": args.crash_messages,
            "database": "postgresql (throw-away server)",
            "gateway": "SMPP 3.4 to gateways/simulator.py on 127.0.0.1 (in the bench process)",
            "worker": "tiemchung worker, one process, batch 500, window 100",
        },
        results={"sender": sender},
        packages=["smpplib", "sqlalchemy", "psycopg"],
    )
    log(f"→ {path}")


if __name__ == "__main__":
    main()
