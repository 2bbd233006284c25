"""Soak test (issue 20, "Done when"): ``tiemchung serve --workers 2`` on PostgreSQL under a
province's peak-day traffic, with a worker killed and the database restarted on the way.

    nice -n 10 .venv/bin/python bench/soak.py --minutes 10            # the lead's run
    nice -n 10 .venv/bin/python bench/soak.py --minutes 2 --people 5000   # proves it works

What it does:

1. starts its own PostgreSQL (tests/pgserver.py), builds a province: ``--people`` invented
   persons imported through the register import, reference data and stock (bench/ingest.py's
   ``prepare``), the signing keys, a site user and a central user;
2. runs ``tiemchung serve --workers 2`` and, in a **separate client process**, open-loop
   (Poisson) traffic: desk verification, single doses, batched doses, citizen look-ups (the
   web form, each from its own forwarded address), dashboard reads, certificate issue and PDF
   downloads, and ``/api/v1/health`` as the baseline;
3. at 1/3 of the run SIGKILLs one worker (uvicorn starts another), at 2/3 restarts
   PostgreSQL (``pg_ctl restart -m fast``: every connection dropped);
4. samples the RSS of the server (parent and every worker) every 5 s;
5. at the end checks that every dose acknowledged (2xx) is stored exactly once.

How 5xx are counted. The target is 0 server errors. A request caught by the database restart
is answered 503 with ``Retry-After`` (api/problems.py): the client waits and retries it (a
dose with its same client UUID), and these answers are counted apart (``503_retried``), not as
errors; a 503 without ``Retry-After`` or any other 5xx is an error. A request whose connection
the killed worker dropped has no answer at all: retried likewise and counted as
``retried_transport`` (status ``0`` in a route's ``statuses``). Every figure of latency is
per attempt. A run passes when there is no other 5xx, no request given up, and every
acknowledged dose is stored exactly once.

The rate (``--scale 1`` = one large province's peak day). The seeds (../shared/seeds) give the
national totals: 61,086,173 doses by 16/10/2021 and 212.6 million by 25/4/2022, i.e. 151.5
million in 191 days, 793,000 a day on average. They give no peak day; we take the peak as
twice that average (1.6 million a day nationally, an assumption) and Hà Nội's share as its
share of the population, 8.4 % (8.25 of 98.5 million, GSO 2021, an assumption the seeds do not
state): 133,000 doses on the peak day, over a 10-hour vaccination day 3.7 doses/s for the
whole province (its ~580 communes' sites together: one server serves the province). Per dose:
80 % sent alone, 20 % in batches of 20 (sites that sync late); 1.2 desk verifications;
0.5 citizen look-ups; 0.05 dashboard reads; 0.3 certificate requests; plus 1 health check a
second. At ``--scale 1`` that is about 11 requests/s, which this 2-core machine (shared by the
server, PostgreSQL and the client) serves with room; ``--scale`` multiplies every rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: Province-wide doses per second on the peak day (see the module docstring).
PEAK_DOSES_PER_S = 133_000 / (10 * 3600)
BATCH_SHARE, BATCH_SIZE = 0.2, 20
#: Requests of each kind per dose (health: per second, not per dose).
PER_DOSE = {"verify": 1.2, "lookup": 0.5, "dashboard": 0.05, "certificate": 0.3}
HEALTH_PER_S = 1.0
PASSWORD = "bench-pass-123"
SAMPLE_S = 5


def rates(scale: float) -> dict[str, float]:
    """Requests per second of each kind at ``scale``."""
    doses = PEAK_DOSES_PER_S * scale
    out = {
        "dose": doses * (1 - BATCH_SHARE),
        "batch": doses * BATCH_SHARE / BATCH_SIZE,
        **{k: doses * v for k, v in PER_DOSE.items()},
        "health": HEALTH_PER_S,
    }
    return {k: round(v, 4) for k, v in out.items()}


# -- the server side ---------------------------------------------------------------------------


def build(url: str, data_dir: Path, people: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The province: register import, reference data, stock, keys and the two users."""
    from bench.ingest import prepare, write_register
    from tiemchung.auth.users import create_user
    from tiemchung.certificates.keys import KeyStore
    from tiemchung.config import Settings
    from tiemchung.registry.scope import Actor, Role
    from tiemchung.store.db import make_engine, make_sessionmaker

    settings = Settings(data_dir=data_dir, database_url=url)
    csv_path = data_dir.parent / "register.csv"
    persons = write_register(csv_path, people)
    info = prepare(settings, csv_path, stock=True)
    engine = make_engine(url)
    with make_sessionmaker(engine)() as s:
        create_user(s, Actor.system("bench"), "bench-central", PASSWORD, Role.CENTRAL)
        s.commit()
    engine.dispose()
    KeyStore.for_data_dir(data_dir).init()
    settings.token_secret(create=True)
    return info, persons


