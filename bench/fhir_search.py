"""Issue 19's target (``bench/fhir.py search``): ``GET /fhir/R4/Immunization?patient=`` for
random persons, p99 ≤ 30 ms over HTTP against a store of ``--people`` persons (10M) on
PostgreSQL, ``--clients`` concurrent keep-alive clients (8).

  1. a throw-away PostgreSQL server; ``tiemchung init``; the register bulk-loaded by
     ``bench/_register.py`` (COPY, indexes rebuilt after); then 1–3 doses a person (2.1 on
     average) by COPY, dose 1 of everyone before any dose 2 (a person's doses lie far apart
     in the table, as doses months apart do), the doses' indexes rebuilt after — none of it
     measured;
  2. the server under uvicorn (its own process, ``--workers``) and a central user's token;
  3. the load: each client asks for a random person's Immunizations for ``--seconds``;
     latency per request, statuses; a sample of answers parsed with the ``fhir.resources``
     R4B Bundle model and its entry count checked against the doses written for that person;
  4. baselines in the same run: ``GET /api/v1/health`` under the same load (the HTTP stack
     alone), and the search's own query (``registry/doses/immunizations.search_immunizations``)
     called in this process one at a time (the database alone), with its ``EXPLAIN ANALYZE``.

    nice -n 10 .venv/bin/python bench/fhir.py search [--people 10000000] [--clients 8]
        [--seconds 30] [--workers 1]

Everyone in the store is made up. Writes bench/results/fhir_search.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import _register  # noqa: E402
from bench._common import Timer, write_result  # noqa: E402
from bench._http import Connection  # noqa: E402

SEED = 19
USER, PASSWORD = "bench-partner", "Partner-Load-Test-2026"
PRODUCTS = ("PFIZER", "AZ", "MODERNA", "VEROCELL")
#: doses a person: 1 (10%), 2 (70%), 3 (20%)
DOSE_COUNTS = ((1, 0.1), (2, 0.7), (3, 0.2))


def log(msg: str) -> None:
    print(msg, flush=True)


def person_id(index: int) -> str:
    """The register id ``bench/_register.py`` gives person ``index`` (its pk is index+1)."""
    return f"P{index:010d}"


def dose_plan(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per person: how many doses, which product (deterministic per seed)."""
    rng = np.random.default_rng([seed, 19])
    counts = rng.choice([c for c, _ in DOSE_COUNTS], n, p=[p for _, p in DOSE_COUNTS])
    products = rng.integers(0, len(PRODUCTS), n)
    return counts.astype(np.int8), products.astype(np.int8)


def _table_indexes(conn: Any, table: str) -> list[tuple[str, str]]:
    q = (
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
    )
    return [(r[0], r[1]) for r in conn.exec_driver_sql(q, (table,))]


def load_doses(engine: Any, n: int, site: tuple[str, str, str], seed: int) -> dict[str, Any]:
    """Every person's doses by COPY, pass by pass (dose 1 of all, then dose 2…)."""
    site_id, ward, province = site
    counts, products = dose_plan(n, seed)
    with engine.begin() as conn:
        indexes = _table_indexes(conn, "doses")
        for name, _sql in indexes:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
    cols = (
        "client_uuid, submission_hash, person_pk, full_name, product_code, dose_number, "
        "dose_date, site_id, status, area_ward_code, area_province_code, link_source"
    )
    t0 = time.perf_counter()
    written = 0
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        # the rows are made consistent here (persons 1..n, the seeded site and products): no
        # foreign-key trigger per row, as a restore loads (the server is ours, superuser)
        cur.execute("SET session_replication_role = replica")
        chunk = 200_000
        for number in (1, 2, 3):
            who = np.flatnonzero(counts >= number)
            for start in range(0, len(who), chunk):
                part = who[start : start + chunk]
                lines = []
                for idx in part.tolist():
                    written += 1
                    day = 738_000 + (idx % 120) + 35 * (number - 1)  # ordinals in 2021
                    lines.append(
                        f"{written:032x}\t{'0' * 64}\t{idx + 1}\t-\t{PRODUCTS[products[idx]]}\t"
                        f"{number}\t{_iso(day)}\t{site_id}\tverified\t{ward}\t{province}\tentry\n"
                    )
                with cur.copy(f"COPY doses ({cols}) FROM STDIN") as copy:
                    copy.write("".join(lines).encode())
                raw.commit()
            log(f"  doses: pass {number} done, {written:,} ({time.perf_counter() - t0:.0f} s)")
    finally:
        raw.close()
    load_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    with engine.begin() as conn:
        for _name, sql in indexes:
            conn.exec_driver_sql(sql)
        conn.exec_driver_sql("ANALYZE doses")
    return {
        "doses": written,
        "doses_load_s": round(load_s, 1),
        "doses_index_s": round(time.perf_counter() - t1, 1),
        "doses_indexes": [name for name, _ in indexes],
    }


