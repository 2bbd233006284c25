"""Ingest benchmark: a real uvicorn server loaded over loopback from this separate process.

For SQLite and PostgreSQL (a throw-away server started here):
  1. import a register snapshot CSV (default 1M invented persons) — rows/s;
  2. single POST /doses at a fixed concurrency — doses/s, p50/p99 latency at saturation;
     then paced at the target rate (``--rate``, open loop) — the latency a site sees there;
  3. batched POST /doses:batch (1,000 per request) — doses/s, p50/p99 per batch;
  4. baseline in the same run: GET /api/v1/health on the same server and client, the
     framework's ceiling on this machine, to report the dose path as a ratio of it.

    .venv/bin/python bench/ingest.py [--people N] [--single N] [--batches N]
        [--phases health,single,paced,batched] [--stock] [--stored N]

``--stock`` receives the doses' lot at the site first, so every dose write runs the stock
check (``stock_left`` counting what the site gave from the lot); without it the lot is not
tracked and the check stops after one query. ``--stored N`` stores N doses of that lot at
that site before the load, to see whether the check grows with the doses stored.

On PostgreSQL the database server's own CPU per dose is reported beside the API server's: on
two cores it competes with the server and the load generator, so it is part of the cost.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.pgserver import PostgresServer  # noqa: E402

from bench._common import Timer, write_result  # noqa: E402
from bench._http import Connection  # noqa: E402
from tiemchung.auth.users import create_user  # noqa: E402
from tiemchung.columns import REGISTER_COLUMNS  # noqa: E402
from tiemchung.config import Settings  # noqa: E402
from tiemchung.demo import DEMO_PROVINCE, invent_people, seed_reference  # noqa: E402
from tiemchung.identity import iter_admin_units  # noqa: E402
from tiemchung.installation import initialise  # noqa: E402
from tiemchung.registry.catalog.lots import LotReceipt, receive_lot  # noqa: E402
from tiemchung.registry.catalog.stock import MAX_QUANTITY  # noqa: E402
from tiemchung.registry.imports.register import import_register  # noqa: E402
from tiemchung.registry.models import Lot  # noqa: E402
from tiemchung.registry.scope import Actor, Role  # noqa: E402
from tiemchung.store.db import make_engine, make_sessionmaker  # noqa: E402

PASSWORD = "bench-pass-123"
#: The load phases, in the order they run (``--phases`` picks some).
PHASES = ("health", "single", "paced", "batched")


def write_register(path: Path, n: int) -> list[dict[str, Any]]:
    wards = [
        u
        for u in iter_admin_units("2021")
        if u.level == "ward" and u.province_code == DEMO_PROVINCE
    ]
    rng = random.Random(7)
    cols = list(REGISTER_COLUMNS)
    people = []
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for p in invent_people(n, wards, rng):
            w.writerow([p[c] for c in cols])
            people.append(
                {
                    "national_id": p["national_id"],
                    "full_name": p["full_name"],
                    "dob": p["dob"],
                    "sex": p["sex"],
                    "ward_code": p["ward_code"],
                }
            )
    return people


def receive_stock(s: Any, site_id: str) -> None:
    """Track the bench's lot at its site with far more doses than the run gives, so the
    dose path counts what the site gave from it on every write (and never refuses one)."""
    lot = s.scalar(select(Lot).where(Lot.lot_number == "PF0002"))
    receipt = LotReceipt(lot.product_code, lot.lot_number, lot.expiry, site_id, MAX_QUANTITY)
    receive_lot(s, Actor.system("bench"), receipt, today=min(date.today(), lot.expiry))
    s.commit()


def prepare(settings: Settings, register_csv: Path, stock: bool = False) -> dict[str, Any]:
    initialise(settings)
    engine = make_engine(settings.resolved_database_url)
    sessions = make_sessionmaker(engine)
    wards = [
        u
        for u in iter_admin_units("2021")
        if u.level == "ward" and u.province_code == DEMO_PROVINCE
    ][:8]
    with sessions() as s:
        sites = seed_reference(s, wards, random.Random(1))
        s.commit()
        if stock:
            receive_stock(s, sites[0].site_id)
        create_user(
            s, Actor.system("bench"), "bench-site", PASSWORD, Role.SITE, site_id=sites[0].site_id
        )
        s.commit()
        with Timer() as t:
            report = import_register(s, Actor.system("bench"), register_csv)
    engine.dispose()
    return {
        "site_id": sites[0].site_id,
        "import_seconds": round(t.seconds, 2),
        "import_rows": report.rows_imported,
        "import_rows_per_s": round(report.rows_imported / t.seconds),
    }


def bare_insert(url: str, site_id: str, batches: int) -> dict[str, Any]:
    """Baseline in the same run: what the database alone takes to store batches of 1,000
    dose rows and their audit rows (one driver executemany each, one commit per batch) — the
    floor under POST /doses:batch, measured on the same database and machine."""
    engine = make_engine(url)
    sqlite = url.startswith("sqlite")
    mark = "?" if sqlite else "%s"
    with engine.connect() as c:
        lot_id = c.exec_driver_sql("SELECT id FROM lots WHERE lot_number = 'PF0002'").scalar()
    cols = (
        "client_uuid, submission_hash, full_name, product_code, lot_id, dose_number, "
        "dose_date, site_id, status, area_ward_code, area_province_code"
    )
    dose_sql = f"INSERT INTO doses ({cols}) VALUES ({', '.join([mark] * 11)})"
    audit_sql = (
        "INSERT INTO audit_log (user_id, username, action, entity, entity_id, detail) "
        f"VALUES ({', '.join([mark] * 5)}, {mark if sqlite else 'CAST(%s AS JSON)'})"
    )
    raw = engine.raw_connection()
    cpu0, t0 = time.thread_time(), time.perf_counter()
    try:
        for b in range(batches):
            cur = raw.cursor()
            if sqlite:
                cur.execute("BEGIN IMMEDIATE")
            rows = []
            for i in range(1000):
                u = uuid.uuid4()
                rows.append(
                    (
                        u.hex if sqlite else u,
                        "0" * 64,
                        f"Baseline {b}-{i}",
                        "PFIZER",
                        lot_id,
                        1,
                        "2021-10-05",
                        site_id,
                        "unverified",
                        None,
                        "40",
                    )
                )
            cur.executemany(dose_sql, rows)
            cur.executemany(
                audit_sql,
                [
                    (None, "baseline", "dose.create", "dose", str(i), '{"status": "unverified"}')
                    for i in range(1000)
                ],
            )
            raw.commit()
            cur.close()
    finally:
        raw.close()
        engine.dispose()
    wall, cpu = time.perf_counter() - t0, time.thread_time() - cpu0
    return {
        "batches_of_1000": batches,
        "seconds": round(wall, 2),
        "doses_per_s": round(batches * 1000 / wall),
        "client_cpu_us_per_dose": round(cpu / batches / 1000 * 1e6, 1),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process (and its reaped children) has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def server_pids(pid: int) -> list[int]:
    """The server process and its worker processes (``--workers N`` forks children)."""
    kids = Path(f"/proc/{pid}/task/{pid}/children")
    children = [int(x) for x in kids.read_text().split()] if kids.exists() else []
    return [pid, *children]


def loop_thread_cpu(pid: int) -> float:
    """CPU seconds of a server process's main thread: the event loop (HTTP, validation,
    serialisation). The rest of the process's CPU is its other threads' — the writer above
    all, and the thread pool — counted from the process total, which keeps the time of
    threads that ended (thread-pool workers come and go; summing the live threads lost it)."""
    stat = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


def _pg_kind(title: str) -> str:
    """A PostgreSQL child's kind from its process title: ``backend`` for a connection
    (``postgres: USER DB HOST ...``), else the title's words (``autovacuum worker``, ...)."""
    words = title.removeprefix("postgres: ").split()
    if words and words[0] == "postgres":  # the connecting user: a client backend
        return "backend"
    if words[:2] in (["autovacuum", "worker"], ["parallel", "worker"]):
        return " ".join(words[:2])
    return " ".join(words) or "other"