def worker_pids(parent: int) -> list[int]:
    """uvicorn's worker processes of ``parent`` (``spawn_main`` in their command line)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                cmd = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent and b"spawn_main" in cmd:
                found.append(int(entry.name))
    return sorted(found)


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def start_serve(url: str, data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    import httpx

    env = dict(
        os.environ,
        TIEMCHUNG_DATABASE_URL=url,
        TIEMCHUNG_DATA_DIR=str(data_dir),
        TIEMCHUNG_LOG_LEVEL="WARNING",
    )
    cli = Path(sys.executable).parent / "tiemchung"
    with log.open("ab") as fh:
        proc = subprocess.Popen(
            [str(cli), "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            ok = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code
            if ok == 200 and len(worker_pids(proc.pid)) == 2:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.terminate()
    raise RuntimeError(f"serve did not start: {log.read_text()[-2000:]}")


def slope_mb_per_min(samples: list[dict[str, Any]]) -> float | None:
    """Least-squares slope of the server's total RSS (MB per minute)."""
    if len(samples) < 3:
        return None
    xs = [s["t"] / 60 for s in samples]
    ys = [s["total_mb"] for s in samples]
    return round(statistics.linear_regression(xs, ys).slope, 3)


def stored_counts(url: str) -> dict[str, int]:
    from sqlalchemy import func, select

    from tiemchung.registry.models import Dose
    from tiemchung.store.db import make_engine, make_sessionmaker

    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            rows = s.execute(select(Dose.client_uuid, func.count()).group_by(Dose.client_uuid))
            return {str(u): int(n) for u, n in rows}
    finally:
        engine.dispose()


