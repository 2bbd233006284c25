"""Verification at the desk: verify() latency on a 10M-person register, in process and over HTTP.

1. Build (or reuse, cached in ``--dir``) a register of ``--people`` invented persons in SQLite
   (PostgreSQL: built in a throw-away server each run), with 1–3 doses for a sample.
2. In process: ``--calls`` verify() calls mixing chip-card QR payloads, ID only, name + date of
   birth, wrong fields and unknown IDs; p50/p99. Baseline in the same run: the bare indexed
   ``SELECT … WHERE national_id = ?`` on the same connection.
3. Over HTTP: a real uvicorn server (each of ``--workers``: 1 and 2 processes) and a separate
   client process (the lean keep-alive client of bench/_http.py), ``POST /api/v1/verify``
   with the same mix, throughput and p50/p99 per worker count; baseline
   ``GET /api/v1/health`` on the same server and client.
4. The query plans of the look-ups (EXPLAIN QUERY PLAN / EXPLAIN) go in the result file.

    nice -n 10 .venv/bin/python bench/verify.py --dir /tmp/verify-bench [--people N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import _register  # noqa: E402
from bench._common import RESULTS, Timer, write_result  # noqa: E402
from tiemchung.config import Settings  # noqa: E402
from tiemchung.registry.scope import Actor, Role  # noqa: E402
from tiemchung.store.db import make_engine, make_sessionmaker  # noqa: E402

PASSWORD = "bench-pass-123"
SEED = 7


def log(msg: str) -> None:
    print(msg, flush=True)


def build(url: str, data_dir: Path, people: int, dose_sample: int) -> dict[str, Any]:
    """Migrate, seed reference data and users, bulk-load persons and a dose sample."""
    from tiemchung.auth.users import create_user
    from tiemchung.installation import initialise

    settings = Settings(data_dir=data_dir, database_url=url)
    initialise(settings)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with sessions() as s:
        site_id = _register.seed_reference(s)
        system = Actor.system("bench")
        create_user(s, system, "bench-site", PASSWORD, Role.SITE, site_id=site_id)
        create_user(s, system, "bench-central", PASSWORD, Role.CENTRAL)
        s.commit()
    with Timer() as t:
        info = _register.load_persons(engine, people, SEED, progress=log)
    info["build_persons_total_s"] = round(t.seconds, 1)
    with Timer() as t:
        info["doses"] = _register.load_doses(engine, people, dose_sample, site_id, SEED)
    info["doses_load_s"] = round(t.seconds, 1)
    info["people"] = people
    info["site_id"] = site_id
    engine.dispose()
    return info


def sqlite_register(folder: Path, people: int, dose_sample: int) -> tuple[str, dict[str, Any]]:
    """The cached SQLite register (built once; a marker file says it is complete)."""
    db_dir = folder / f"sqlite-{people}"
    marker = db_dir / "built.json"
    url = f"sqlite:///{db_dir / 'tiemchung.db'}"
    if marker.exists():
        info = json.loads(marker.read_text())
        info["reused"] = True
        return url, info
    if db_dir.exists():
        for f in db_dir.iterdir():
            f.unlink()
    with Timer() as t:
        info = build(url, db_dir, people, dose_sample)
    info["build_total_s"] = round(t.seconds, 1)
    info["db_bytes"] = (db_dir / "tiemchung.db").stat().st_size
    marker.write_text(json.dumps(info))
    info["reused"] = False
    return url, info


MIX = {"qr": 0.25, "id_only": 0.2, "name_dob": 0.2, "wrong_fields": 0.2, "unknown_id": 0.15}


def _qr(p: dict[str, Any]) -> str:
    y, m, d = p["dob"].split("-")
    sex = "Nam" if p["sex"] == "M" else "Nữ"
    old = p["old_id"] or ""
    return f"{p['national_id']}|{old}|{p['full_name']}|{d}{m}{y}|{sex}|Thôn 1|31122021\r\n"


def queries(people: list[dict[str, Any]], n: int, seed: int) -> list[tuple[str, dict[str, Any]]]:
    """``n`` verification requests in the MIX proportions (kind, request fields)."""
    from tiemchung.identity import fold_name

    rng = random.Random(seed)
    kinds = rng.choices(list(MIX), weights=list(MIX.values()), k=n)
    out = []
    for kind in kinds:
        p = rng.choice(people)
        full = len(p["dob"]) == 10
        if kind == "qr" and full:
            out.append((kind, {"qr": _qr(p)}))
        elif kind in ("qr", "id_only"):
            nid = p["national_id"]
            out.append(("id_only", {"national_id": f"{nid[:3]} {nid[3:6]} {nid[6:]}"}))
        elif kind == "name_dob":
            dob = "/".join(reversed(p["dob"].split("-")))
            out.append((kind, {"full_name": p["full_name"].upper(), "dob": dob}))
        elif kind == "wrong_fields":
            out.append(
                (
                    kind,
                    {
                        "national_id": p["national_id"],
                        "full_name": fold_name(p["full_name"]).title(),
                        "dob": p["dob"][:4],
                        "sex": "F" if p["sex"] == "M" else "M",
                    },
                )
            )
        else:
            out.append((kind, {"national_id": "0014" + f"{rng.randrange(10**8):08d}"}))
    return out


def _pct(values: list[float]) -> dict[str, float]:
    lat = sorted(values)
    return {
        "calls": len(lat),
        "p50_ms": round(statistics.median(lat) * 1000, 3),
        "p99_ms": round(lat[max(0, int(len(lat) * 0.99) - 1)] * 1000, 3),
        "max_ms": round(lat[-1] * 1000, 3),
        "mean_ms": round(statistics.fmean(lat) * 1000, 3),
    }


def _full_scan(plan: list[str], sqlite: bool) -> bool:
    """A scan of the big tables (products, seven rows, is rightly scanned)."""
    marks = (
        ("SCAN persons", "SCAN doses") if sqlite else ("Seq Scan on persons", "Seq Scan on doses")
    )
    return any(m in line for line in plan for m in marks)


def query_plans(
    engine: Any, actor: Actor, reqs: list[tuple[str, dict[str, Any]]]
) -> dict[str, Any]:
    """The plan of every statement verify() runs, one request of each kind; flags full scans."""
    from sqlalchemy import event

    from tiemchung.registry.doses.verify import VerifyRecord, verify

    seen: dict[str, tuple[str, Any]] = {}

    def capture(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.setdefault(statement, (statement, params))

    sessions = make_sessionmaker(engine)
    first = {}
    for kind, rec in reqs:
        first.setdefault(kind, rec)
    event.listen(engine, "before_cursor_execute", capture)
    try:
        with sessions() as s:
            for rec in first.values():
                verify(s, actor, VerifyRecord(**rec), audit=False)
            s.rollback()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    plans = []
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        for statement, params in seen.values():
            prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
            rows = conn.exec_driver_sql(prefix + statement, params).all()
            text_plan = [str(r[-1] if sqlite else r[0]) for r in rows]
            full_scan = _full_scan(text_plan, sqlite)
            plans.append(
                {"sql": " ".join(statement.split()), "plan": text_plan, "full_scan": full_scan}
            )
    return {"statements": plans, "any_full_scan": any(p["full_scan"] for p in plans)}


def in_process(url: str, actor: Actor, reqs: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """verify() in this process (audit rows inserted, committed every 100 calls), and the bare
    indexed SELECT by national_id on the same connection as the baseline."""
    from tiemchung.registry.doses.verify import VerifyRecord, verify

    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    per_kind: dict[str, list[float]] = {}
    all_lat: list[float] = []
    statuses: dict[str, int] = {}
    commits: list[float] = []
    records = [(k, VerifyRecord(**r)) for k, r in reqs]
    with sessions() as s:
        for _kind, rec in records[:300]:  # warm the caches and SQLAlchemy's statement cache
            verify(s, actor, rec)
        s.rollback()
        for i, (kind, rec) in enumerate(records):
            t0 = time.perf_counter()
            v = verify(s, actor, rec)
            dt = time.perf_counter() - t0
            all_lat.append(dt)
            per_kind.setdefault(kind, []).append(dt)
            statuses[v.status] = statuses.get(v.status, 0) + 1
            if i % 100 == 99:
                t1 = time.perf_counter()
                s.commit()
                commits.append(time.perf_counter() - t1)
        s.commit()
    ids = [r["national_id"] for _, r in reqs if "national_id" in r][:5000]
    ids = [i.replace(" ", "") for i in ids]
    base: list[float] = []
    with engine.connect() as conn:
        mark = "?" if engine.dialect.name == "sqlite" else "%s"
        sql = (
            "SELECT id, person_id, national_id, full_name, dob, sex, ward_code "
            f"FROM persons WHERE national_id = {mark}"
        )
        for nid in ids[:300]:
            conn.exec_driver_sql(sql, (nid,)).all()
        for nid in ids:
            t0 = time.perf_counter()
            conn.exec_driver_sql(sql, (nid,)).all()
            base.append(time.perf_counter() - t0)
    engine.dispose()
    out = {"all": _pct(all_lat), "by_kind": {k: _pct(v) for k, v in per_kind.items()}}
    out["statuses"] = statuses
    out["commit_every_100_calls"] = _pct(commits)
    out["baseline_select_by_national_id"] = _pct(base)
    out["p50_ratio_to_baseline"] = round(
        out["all"]["p50_ms"] / out["baseline_select_by_national_id"]["p50_ms"], 1
    )
    return out


def over_http(
    url: str, data_dir: Path, reqs: list[tuple[str, dict[str, Any]]], args: argparse.Namespace
) -> dict[str, Any]:
    """The same load against a server of each ``--workers`` count (issue 20 point 10: the
    throughput per worker count), keyed ``workers<N>``; the one-worker figures also stay at
    the top level, where earlier results have them."""
    out: dict[str, Any] = {}
    for workers in args.workers:
        out[f"workers{workers}"] = _over_http(url, data_dir, reqs, args, workers)
        log(f"  workers={workers} done")
    if 1 in args.workers:
        out |= out["workers1"]
    return out


def _over_http(
    url: str,
    data_dir: Path,
    reqs: list[tuple[str, dict[str, Any]]],
    args: argparse.Namespace,
    workers: int,
) -> dict[str, Any]:
    """A real uvicorn server of ``workers`` processes; this process is the client
    (bench/ingest.py's)."""

    from bench.ingest import load, measured, start_server

    port = 19000 + random.randint(0, 999)
    server, token = start_server(url, data_dir, port, workers)
    try:
        bodies = [json.dumps(r, ensure_ascii=False).encode() for _, r in reqs]
        out: dict[str, Any] = {}
        for conc in args.http_concurrency:
            n = len(bodies) if conc > 1 else min(len(bodies), 5000)
            out[f"health_c{conc}"] = measured(
                server.pid,
                lambda c=conc: asyncio.run(
                    load(port, token, None, path="/api/v1/health", concurrency=c,
                         seconds=4, method="GET")
                ),
            )  # fmt: skip
            out[f"verify_c{conc}"] = measured(
                server.pid,
                lambda c=conc, n=n: asyncio.run(
                    load(port, token, bodies[:n], path="/api/v1/verify", concurrency=c,
                         seconds=None)
                ),
            )  # fmt: skip
            log(f"  http c={conc}: {out[f'verify_c{conc}']}")
        return out
    finally:
        server.terminate()
        server.wait(20)


def run_backend(
    name: str, url: str, data_dir: Path, info: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    engine = make_engine(url)
    people = _register.sample_persons(engine, info["people"], 20_000, SEED + 1)
    with engine.connect() as conn:
        site_user = conn.exec_driver_sql(
            "SELECT id FROM users WHERE username = 'bench-site'"
        ).scalar()
    actor = Actor(site_user, "bench-site", Role.SITE, site_id=info["site_id"])
    reqs = queries(people, args.calls, SEED + 2)
    plans = query_plans(engine, actor, reqs)
    engine.dispose()
    log(f"[{name}] plans: any full scan = {plans['any_full_scan']}")
    result: dict[str, Any] = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "loadavg_1_5_15_at_start": [round(x, 2) for x in os.getloadavg()],
        "register": info,
        "query_plans": plans,
    }
    result["in_process"] = in_process(url, actor, reqs)
    ip = result["in_process"]
    log(f"[{name}] in process: {ip['all']} baseline {ip['baseline_select_by_national_id']}")
    if args.http_calls:
        http_reqs = queries(people, args.http_calls, SEED + 3)
        result["http"] = over_http(url, data_dir, http_reqs, args)
    return result


def run_postgres(args: argparse.Namespace) -> dict[str, Any]:
    """PostgreSQL in a throw-away server: built each run (COPY), then measured the same way."""
    from tests.pgserver import PostgresServer

    pg = PostgresServer().start()
    try:
        url = pg.create_database("bench")
        data_dir = args.dir / "pg"
        data_dir.mkdir(parents=True, exist_ok=True)
        with Timer() as t:
            info = build(url, data_dir, args.pg_people, args.dose_sample)
        info["build_total_s"] = round(t.seconds, 1)
        info["reused"] = False
        log(f"[postgresql] register: {json.dumps(info)}")
        return run_backend("postgresql", url, data_dir, info, args)
    finally:
        pg.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dir", type=Path, required=True, help="cache folder for the register")
    ap.add_argument("--people", type=int, default=10_000_000)
    ap.add_argument("--dose-sample", type=int, default=300_000, help="persons with doses")
    ap.add_argument("--calls", type=int, default=20_000, help="in-process verify() calls")
    ap.add_argument("--http-calls", type=int, default=20_000)
    ap.add_argument(
        "--http-concurrency", type=lambda v: [int(x) for x in v.split(",")], default=[1, 8]
    )
    ap.add_argument("--pg-people", type=int, default=10_000_000)
    ap.add_argument(
        "--workers",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[1, 2],
        help="uvicorn worker counts to measure over HTTP, e.g. 1,2 / số tiến trình máy chủ",
    )
    ap.add_argument("--backends", default="sqlite")
    ap.add_argument("--build-only", action="store_true")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    for name in args.backends.split(","):
        if name == "sqlite":
            url, info = sqlite_register(args.dir, args.people, args.dose_sample)
            log(f"[sqlite] register: {json.dumps(info)}")
            if args.build_only:
                continue
            results[name] = run_backend(name, url, args.dir / f"sqlite-{args.people}", info, args)
        else:
            results[name] = run_postgres(args)
    if args.build_only:
        return
    previous = RESULTS / "verify.json"
    if previous.exists():  # backends measured in an earlier run are kept, each with its date
        kept = json.loads(previous.read_text()).get("results", {})
        results = {k: v for k, v in kept.items() if k not in results} | results
    path = write_result(
        "verify",
        inputs={
            "people": args.people,
            "dose_sample": args.dose_sample,
            "calls_in_process": args.calls,
            "calls_http": args.http_calls,
            "http_concurrency": args.http_concurrency,
            "workers": args.workers,
            "pg_people": args.pg_people,
            "mix": MIX,
            "targets": {"in_process_p99_ms": 10, "http_p99_ms": 30},
        },
        results=results,
        packages=["fastapi", "uvicorn", "sqlalchemy", "psycopg", "pydantic", "numpy"],
    )
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