def db_cpu_seconds(postmaster: int | None) -> dict[str, float]:
    """CPU time of the PostgreSQL server's processes by kind (``backend`` for connections,
    ``autovacuum worker``, ``walwriter``, ...; ``exited`` for children already reaped, such as
    finished autovacuum and parallel workers); empty for SQLite, which runs in the server."""
    if postmaster is None:
        return {}
    tick = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {}
    for pid in server_pids(postmaster):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # a process that ended meanwhile
        if pid == postmaster:
            kinds = {"postmaster": fields[11:13], "exited": fields[13:15]}
        else:
            kinds = {_pg_kind(title): fields[11:15]}
        for kind, ticks in kinds.items():
            used[kind] = used.get(kind, 0.0) + sum(int(x) for x in ticks) / tick
    return used


def measured(
    server_pid: int,
    phase: Any,
    profile: tuple[str, Path] | None = None,
    db_pid: int | None = None,
) -> dict[str, Any]:
    """Run a load phase and add the server's CPU per request, the clearest limit here.

    ``profile`` = (py-spy binary, output file): sample the live server during the phase, so
    the profile is of the real request path under real load, not of a test double.
    ``db_pid``: PostgreSQL's postmaster, whose CPU during the phase is reported too.
    """
    pids = server_pids(server_pid)
    before = sum(cpu_seconds(p) for p in pids)
    db_before = db_cpu_seconds(db_pid)
    loop_before = sum(loop_thread_cpu(p) for p in pids)
    spy = None
    if profile is not None:
        binary, out_file = profile
        spy = subprocess.Popen(
            [
                binary,
                "record",
                "--pid",
                str(pids[-1]),
                "--rate",
                "200",
                "--format",
                "raw",
                "--output",
                str(out_file),
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
        )
        time.sleep(0.5)
    out: dict[str, Any] = phase()
    used = sum(cpu_seconds(p) for p in pids) - before
    db_after = db_cpu_seconds(db_pid)
    db_by_kind = {
        k: round(v - db_before.get(k, 0.0), 2)
        for k, v in db_after.items()
        if v - db_before.get(k, 0.0) >= 0.01
    }
    db_used = sum(db_after.values()) - sum(db_before.values())
    loop = sum(loop_thread_cpu(p) for p in pids) - loop_before
    other = used - loop
    if spy is not None:
        spy.send_signal(2)
        spy.wait(30)
    out["server_cpu_s"] = round(used, 2)
    out["server_cpu_ms_per_request"] = round(used / out["requests"] * 1000, 3)
    out["server_cpu_share_of_one_core"] = round(used / out["seconds"], 2)
    # Where it goes: HTTP, validation and serialisation run on the event-loop thread; the
    # dose path and the commits on the writer thread.
    out["server_cpu_ms_per_request_event_loop"] = round(loop / out["requests"] * 1000, 3)
    out["server_cpu_ms_per_request_other_threads"] = round(other / out["requests"] * 1000, 3)
    if db_pid is not None:
        out["db_cpu_s"] = round(db_used, 2)
        out["db_cpu_ms_per_request"] = round(db_used / out["requests"] * 1000, 3)
        out["db_cpu_s_by_process"] = db_by_kind
    return out


def dose(person: dict[str, Any], site_id: str) -> dict[str, Any]:
    return {
        "client_uuid": str(uuid.uuid4()),
        **person,
        "product_code": "PFIZER",
        "lot_number": "PF0002",
        "dose_number": 1,
        "dose_date": "2021-10-05",
        "site_id": site_id,
    }


async def load(
    port: int,
    token: str,
    requests: list[bytes] | None,
    *,
    path: str,
    concurrency: int,
    seconds: float | None,
    method: str = "POST",
    rate: float | None = None,
) -> dict[str, Any]:
    """Send the pre-built bodies (or GETs for ``seconds``) on ``concurrency`` connections.

    With ``rate``, request *k* is due at ``start + k / rate`` (an open loop, as sites send):
    its latency runs from when it was due, so time spent waiting for a free connection counts
    (no coordinated omission); without it, each connection sends as soon as it is answered."""
    headers = {"Authorization": f"Bearer {token}"}
    conns = [await Connection("127.0.0.1", port, headers).open() for _ in range(concurrency)]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue = list(reversed(requests)) if requests is not None else None
    deadline = time.perf_counter() + seconds if seconds else None

    sent = 0

    async def worker(conn: Connection) -> None:
        nonlocal sent
        get_raw = conn.encode("GET", path)
        while True:
            if queue is not None:
                if not queue:
                    return
                raw = conn.encode(method, path, queue.pop())
            else:
                if deadline is not None and time.perf_counter() > deadline:
                    return
                raw = get_raw
            t0 = time.perf_counter()
            if rate is not None:
                due = start + sent / rate
                sent += 1
                if due > t0:
                    await asyncio.sleep(due - t0)
                t0 = due
            status, _ = await conn.request(raw)
            latencies.append(time.perf_counter() - t0)
            statuses[status] = statuses.get(status, 0) + 1

    start = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    wall = time.perf_counter() - start
    for c in conns:
        c.close()
    lat = sorted(latencies)
    return {
        "requests": len(lat),
        "seconds": round(wall, 2),
        "requests_per_s": round(len(lat) / wall, 1),
        "p50_ms": round(statistics.median(lat) * 1000, 2),
        "p99_ms": round(lat[int(len(lat) * 0.99) - 1] * 1000, 2),
        "statuses": statuses,
    }


def start_server(url: str, data_dir: Path, port: int, workers: int = 1) -> tuple[Any, str]:
    """A real uvicorn server on ``port`` over the store at ``url``, started as its own
    process and answering; returns it and a token of the seeded ``bench-site`` user."""
    import httpx

    env = dict(
        os.environ,
        TIEMCHUNG_DATABASE_URL=url,
        TIEMCHUNG_DATA_DIR=str(data_dir),
        TIEMCHUNG_LOG_LEVEL="WARNING",
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "tiemchung.server:create_app", "--factory",
         "--port", str(port), "--no-access-log", "--workers", str(workers),
         "--log-level", "warning"],
        env=env,
    )  # fmt: skip
    try:
        for _ in range(300):
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        token = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/auth/token",
            data={"username": "bench-site", "password": PASSWORD},
        ).json()["access_token"]
    except BaseException:
        server.terminate()
        raise
    return server, token


