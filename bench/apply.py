"""Apply benchmark: a reconciliation run of ~2M dose records written into the registry.

For SQLite and PostgreSQL (a throw-away server started here):
  1. build a registry once (not measured): a synthetic country (``tiemchung.synth``), its
     register through the register import, its dose records through the backlog import, and
     one reconciliation run over them (``OUT/links.parquet``);
  2. on a fresh copy of that registry, time ``apply_run`` (the measured figure: links/s,
     correction rows, worklist items);
  3. apply the same run again: recognised, nothing changed (timed, and checked by counting);
  4. baseline in the same run, on another fresh copy: a bare driver-level executemany
     ``UPDATE doses SET status, person_pk WHERE id`` of the same doses — the least any apply
     has to write — so the apply is reported as a ratio of it.

    nice -n 10 .venv/bin/python bench/apply.py [--people 1000000] [--backends sqlite,postgresql]

The build is cached under ``--work`` (default /tmp/tiemchung-bench-apply): a second run of the
benchmark reuses the data, the reconciliation run and the built SQLite file. Everyone here is
made up.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.pgserver import PostgresServer  # noqa: E402

from bench._common import Timer, write_result  # noqa: E402
from tiemchung.config import Settings  # noqa: E402
from tiemchung.demo import _load_reference  # noqa: E402
from tiemchung.installation import initialise  # noqa: E402
from tiemchung.reconcile import Options, reconcile  # noqa: E402
from tiemchung.registry.imports.apply import apply_run  # noqa: E402
from tiemchung.registry.imports.backlog import import_dose_records  # noqa: E402
from tiemchung.registry.imports.register import import_register  # noqa: E402
from tiemchung.registry.models import AuditEvent, Correction, Dose, ReviewItem  # noqa: E402
from tiemchung.registry.scope import Actor  # noqa: E402
from tiemchung.store.db import make_engine, make_sessionmaker  # noqa: E402
from tiemchung.synth import generate  # noqa: E402

ACTOR = Actor.system("bench-apply")


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def make_data(work: Path, people: int, seed: int) -> dict[str, Any]:
    """Synthetic data and one reconciliation run over it (cached)."""
    data, run = work / "synth", work / "run"
    facts: dict[str, Any] = {}
    if not (data / "records.parquet").exists():
        with Timer() as t:
            generate(people, seed, data)
        facts["generate_s"] = round(t.seconds, 1)
    if not (run / "links.parquet").exists():
        with Timer() as t:
            reconcile(Options(data / "records.parquet", data / "register.parquet", run, threads=2))
        facts["reconcile_s"] = round(t.seconds, 1)
    facts["records"] = pq.read_metadata(data / "records.parquet").num_rows
    facts["register"] = pq.read_metadata(data / "register.parquet").num_rows
    actions = pq.read_table(run / "links.parquet", columns=["action"]).column("action")
    facts["links_by_action"] = {
        r["values"]: r["counts"] for r in pc.value_counts(actions).to_pylist()
    }
    return facts


def build_registry(url: str, work: Path) -> dict[str, Any]:
    """Migrate, load reference data, the register and the backlog (not the measured part)."""
    settings = Settings(database_url=url, data_dir=work)
    initialise(settings)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    data = work / "synth"
    out: dict[str, Any] = {}
    try:
        with sessions() as s:
            _load_reference(s, data)
            s.commit()
            with Timer() as t:
                reg = import_register(s, ACTOR, data / "register.parquet")
            out["register_import_s"] = round(t.seconds, 1)
            with Timer() as t:
                back = import_dose_records(s, ACTOR, data / "records.parquet")
            out["backlog_import_s"] = round(t.seconds, 1)
            out["persons"], out["doses"] = reg.rows_imported, back.rows_imported
            out["refused"] = {"register": reg.rows_rejected, "backlog": back.rows_rejected}
    finally:
        engine.dispose()
    return out


def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            return {
                "doses_verified": s.scalar(
                    select(func.count()).select_from(Dose).where(Dose.status == "verified")
                )
                or 0,
                "corrections": s.scalar(select(func.count()).select_from(Correction)) or 0,
                "review_items": s.scalar(select(func.count()).select_from(ReviewItem)) or 0,
                "audit_events": s.scalar(select(func.count()).select_from(AuditEvent)) or 0,
            }
    finally:
        engine.dispose()


def measure_apply(url: str, run: Path) -> dict[str, Any]:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        load0 = os.getloadavg()[0]
        with sessions() as s, Timer() as t:
            rep = apply_run(s, ACTOR, run, rejects_path=run.parent / "apply.rejects.csv")
        after_first = _counts(url)
        with sessions() as s, Timer() as t2:
            again = apply_run(s, ACTOR, run, rejects_path=run.parent / "apply.rejects.csv")
        after_second = _counts(url)
    finally:
        engine.dispose()
    return {
        "seconds": round(t.seconds, 2),
        "links": rep.links,
        "links_per_second": round(rep.links / t.seconds),
        "load_1min_before": round(load0, 2),
        "load_1min_after": round(os.getloadavg()[0], 2),
        "report": rep.counts(),
        "second_apply": {
            "seconds": round(t2.seconds, 3),
            "already_applied": again.already_applied,
            "unchanged": after_first == after_second,
        },
        "rows_after": after_first,
    }


def measure_baseline(url: str, run: Path) -> dict[str, Any]:
    """A bare executemany UPDATE of the doses the run links (status and person only)."""
    links = pq.read_table(run / "links.parquet", columns=["record_id", "person_id"])
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            doses = dict(conn.execute(text("SELECT record_id, id FROM doses")).all())
            persons = dict(conn.execute(text("SELECT person_id, id FROM persons")).all())
        rows = [
            ("verified", persons.get(p), doses[r])
            for r, p in zip(
                links.column("record_id").to_pylist(),
                links.column("person_id").to_pylist(),
                strict=True,
            )
            if r in doses
        ]
        with engine.begin() as conn, Timer() as t:
            for i in range(0, len(rows), 5_000):
                conn.exec_driver_sql(
                    "UPDATE doses SET status = %s, person_pk = %s WHERE id = %s"
                    if engine.dialect.name == "postgresql"
                    else "UPDATE doses SET status = ?, person_pk = ? WHERE id = ?",
                    rows[i : i + 5_000],
                )
    finally:
        engine.dispose()
    return {
        "seconds": round(t.seconds, 2),
        "rows": len(rows),
        "rows_per_second": round(len(rows) / t.seconds),
    }


def measure_register_update(work: Path, share: int) -> dict[str, Any]:
    """A register snapshot with one person in ``share`` touched (a third added, a third
    corrected, a third removed): the re-check of the affected records against a batch run
    over all records with the same model (the baseline), timed, and their links compared."""
    import zlib

    import pyarrow as pa

    from tiemchung.reconcile.incremental import recheck_register

    data, up = work / "synth", work / "update"
    shutil.rmtree(up, ignore_errors=True)
    up.mkdir()
    register = pq.read_table(data / "register.parquet")
    rows = register.to_pylist()
    old_rows, new_rows, touched = [], [], {"added": 0, "corrected": 0, "removed": 0}
    for r in rows:
        h = zlib.crc32(r["person_id"].encode())
        kind = (h // share) % 3 if h % share == 0 else -1
        if kind == 0:  # added: not in the old snapshot
            touched["added"] += 1
        elif kind == 1:  # corrected: the old snapshot had a wrong date of birth
            touched["corrected"] += 1
            old_rows.append(dict(r, dob="1931-07-07"))
        else:
            old_rows.append(r)
        if kind == 2:  # removed: not in the new snapshot
            touched["removed"] += 1
        else:
            new_rows.append(r)
    pq.write_table(pa.Table.from_pylist(old_rows, schema=register.schema), up / "old.parquet")
    pq.write_table(pa.Table.from_pylist(new_rows, schema=register.schema), up / "new.parquet")
    records = data / "records.parquet"
    with Timer() as t0:
        reconcile(Options(records, up / "old.parquet", up / "first", threads=2))
    load0 = os.getloadavg()[0]
    with Timer() as t1:
        summary = recheck_register(up / "first", records, up / "new.parquet", up / "upd", threads=2)
    with Timer() as t2:
        reconcile(
            Options(
                records, up / "new.parquet", up / "batch", model=up / "first" / "model.json",
                threads=2,
            )
        )  # fmt: skip
    cols = ["record_id", "person_id", "action", "match_probability", "mismatches"]
    cols += ["corrections", "duplicate_of", "explanation", "candidates"]
    a = pq.read_table(up / "upd" / "links.parquet", columns=cols).sort_by("record_id")
    b = pq.read_table(up / "batch" / "links.parquet", columns=cols).sort_by("record_id")
    ru = summary["register_update"]
    return {
        "persons_touched": touched,
        "first_run_s": round(t0.seconds, 1),
        "recheck_s": round(t1.seconds, 1),
        "batch_same_model_s": round(t2.seconds, 1),
        "batch_over_recheck_time": round(t2.seconds / t1.seconds, 2),
        "load_1min_before": round(load0, 2),
        "load_1min_after": round(os.getloadavg()[0], 2),
        "records": summary["records"],
        "records_rechecked": ru["records_rechecked"],
        "affected_by": ru["affected_by"],
        "changed_links": ru["changed_links"],
        "links_equal_batch": a.equals(b),
        "register_diff": {
            k: ru[k]
            for k in (
                "persons_added",
                "persons_removed",
                "persons_changed",
                "names_frequency_changed",
            )
        },
    }


def sqlite_backend(work: Path, run: Path) -> dict[str, Any]:
    built = work / "built.db"
    build: dict[str, Any] = {"cached": built.exists()}
    if not built.exists():
        tmp = work / "building.db"
        tmp.unlink(missing_ok=True)
        with Timer() as t:
            build |= build_registry(f"sqlite:///{tmp}", work)
        build["seconds"] = round(t.seconds, 1)
        tmp.rename(built)
    fresh = work / "apply.db"
    shutil.copy(built, fresh)
    res = {"build": build, "apply": measure_apply(f"sqlite:///{fresh}", run)}
    shutil.copy(built, fresh)
    res["baseline"] = measure_baseline(f"sqlite:///{fresh}", run)
    fresh.unlink()
    return res


#: what build_registry stored, in foreign-key order (admin units come with initialise)
COPIED_TABLES = ("products", "lots", "sites", "sessions", "persons", "doses")


def copy_from_sqlite(sqlite_db: Path, url: str, work: Path) -> dict[str, Any]:
    """The registry SQLite built, copied into a migrated PostgreSQL database with ``COPY``:
    the same rows (ids included) in minutes less than importing again. Not measured."""
    import sqlite3

    initialise(Settings(database_url=url, data_dir=work))
    src = sqlite3.connect(f"file:{sqlite_db}?mode=ro", uri=True)
    engine = make_engine(url)
    rows: dict[str, int] = {}
    try:
        with engine.begin() as conn:
            pg = conn.connection.dbapi_connection
            assert pg is not None
            for table in COPIED_TABLES:
                cur = src.execute(f"SELECT * FROM {table}")
                cols = [d[0] for d in cur.description]
                n = 0
                with (
                    pg.cursor() as pcur,
                    pcur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as cp,
                ):
                    while batch := cur.fetchmany(50_000):
                        for row in batch:
                            cp.write_row(row)
                        n += len(batch)
                rows[table] = n
                if "id" in cols:
                    conn.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT coalesce(max(id), 1) FROM {table}))"
                    )
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
    finally:
        src.close()
        engine.dispose()
    return {"copied_from_sqlite": rows}


def postgres_backend(work: Path, run: Path) -> dict[str, Any]:
    server = PostgresServer().start()
    try:
        server.create_database("built")
        with Timer() as t:
            built = work / "built.db"
            if built.exists():
                build = copy_from_sqlite(built, server.url("built"), work)
            else:
                build = build_registry(server.url("built"), work)
        build["seconds"] = round(t.seconds, 1)
        fresh = server.create_database("fresh", template="built")
        base = server.create_database("base", template="built")
        res = {"build": build, "apply": measure_apply(fresh, run)}
        res["baseline"] = measure_baseline(base, run)
        return res
    finally:
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--people", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=2021)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--work", type=Path, default=Path("/tmp/tiemchung-bench-apply"))
    ap.add_argument("--no-write", action="store_true", help="print, do not write the result")
    ap.add_argument(
        "--update-share",
        type=int,
        default=0,
        help="also time a register update touching 1 person in N (0: skip)",
    )
    args = ap.parse_args()
    work = args.work / str(args.people)
    work.mkdir(parents=True, exist_ok=True)
    _log(f"data in {work}")
    results: dict[str, Any] = {"data": make_data(work, args.people, args.seed)}
    run = work / "run"
    for backend in filter(None, args.backends.split(",")):
        _log(f"{backend}: build + apply")
        fn = sqlite_backend if backend == "sqlite" else postgres_backend
        r = fn(work, run)
        r["apply_over_baseline_time"] = round(r["apply"]["seconds"] / r["baseline"]["seconds"], 2)
        results[backend] = r
        _log(f"{backend}: {r['apply']['links_per_second']:,} links/s ({r['apply']['seconds']} s)")
    if args.update_share:
        _log(f"register update, 1 person in {args.update_share}")
        results["register_update"] = measure_register_update(work, args.update_share)
        _log(f"register update: {results['register_update']}")
    print(results)
    if not args.no_write:
        path = write_result(
            "apply",
            inputs={"people": args.people, "seed": args.seed, "backends": args.backends},
            results=results,
            packages=["sqlalchemy", "psycopg", "duckdb", "pyarrow"],
        )
        _log(f"wrote {path}")


if __name__ == "__main__":
    main()
