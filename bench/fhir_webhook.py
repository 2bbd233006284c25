"""Webhook benchmark (issue 19's change-feed target, part ``webhook`` of ``bench/fhir.py``):
a dose recorded → its webhook received by a partner within 2 s (p99), none lost across a
SIGKILL of the server.

``tiemchung serve`` runs as a real process with the deliverer on
(``TIEMCHUNG_WEBHOOKS_IN_SERVE``); a receiver on 127.0.0.1 (``gateways/webhookpeer.py``,
checking every signature) is subscribed as a central partner; doses are recorded over HTTP
(``POST /api/v1/doses`` as a site user) at a steady rate. Latency = the receiver's first
arrival of the dose's event − the moment the dose's change was committed (the 201 when the
dose path appends it; else the bench appends the change itself right after the 201, as the
dose path will: it looks once whether the dose's change row is there and only adds one when it
is not). Midway the server is SIGKILLed and started again; the load keeps going (a dose
refused while the server is down is sent again until it is stored). At the end: every
recorded dose's event received at least once (lost = 0 expected), the duplicates counted, the
latency p50/p99 overall and outside the kill's window. Baseline in the same run: the
receiver's own round trip (a signed one-event POST from this process).

    .venv/bin/python bench/fhir_webhook.py [--rate 20] [--seconds 30] [--backend sqlite|pg]

Writes bench/results/fhir_webhook.json. Run small to check it works (``--seconds 10``).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import write_result  # noqa: E402
from bench.ingest import PASSWORD, dose, prepare, write_register  # noqa: E402
from tiemchung.config import Settings  # noqa: E402
from tiemchung.gateways.webhookpeer import WebhookPeer  # noqa: E402
from tiemchung.registry.changes import webhooks  # noqa: E402
from tiemchung.registry.changes.delivery import post  # noqa: E402
from tiemchung.registry.changes.log import Change, append  # noqa: E402
from tiemchung.registry.models import Dose  # noqa: E402
from tiemchung.registry.scope import Actor  # noqa: E402
from tiemchung.registry.tables.changes import ApiClient, ChangeEntry  # noqa: E402
from tiemchung.store.db import make_engine, make_sessionmaker  # noqa: E402

#: The deliverer's settings in the served process (recorded in the result).
SERVE_ENV = {
    "TIEMCHUNG_WEBHOOKS_IN_SERVE": "true",
    "TIEMCHUNG_WEBHOOK_POLL_S": "0.2",
    "TIEMCHUNG_WEBHOOK_TIMEOUT_S": "2",
    "TIEMCHUNG_WEBHOOK_LEASE_S": "5",
    "TIEMCHUNG_LOG_LEVEL": "WARNING",
}


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return round(s[min(len(s) - 1, int(p / 100 * len(s)))], 4)


def start_serve(url: str, data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        **SERVE_ENV,
        "TIEMCHUNG_DATABASE_URL": url,
        "TIEMCHUNG_DATA_DIR": str(data_dir),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "tiemchung.cli.main", "serve", "--port", str(port)], env=env
    )
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1)
            return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("the server did not start")


def receiver_baseline(peer: WebhookPeer, secret: str, n: int = 200) -> dict[str, Any]:
    """The receiver's own round trip: a signed one-event POST from this process."""
    times = []
    with httpx.Client(timeout=5) as http:
        for i in range(n):
            ev = [
                {
                    "seq": -(i + 1),
                    "resource": "Immunization",
                    "id": f"base{i}",
                    "action": "created",
                    "at": "",
                    "url": "",
                }
            ]
            t0 = time.perf_counter()
            assert post(http, peer.url, secret, ev, datetime.now(UTC)) is None
            times.append(time.perf_counter() - t0)
    return {"requests": n, "p50_s": pct(times, 50), "p99_s": pct(times, 99)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-webhook-"))
    pg = None
    if args.backend == "pg":
        from tests.pgserver import PostgresServer

        pg = PostgresServer()
        pg.start()
        url = pg.create_database("bench")
    else:
        url = f"sqlite:///{tmp / 'tiemchung.db'}"
    data_dir = tmp / "data"
    settings = Settings(data_dir=data_dir, database_url=url)
    people = write_register(tmp / "register.csv", args.people)
    info = prepare(settings, tmp / "register.csv")
    sessions = make_sessionmaker(make_engine(url))
    with sessions() as s:
        s.add(
            ApiClient(client_id="bench", name="bench", secret_hash="x", scopes=[], role="central")
        )
        s.commit()
    peer = WebhookPeer()
    with sessions() as s:
        added = webhooks.add_subscription(s, Actor.system("bench"), "bench", peer.url)
        s.commit()
    peer.secret = added.secret
    baseline = receiver_baseline(peer, added.secret)
    port = 18000 + random.randint(0, 999)
    server = start_serve(url, data_dir, port)
    base = f"http://127.0.0.1:{port}/api/v1"
    http = httpx.Client(timeout=10)
    token = http.post(
        f"{base}/auth/token", data={"username": "bench-site", "password": PASSWORD}
    ).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    committed: dict[str, float] = {}  # "Immunization/<id>" → when its change was committed
    dose_path_appends: bool | None = None
    appended_by_bench = 0
    kill_at = time.time() + args.seconds / 2
    killed: tuple[float, float] | None = None  # (killed, answering again)
    pool = iter(people)
    start = time.time()
    n = 0
    refused_while_down = 0
    while time.time() - start < args.seconds:
        due = start + n / args.rate
        if due > time.time():
            time.sleep(due - time.time())
        if killed is None and time.time() >= kill_at:
            t_kill = time.time()
            server.send_signal(signal.SIGKILL)
            server.wait()
            server = start_serve(url, data_dir, port)
            killed = (t_kill, time.time())
            print(f"SIGKILL at {t_kill - start:.1f} s, back after {killed[1] - t_kill:.1f} s")
        body = dose(next(pool), info["site_id"])
        while True:  # the same client_uuid until it is stored (a retry is idempotent)
            try:
                r = http.post(f"{base}/doses", json=body, headers=auth)
                if r.status_code in (200, 201):
                    break
                raise RuntimeError(f"dose refused: {r.status_code} {r.text[:200]}")
            except httpx.TransportError:
                refused_while_down += 1
                time.sleep(0.1)
        dose_id = str(r.json()["id"])
        t_stored = time.time()
        with sessions() as s:  # read apart from the write (SQLite: see delivery.step)
            if dose_path_appends is None:
                dose_path_appends = bool(
                    s.scalar(
                        select(ChangeEntry.seq).where(
                            ChangeEntry.resource == "Immunization",
                            ChangeEntry.resource_id == dose_id,
                        )
                    )
                )
            d = s.get(Dose, int(dose_id))
            assert d is not None
            area = (d.area_ward_code, d.area_province_code)
        if not dose_path_appends:
            with sessions() as s:
                append(
                    s.connection(),
                    [Change("Immunization", dose_id, "created", "api", None, *area)],
                )
                s.commit()
            appended_by_bench += 1
            t_stored = time.time()
        committed[f"Immunization/{dose_id}"] = t_stored
        n += 1
    # wait for the tail (a lease of the killed server's may still be running out)
    deadline = time.time() + 60
    while time.time() < deadline and any(k not in peer.key_arrival for k in committed):
        time.sleep(0.1)
    server.terminate()
    server.wait(20)
    peer.stop()
    lat = {k: peer.key_arrival[k] - t for k, t in committed.items() if k in peer.key_arrival}
    window = (killed[0] - 1, killed[1] + float(SERVE_ENV["TIEMCHUNG_WEBHOOK_LEASE_S"]) + 3)
    steady = [v for k, v in lat.items() if not window[0] <= committed[k] <= window[1]]
    lost = [k for k in committed if k not in peer.key_arrival]
    dups = sum(c - 1 for k, c in peer.keys.items() if k in committed and c > 1)
    if pg is not None:
        pg.stop()
    return {
        "doses_recorded": len(committed),
        "rate_per_s_achieved": round(len(committed) / args.seconds, 2),
        "dose_path_appends_changes": dose_path_appends,
        "changes_appended_by_bench": appended_by_bench,
        "latency_all": {
            "p50_s": pct(list(lat.values()), 50),
            "p99_s": pct(list(lat.values()), 99),
            "max_s": round(max(lat.values()), 3) if lat else None,
        },
        "latency_outside_kill_window": {
            "n": len(steady),
            "p50_s": pct(steady, 50),
            "p99_s": pct(steady, 99),
        },
        "target_p99_s": 2.0,
        "sigkill": {
            "at_s": round(killed[0] - start, 2),
            "restart_s": round(killed[1] - killed[0], 2),
            "requests_refused_while_down": refused_while_down,
        }
        if killed
        else None,
        "lost": len(lost),
        "lost_examples": lost[:10],
        "duplicates": dups,
        "receiver_batches": len(peer.batches),
        "receiver_bad_signatures": peer.bad,
        "baseline_receiver_round_trip": baseline,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rate", type=float, default=20.0, help="doses a second")
    ap.add_argument("--seconds", type=float, default=60.0, help="how long the load runs")
    ap.add_argument("--people", type=int, default=5000, help="register size (≥ doses)")
    ap.add_argument("--backend", choices=("sqlite", "pg"), default="pg")
    args = ap.parse_args(argv)
    args.people = max(args.people, int(args.rate * args.seconds * 1.2) + 10)
    results = run(args)
    path = write_result(
        "fhir_webhook",
        inputs={
            "rate": args.rate,
            "seconds": args.seconds,
            "people": args.people,
            "backend": args.backend,
            "serve_env": SERVE_ENV,
        },
        results=results,
        packages=["httpx", "uvicorn", "sqlalchemy"],
    )
    print(path)
    print(
        {
            k: results[k]
            for k in (
                "doses_recorded",
                "lost",
                "duplicates",
                "latency_all",
                "latency_outside_kill_window",
            )
        }
    )


if __name__ == "__main__":
    main()