_DAY_CACHE: dict[int, str] = {}


def _iso(ordinal: int) -> str:
    from datetime import date

    if ordinal not in _DAY_CACHE:
        _DAY_CACHE[ordinal] = date.fromordinal(ordinal).isoformat()
    return _DAY_CACHE[ordinal]


def start_server(url: str, data_dir: Path, port: int, workers: int) -> tuple[Any, str]:
    """uvicorn over the store, in its own process; returns it and the partner's token."""
    import httpx

    env = dict(os.environ, TIEMCHUNG_DATABASE_URL=url, TIEMCHUNG_DATA_DIR=str(data_dir),
               TIEMCHUNG_LOG_LEVEL="WARNING")  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "tiemchung.server:create_app", "--factory",
         "--port", str(port), "--no-access-log", "--workers", str(workers),
         "--log-level", "warning"],
        env=env,
    )  # fmt: skip
    try:
        for _ in range(600):
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        token = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/auth/token",
            data={"username": USER, "password": PASSWORD},
        ).json()["access_token"]
    except BaseException:
        server.terminate()
        raise
    return server, token


def _percentiles(lat: list[float]) -> dict[str, Any]:
    lat = sorted(lat)
    return {
        "requests": len(lat),
        "p50_ms": round(statistics.median(lat) * 1000, 2),
        "p99_ms": round(lat[max(0, int(len(lat) * 0.99) - 1)] * 1000, 2),
        "max_ms": round(lat[-1] * 1000, 2),
    }


async def load(
    port: int, token: str, paths: list[str], clients: int, seconds: float, keep: int = 0
) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
    """``clients`` connections each sending the next of ``paths`` when answered (a closed
    loop) for ``seconds``; returns the figures and the first ``keep`` answers."""
    conns = [
        await Connection("127.0.0.1", port, {"Authorization": f"Bearer {token}"}).open()
        for _ in range(clients)
    ]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    kept: list[tuple[str, bytes]] = []
    deadline = time.perf_counter() + seconds
    counter = 0

    async def worker(conn: Connection) -> None:
        nonlocal counter
        while time.perf_counter() < deadline:
            path = paths[counter % len(paths)]
            counter += 1
            raw = conn.encode("GET", path)
            t0 = time.perf_counter()
            status, body = await conn.request(raw)
            latencies.append(time.perf_counter() - t0)
            statuses[status] = statuses.get(status, 0) + 1
            if len(kept) < keep:
                kept.append((path, body))

    start = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    wall = time.perf_counter() - start
    for c in conns:
        c.close()
    figures = _percentiles(latencies) | {
        "seconds": round(wall, 2),
        "requests_per_s": round(len(latencies) / wall, 1),
        "statuses": {str(k): v for k, v in statuses.items()},
    }
    return figures, kept


def check_answers(kept: list[tuple[str, bytes]], counts: np.ndarray) -> dict[str, Any]:
    """Each kept answer is a valid R4B Bundle holding exactly the person's doses."""
    from fhir.resources.R4B.bundle import Bundle

    wrong = 0
    for path, body in kept:
        idx = int(path.rsplit("=P", 1)[1])
        bundle = Bundle.model_validate(json.loads(body))
        if len(bundle.entry or []) != int(counts[idx]):
            wrong += 1
    return {"checked": len(kept), "wrong_count": wrong, "all_valid": wrong == 0}


