"""Take a snapshot of the store for the dashboard: export, aggregate, swap.

Why a snapshot and not live queries: the registry is SQLite or PostgreSQL, and DuckDB may not
read either directly here (its sqlite/postgres scanners are extensions that download); a
coverage figure needs every dose of every person, which no OLTP index makes cheap at 20M doses.
So a refresh reads the few columns the statistics need from the store in one read transaction
(a consistent picture even while doses arrive), writes them to Parquet, lets DuckDB reduce them
to the aggregate tables of :mod:`.build` in a new DuckDB file, and only then points ``current``
at it: readers keep the old file until the new one is whole. The figures are as fresh as the
last refresh; the page and the API say when it was taken (``meta.built_at``).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine

from tiemchung.stats.build import RAW_COLUMNS, build

FETCH = 100_000
#: DuckDB types of the raw columns (the store's drivers return dates as text on SQLite).
TYPES: dict[str, str] = {
    "id": "BIGINT",
    "person_pk": "BIGINT",
    "dose_id": "BIGINT",
    "dose_number": "INTEGER",
    "primary_doses": "INTEGER",
    "reported": "BIGINT",
    "dose_date": "DATE",
    "report_date": "DATE",
}
CURRENT = "current"


def stats_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "stats"


@contextmanager
def _lock(path: Path, *, wait: bool) -> Iterator[bool]:
    """One refresh at a time per data dir (across processes); ``False`` if busy and not waiting."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _export(engine: Engine, out: Path) -> dict[str, int]:
    """The raw columns of every table to ``out/<table>.parquet``, in one read transaction."""
    counts: dict[str, int] = {}
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            dbapi: Any = conn.connection.dbapi_connection
            for table, cols in RAW_COLUMNS.items():
                sql = f"SELECT {', '.join(cols)} FROM {table}"
                if engine.dialect.name == "postgresql":
                    cur = dbapi.cursor(name=f"stats_{table}")  # server-side: bounded memory
                    cur.itersize = FETCH
                else:
                    cur = dbapi.cursor()
                cur.execute(sql)
                counts[table] = _write(cur, cols, out / f"{table}.parquet")
                cur.close()
    return counts


def _write(cur: Any, cols: tuple[str, ...], path: Path) -> int:
    writer: pq.ParquetWriter | None = None
    n = 0
    schema = pa.schema([(c, pa.string()) for c in cols])
    while rows := cur.fetchmany(FETCH):
        columns = list(zip(*rows, strict=True))
        arrays = []
        for c, values in zip(cols, columns, strict=True):
            if c in TYPES and TYPES[c] in ("BIGINT", "INTEGER"):
                arrays.append(pa.array(values, pa.int64()))
            else:
                arrays.append(_text(values))
        batch = pa.table(arrays, names=list(cols))
        if writer is None:
            schema = batch.schema
            writer = pq.ParquetWriter(path, schema)
        writer.write_table(batch)
        n += len(rows)
    if writer is None:
        pq.write_table(_empty(cols), path)
    else:
        writer.close()
    return n


def _text(values: tuple[Any, ...]) -> pa.Array:
    """A text column: as it comes when the driver gives str (SQLite, most columns), else each
    value as text (PostgreSQL's dates, a number SQLite stored in a text column)."""
    try:
        return pa.array(values, pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.array(
            [
                None if v is None else v.isoformat() if isinstance(v, date) else str(v)
                for v in values
            ],
            pa.string(),
        )


def _empty(cols: tuple[str, ...]) -> pa.Table:
    fields = [
        (c, pa.int64() if TYPES.get(c) in ("BIGINT", "INTEGER") else pa.string()) for c in cols
    ]
    return pa.table({n: pa.array([], t) for n, t in fields})


def raw_views(con: duckdb.DuckDBPyConnection, files: dict[str, Path]) -> None:
    """``raw_<table>`` views over Parquet files, with the columns cast to their types."""
    for table, cols in RAW_COLUMNS.items():
        sel = ", ".join(f"CAST({c} AS {TYPES[c]}) AS {c}" if c in TYPES else c for c in cols)
        path = str(files[table]).replace("'", "''")
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW raw_{table} AS SELECT {sel} FROM read_parquet('{path}')"
        )


def build_file(target: Path, files: dict[str, Path], meta: dict[str, Any]) -> dict[str, int]:
    """Aggregate the raw Parquet ``files`` into a new DuckDB file ``target`` with ``meta``."""
    con = duckdb.connect(str(target))
    try:
        con.execute("SET preserve_insertion_order = false")
        raw_views(con, files)
        sizes = build(con)
        meta = meta | {"aggregate_rows": sizes}
        con.execute("CREATE OR REPLACE TABLE meta (key VARCHAR, value VARCHAR)")
        con.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [(k, json.dumps(v, ensure_ascii=False)) for k, v in meta.items()],
        )
        con.execute("CHECKPOINT")
        return sizes
    finally:
        con.close()


def refresh(engine: Engine, data_dir: Path, *, wait: bool = True) -> Path | None:
    """Take a new snapshot and make it current; its path, or None if another refresh ran."""
    base = stats_dir(data_dir)
    asked = time.time()
    with _lock(base / ".refresh.lock", wait=wait) as got:
        if not got:
            return None
        done = current(data_dir)
        if done is not None and (base / CURRENT).stat().st_mtime >= asked:
            return done  # another refresh finished while we waited: its figures are as new
        t0 = time.perf_counter()
        started = datetime.now(UTC)
        stamp = started.strftime("%Y%m%dT%H%M%S%f")
        work = base / f"export-{stamp}"
        work.mkdir(parents=True)
        try:
            counts = _export(engine, work)
            exported = time.perf_counter() - t0
            target = base / f"snapshot-{stamp}.duckdb"
            build_file(
                target,
                {t: work / f"{t}.parquet" for t in RAW_COLUMNS},
                {
                    "built_at": started.isoformat(timespec="seconds"),
                    "rows": counts,
                    "export_seconds": round(exported, 3),
                    "build_seconds": None,
                },
            )
            took = time.perf_counter() - t0
            con = duckdb.connect(str(target))
            con.execute(
                "UPDATE meta SET value = ? WHERE key = 'build_seconds'",
                [json.dumps(round(took - exported, 3))],
            )
            con.close()
        finally:
            shutil.rmtree(work, ignore_errors=True)
        tmp = base / f".{CURRENT}.tmp"
        tmp.write_text(target.name, encoding="utf-8")
        os.replace(tmp, base / CURRENT)
        _prune(base, keep={target.name})
        return target


def current(data_dir: Path) -> Path | None:
    """The current snapshot file, or None before the first refresh."""
    base = stats_dir(data_dir)
    try:
        name = (base / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    path = base / name
    return path if path.exists() else None


def _prune(base: Path, keep: set[str]) -> None:
    """Remove older snapshots (a reader that has one open keeps its data until it closes)."""
    for p in base.glob("snapshot-*.duckdb*"):
        if p.name.split(".wal")[0] not in keep:
            p.unlink(missing_ok=True)