def run_backend(
    name: str,
    url: str,
    data_dir: Path,
    people: list[dict[str, Any]],
    register_csv: Path,
    args: argparse.Namespace,
    db_pid: int | None = None,
) -> dict[str, Any]:
    settings = Settings(data_dir=data_dir, database_url=url)
    info = prepare(settings, register_csv, args.stock)
    print(
        f"[{name}] register import: {info['import_rows']:,} rows in {info['import_seconds']} s",
        flush=True,
    )
    baseline_insert = bare_insert(url, info["site_id"], 10)
    print(f"[{name}] bare executemany baseline: {baseline_insert}", flush=True)
    if args.stored:
        bare_insert(url, info["site_id"], args.stored // 1000)
        print(f"[{name}] {args.stored // 1000 * 1000:,} more doses stored at the site", flush=True)
    port = 18000 + random.randint(0, 999)
    server, token = start_server(url, data_dir, port, workers=args.workers)
    phases = set(args.phases.split(","))
    try:
        site = info["site_id"]
        pool = iter(people)
        # Warm-up, not measured: the first dose loads the reference-data catalog (10,000
        # wards, refreshed every 5 minutes after), which would otherwise be charged to the
        # first phase's per-request CPU.
        for _ in range(2 * args.workers):
            warm = httpx.post(
                f"http://127.0.0.1:{port}/api/v1/doses",
                json=dose(next(pool), site),
                headers={"Authorization": f"Bearer {token}"},
            )
            assert warm.status_code == 201, warm.text
        result: dict[str, Any] = {"register_import": info, "baseline_insert": baseline_insert}
        conc = args.concurrency
        spy = Path(args.py_spy) if args.py_spy else None
        if "health" in phases:
            result["baseline_health"] = measured(
                server.pid,
                lambda: asyncio.run(
                    load(
                        port,
                        token,
                        None,
                        path="/api/v1/health",
                        concurrency=conc,
                        seconds=args.seconds / 2,
                        method="GET",
                    )
                ),
                db_pid=db_pid,
            )
        if "single" in phases:
            singles = [json.dumps(dose(next(pool), site)).encode() for _ in range(args.single)]
            result["single"] = measured(
                server.pid,
                lambda: asyncio.run(
                    load(
                        port,
                        token,
                        singles,
                        path="/api/v1/doses",
                        concurrency=conc,
                        seconds=None,
                    )
                ),
                (str(spy), data_dir / f"profile-{name}-single.txt") if spy else None,
                db_pid=db_pid,
            )
        if "paced" in phases:
            # latency at the target rate (1,000 single POSTs/s, open loop), not at saturation
            paced = [json.dumps(dose(next(pool), site)).encode() for _ in range(args.paced)]
            result["single_at_target_rate"] = measured(
                server.pid,
                lambda: asyncio.run(
                    load(
                        port,
                        token,
                        paced,
                        path="/api/v1/doses",
                        concurrency=64,
                        seconds=None,
                        rate=args.rate,
                    )
                ),
                db_pid=db_pid,
            )
            result["single_at_target_rate"]["offered_per_s"] = args.rate
        if "batched" in phases:
            batches = [
                json.dumps({"doses": [dose(next(pool), site) for _ in range(1000)]}).encode()
                for _ in range(int(args.batches))
            ]
            b = measured(
                server.pid,
                lambda: asyncio.run(
                    load(
                        port,
                        token,
                        batches,
                        path="/api/v1/doses:batch",
                        concurrency=args.batch_concurrency,
                        seconds=None,
                    )
                ),
                (str(spy), data_dir / f"profile-{name}-batched.txt") if spy else None,
                db_pid=db_pid,
            )
            b["doses_per_s"] = round(b["requests_per_s"] * 1000, 1)
            b["server_cpu_us_per_dose"] = round(b["server_cpu_ms_per_request"], 1)
            if db_pid is not None:
                b["db_cpu_us_per_dose"] = round(b["db_cpu_ms_per_request"], 1)
            b["vs_bare_insert_ratio"] = round(b["doses_per_s"] / baseline_insert["doses_per_s"], 3)
            result["batched"] = b
        if {"single", "health"} <= phases:
            result["single_vs_health_ratio"] = round(
                result["single"]["requests_per_s"] / result["baseline_health"]["requests_per_s"],
                3,
            )
        print(f"[{name}] {json.dumps({k: v for k, v in result.items()}, indent=1)}", flush=True)
        return result
    finally:
        server.terminate()
        server.wait(20)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--people", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--single", type=int, default=20_000, help="single POSTs per backend")
    ap.add_argument("--batches", type=int, default=60, help="1,000-dose batches per backend")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--rate", type=float, default=1000.0, help="offered single POSTs/s (paced)")
    ap.add_argument("--paced", type=int, default=10_000, help="paced single POSTs per backend")
    ap.add_argument("--batch-concurrency", type=int, default=2)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    ap.add_argument("--result-name", default="ingest", help="bench/results/<name>.json")
    ap.add_argument("--py-spy", help="py-spy binary: profile the server during each phase")
    ap.add_argument(
        "--phases",
        default=",".join(PHASES),
        help="which load phases to run (comma-separated; e.g. batched while iterating)",
    )
    ap.add_argument("--stock", action="store_true", help="track the lot: the stock check runs")
    ap.add_argument("--stored", type=int, default=0, help="doses stored at the site beforehand")
    args = ap.parse_args()
    backends = args.backends.split(",")
    unknown = set(args.phases.split(",")) - set(PHASES)
    if unknown:
        ap.error(f"unknown phases {sorted(unknown)}; choose from {', '.join(PHASES)}")
    need = args.single + args.paced + args.batches * 1000 + 2 * args.workers
    if need > args.people:
        ap.error(f"--people must be at least {need} (one fresh person per dose)")

    work = Path(tempfile.mkdtemp(prefix="tiemchung-bench-"))
    print(f"work directory: {work}", flush=True)
    register_csv = work / "register.csv"
    with Timer() as t:
        people = write_register(register_csv, args.people)
    print(f"register CSV: {args.people:,} rows written in {t.seconds:.1f} s", flush=True)
    results: dict[str, Any] = {}
    for name in backends:
        random.Random(name).shuffle(people)
        if name == "sqlite":
            url = f"sqlite:///{work / 'sqlite' / 'tiemchung.db'}"
            results[name] = run_backend(name, url, work / "sqlite", people, register_csv, args)
        else:
            pg = PostgresServer().start()
            try:
                pg.create_database("bench")
                postmaster = int((pg.datadir / "postmaster.pid").read_text().split()[0])
                results[name] = run_backend(
                    name, pg.url("bench"), work / "pg", people, register_csv, args, postmaster
                )
            finally:
                pg.stop()
    path = write_result(
        args.result_name,
        inputs={
            "people": args.people,
            "single_posts": args.single,
            "batches_of_1000": args.batches,
            "concurrency": args.concurrency,
            "batch_concurrency": args.batch_concurrency,
            "server_workers": args.workers,
            "phases": args.phases.split(","),
            "stock_tracked": args.stock,
            "stored_before": args.stored,
            "targets": {
                "single_per_s": 1000,
                "batched_doses_per_s": 10000,
                "p99_ms": 50,
                "register_1m_import_s": 120,
            },
        },
        results=results,
        packages=["fastapi", "uvicorn", "sqlalchemy", "psycopg", "pydantic"],
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