def run(args: argparse.Namespace) -> None:
    from tests.pgserver import PostgresServer

    from bench._common import write_result

    folder = Path(tempfile.mkdtemp(prefix="tiemchung-soak-"))
    pg = PostgresServer().start()
    proc = None
    client = None
    try:
        url = pg.create_database("soak")
        t0 = time.time()
        info, persons = build(url, folder / "data", args.people)
        print(f"province built in {time.time() - t0:.0f} s: {args.people:,} persons", flush=True)
        port = _free_port()
        proc = start_serve(url, folder / "data", port, folder / "serve.log")
        plan = {
            "port": port,
            "seconds": args.minutes * 60,
            "rates": rates(args.scale),
            "site_id": info["site_id"],
            "persons": persons[: min(len(persons), 20_000)],
            "out": str(folder / "client.json"),
            "seed": args.seed,
        }
        (folder / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
        client = subprocess.Popen([sys.executable, __file__, "--client", str(folder / "plan.json")])
        events, samples = supervise(proc, pg, args.minutes * 60, args)
        client.wait(args.minutes * 60 + 300)
        res = json.loads((folder / "client.json").read_text(encoding="utf-8"))
        stored = stored_counts(url)
        acked = res.pop("acked")
        missing = [u for u in acked if stored.get(u, 0) == 0]
        twice = [u for u, n in stored.items() if n > 1]
        log_text = (folder / "serve.log").read_text(errors="replace")
        results = {
            "routes": res["routes"],
            "baseline_health": res["routes"].get("health"),
            "server_errors_5xx": res["server_errors"],
            "retried_503_with_retry_after": res["retried_503"],
            "retried_transport": res["retried_transport"],
            "gave_up": res["gave_up"],
            "events": events,
            "rss": {
                "samples": samples,
                "slope_mb_per_min": slope_mb_per_min(samples),
                "slope_mb_per_min_second_half": slope_mb_per_min(samples[len(samples) // 2 :]),
            },
            "doses": {
                "acknowledged": len(acked),
                "stored_rows": sum(stored.values()),
                "acknowledged_missing": len(missing),
                "stored_twice": len(twice),
            },
            "server_log_tracebacks": log_text.count("Traceback"),
            "province": {k: v for k, v in info.items() if k != "site_id"},
        }
        ok = res["server_errors"] == 0 and not missing and not twice and res["gave_up"] == 0
        results["verdict"] = "pass" if ok else "fail"
        path = write_result(
            "soak",
            inputs={
                "minutes": args.minutes,
                "people": args.people,
                "scale": args.scale,
                "rates_per_s": rates(args.scale),
                "workers": 2,
                "backend": "postgresql",
                "rate_derivation": "see bench/soak.py's docstring",
            },
            results=results,
            packages=["uvicorn", "fastapi", "sqlalchemy", "psycopg", "httpx"],
        )
        print(json.dumps({k: results[k] for k in ("verdict", "doses", "server_errors_5xx")}))
        print(f"wrote {path}")
    finally:
        if client is not None and client.poll() is None:
            client.kill()
        if proc is not None and proc.poll() is None:
            proc.terminate()
            proc.wait(30)
        pg.stop()


def supervise(
    proc: subprocess.Popen[bytes], pg: Any, seconds: float, args: argparse.Namespace
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Sample RSS every 5 s; kill a worker at 1/3, restart PostgreSQL at 2/3."""
    start = time.time()
    events: list[dict[str, Any]] = []
    samples: list[dict[str, Any]] = []
    killed = restarted = False
    next_sample = start
    while (now := time.time()) < start + seconds:
        t = now - start
        if not killed and not args.no_kill and t >= seconds / 3:
            killed = True
            victim = worker_pids(proc.pid)[0]
            os.kill(victim, signal.SIGKILL)
            ev: dict[str, Any] = {"at_s": round(t, 1), "event": "worker SIGKILL", "pid": victim}
            deadline = time.time() + 60
            while time.time() < deadline:
                pids = worker_pids(proc.pid)
                if len(pids) == 2 and victim not in pids:
                    ev["replaced_after_s"] = round(time.time() - now, 2)
                    break
                time.sleep(0.1)
            events.append(ev)
        if not restarted and not args.no_restart and t >= 2 * seconds / 3:
            restarted = True
            pg.restart()
            events.append(
                {
                    "at_s": round(t, 1),
                    "event": "PostgreSQL restart",
                    "took_s": round(time.time() - now, 2),
                }
            )
        if now >= next_sample:
            pids = [proc.pid, *worker_pids(proc.pid)]
            each = {str(p): round(rss_mb(p), 1) for p in pids}
            samples.append(
                {"t": round(t, 1), "total_mb": round(sum(each.values()), 1), "pids": each}
            )
            next_sample += SAMPLE_S
        time.sleep(0.2)
    return events, samples


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the client process ------------------------------------------------------------------------


class Load:
    """Open-loop traffic: each kind of request arrives as a Poisson process at its rate."""

    def __init__(self, plan: dict[str, Any]) -> None:
        self.plan = plan
        self.base = f"http://127.0.0.1:{plan['port']}"
        self.rng = random.Random(plan["seed"])
        self.lat: dict[str, list[float]] = {}
        self.statuses: dict[str, dict[str, int]] = {}
        self.acked: list[str] = []
        self.people_with_doses: list[str] = []
        self.issued: set[str] = set()
        self.server_errors = self.retried_503 = self.retried_transport = self.gave_up = 0
        self.tokens: dict[str, str] = {}

    def note(self, route: str, status: int, seconds: float) -> None:
        self.lat.setdefault(route, []).append(seconds * 1000)
        st = self.statuses.setdefault(route, {})
        st[str(status)] = st.get(str(status), 0) + 1

    async def call(self, client: Any, route: str, method: str, path: str, **kw: Any) -> Any:
        """One request, retried after a 503 with Retry-After or a dropped connection."""
        import httpx

        for _attempt in range(60):
            t = time.perf_counter()
            try:
                r = await client.request(method, path, **kw)
            except httpx.TransportError:
                self.retried_transport += 1
                self.note(route, 0, time.perf_counter() - t)
                await asyncio.sleep(0.5)
                continue
            self.note(route, r.status_code, time.perf_counter() - t)
            if r.status_code == 503 and r.headers.get("retry-after", "").isdigit():
                self.retried_503 += 1
                await asyncio.sleep(min(int(r.headers["retry-after"]), 5))
                continue
            if r.status_code >= 500:
                self.server_errors += 1
            return r
        self.gave_up += 1
        return None

    def dose_body(self) -> dict[str, Any]:
        p = self.rng.choice(self.plan["persons"])
        return {
            "client_uuid": str(uuid.uuid4()),
            **p,
            "product_code": "PFIZER",
            "lot_number": "PF0002",
            "dose_number": 1,
            "dose_date": "2021-10-05",
            "site_id": self.plan["site_id"],
        }

    def acknowledge(self, body: dict[str, Any], dose: dict[str, Any] | None) -> None:
        self.acked.append(body["client_uuid"])
        if dose and dose.get("person_id") and dose.get("status") == "verified":
            self.people_with_doses.append(dose["person_id"])

    async def one(self, kind: str, c: dict[str, Any]) -> None:
        site, central, anon = c["site"], c["central"], c["anon"]
        if kind == "health":
            await self.call(anon, "health", "GET", "/api/v1/health")
        elif kind == "dose":
            body = self.dose_body()
            r = await self.call(site, "dose", "POST", "/api/v1/doses", json=body)
            if r is not None and r.status_code < 300:
                self.acknowledge(body, r.json())
        elif kind == "batch":
            bodies = [self.dose_body() for _ in range(BATCH_SIZE)]
            r = await self.call(
                site, "dose_batch", "POST", "/api/v1/doses:batch", json={"doses": bodies}
            )
            if r is not None and r.status_code < 300:
                for body, item in zip(bodies, r.json()["results"], strict=True):
                    if item["status"] < 300:
                        self.acknowledge(body, item["dose"])
        elif kind == "verify":
            p = self.rng.choice(self.plan["persons"])
            await self.call(
                site, "verify", "POST", "/api/v1/verify", json={"national_id": p["national_id"]}
            )
        elif kind == "lookup":
            await self.lookup(anon)
        elif kind == "dashboard":
            await self.call(central, "dashboard", "GET", "/api/v1/stats")
        elif kind == "certificate" and self.people_with_doses:
            pid = self.rng.choice(self.people_with_doses)
            if pid not in self.issued:
                self.issued.add(pid)
                await self.call(
                    central, "certificate_issue", "POST", f"/api/v1/persons/{pid}/certificate"
                )
            else:
                await self.call(
                    central,
                    "certificate_pdf",
                    "GET",
                    f"/api/v1/persons/{pid}/certificate",
                    params={"format": "pdf"},
                )

    async def lookup(self, anon: Any) -> None:
        """The citizen's web form (ID + date of birth), each citizen from its own address
        (``X-Forwarded-For``, trusted from loopback as behind the reverse proxy)."""
        import httpx

        ip = f"10.{self.rng.randrange(256)}.{self.rng.randrange(256)}.{self.rng.randrange(1, 255)}"
        p = self.rng.choice(self.plan["persons"])
        async with httpx.AsyncClient(
            base_url=self.base, timeout=30, headers={"X-Forwarded-For": ip}
        ) as c:
            page = await self.call(c, "lookup_form", "GET", "/lookup")
            if page is None or page.status_code != 200:
                return
            m = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            form = {
                "csrf_token": m.group(1) if m else "",
                "national_id": p["national_id"],
                "dob": "/".join(reversed(p["dob"].split("-"))),
            }
            await self.call(c, "lookup", "POST", "/lookup", data=form)

    async def arrivals(self, kind: str, rate: float, c: dict[str, Any], until: float) -> None:
        tasks: set[asyncio.Task[None]] = set()
        while time.time() < until:
            await asyncio.sleep(self.rng.expovariate(rate))
            task = asyncio.create_task(self.one(kind, c))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)

    async def main(self) -> dict[str, Any]:
        import httpx

        async def login(name: str) -> httpx.AsyncClient:
            r = httpx.post(
                f"{self.base}/api/v1/auth/token",
                data={"username": name, "password": PASSWORD},
                timeout=30,
            )
            r.raise_for_status()
            tok = r.json()["access_token"]
            return httpx.AsyncClient(
                base_url=self.base, timeout=30, headers={"Authorization": f"Bearer {tok}"}
            )

        c = {
            "site": await login("bench-site"),
            "central": await login("bench-central"),
            "anon": httpx.AsyncClient(base_url=self.base, timeout=30),
        }
        until = time.time() + self.plan["seconds"]
        await asyncio.gather(
            *(self.arrivals(k, r, c, until) for k, r in self.plan["rates"].items() if r > 0)
        )
        for client in c.values():
            await client.aclose()
        return {
            "routes": {k: _summary(v, self.statuses[k]) for k, v in sorted(self.lat.items())},
            "server_errors": self.server_errors,
            "retried_503": self.retried_503,
            "retried_transport": self.retried_transport,
            "gave_up": self.gave_up,
            "acked": self.acked,
        }


def _summary(ms: list[float], statuses: dict[str, int]) -> dict[str, Any]:
    ms = sorted(ms)

    def pct(q: float) -> float:
        return round(ms[min(len(ms) - 1, int(q * len(ms)))], 2)

    return {"count": len(ms), "p50_ms": pct(0.5), "p99_ms": pct(0.99), "statuses": statuses}


def client_main(plan_path: str) -> None:
    plan = json.loads(Path(plan_path).read_text(encoding="utf-8"))
    result = asyncio.run(Load(plan).main())
    Path(plan["out"]).write_text(json.dumps(result), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--people", type=int, default=100_000, help="register size")
    ap.add_argument("--scale", type=float, default=1.0, help="× a large province's peak day")
    ap.add_argument("--seed", type=int, default=20)
    ap.add_argument("--no-kill", action="store_true", help="do not SIGKILL a worker")
    ap.add_argument("--no-restart", action="store_true", help="do not restart PostgreSQL")
    ap.add_argument("--client", help=argparse.SUPPRESS)  # the client process's plan
    args = ap.parse_args()
    if args.client:
        client_main(args.client)
    else:
        run(args)


if __name__ == "__main__":
    main()