def query_alone(sessions: Any, people: int, calls: int, seed: int) -> dict[str, Any]:
    """The search's own query in this process, one call at a time (no HTTP, no JSON)."""
    from sqlalchemy import text
    from sqlalchemy.dialects import postgresql

    from tiemchung.registry.doses.immunizations import (
        ImmunizationQuery,
        search_immunizations,
    )
    from tiemchung.registry.scope import Actor

    rng = random.Random(seed)
    actor = Actor.system("bench")
    lat = []
    with sessions() as s:
        for _ in range(calls):
            q = ImmunizationQuery(person_id=person_id(rng.randrange(people)))
            t0 = time.perf_counter()
            search_immunizations(s, actor, q, limit=51)
            lat.append(time.perf_counter() - t0)
        # the plan the database chose for one person (what a fix would change)
        captured: list[str] = []
        real = s.execute

        def explain(stmt: Any, *a: Any, **k: Any) -> Any:
            sql = str(stmt.compile(dialect=postgresql.dialect(),
                                   compile_kwargs={"literal_binds": True}))  # fmt: skip
            captured.extend(r[0] for r in real(text(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")).all())
            return real(stmt, *a, **k)

        s.execute = explain  # type: ignore[method-assign]
        search_immunizations(s, actor, ImmunizationQuery(person_id=person_id(people // 2)),
                             limit=51)  # fmt: skip
    return _percentiles(lat) | {"plan": captured}


def bench_search(args: argparse.Namespace) -> dict[str, Any]:
    from tests.pgserver import PostgresServer

    from tiemchung.auth.users import create_user
    from tiemchung.config import Settings
    from tiemchung.installation import initialise
    from tiemchung.registry.scope import Actor, Role
    from tiemchung.store.db import make_engine, make_sessionmaker

    work = Path(f"/tmp/tiemchung-bench-fhir-{args.people}")
    work.mkdir(parents=True, exist_ok=True)
    pg = PostgresServer().start()
    server = None
    try:
        url = pg.create_database("bench")
        settings = Settings(data_dir=work / "data", database_url=url)
        initialise(settings)
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        with sessions() as s:
            site_id = _register.seed_reference(s)
            ward, province = _register.all_wards()[0]
            create_user(s, Actor.system("bench"), USER, PASSWORD, Role.CENTRAL)
            s.commit()
        log(f"loading {args.people:,} persons")
        with Timer() as t_build:
            store = _register.load_persons(engine, args.people, SEED, progress=log)
            store |= load_doses(engine, args.people, (site_id, ward, province), SEED)
        store["build_s"] = round(t_build.seconds, 1)
        store.pop("indexes", None)
        log(f"store: {store}")
        counts, _ = dose_plan(args.people, SEED)

        alone = query_alone(sessions, args.people, args.alone_calls, SEED + 1)
        log(f"query alone: p50 {alone['p50_ms']} ms, p99 {alone['p99_ms']} ms")

        server, token = start_server(url, work / "data", args.port, args.workers)
        rng = random.Random(SEED + 2)
        paths = [f"/fhir/R4/Immunization?patient={person_id(rng.randrange(args.people))}"
                 for _ in range(50_000)]  # fmt: skip
        asyncio.run(load(args.port, token, paths, args.clients, args.warmup))
        search, kept = asyncio.run(
            load(args.port, token, paths[::-1], args.clients, args.seconds, keep=args.check)
        )
        log(f"search: {search}")
        checked = check_answers(kept, counts)
        log(f"answers: {checked}")
        health, _ = asyncio.run(
            load(args.port, token, ["/api/v1/health"], args.clients, args.seconds / 2)
        )
        log(f"health: {health}")
        return {
            "store": store,
            "search": search,
            "answers": checked,
            "target_p99_ms": 30,
            "target_met": search["p99_ms"] <= 30
            and checked["all_valid"]
            and set(search["statuses"]) == {"200"},
            "baseline": {"health_same_load": health, "query_alone": alone},
        }
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        pg.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--people", type=int, default=10_000_000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--warmup", type=float, default=5.0)
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    ap.add_argument("--port", type=int, default=8719)
    ap.add_argument("--check", type=int, default=500, help="answers parsed and counted")
    ap.add_argument("--alone-calls", type=int, default=2_000)
    args = ap.parse_args()
    with Timer() as total:
        result = bench_search(args)
    result["total_s"] = round(total.seconds, 1)
    path = write_result(
        "fhir_search",
        inputs={k: v for k, v in vars(args).items() if k != "port"} | {"seed": SEED},
        results=result,
        packages=["fastapi", "uvicorn", "sqlalchemy", "psycopg", "fhir.resources"],
    )
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
