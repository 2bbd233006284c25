"""Dashboard statistics over 20M doses: every query against the ≤ 500 ms target.

    .venv/bin/python bench/dashboard.py --dir /tmp/dash20m          # → bench/results/dashboard.json
    .venv/bin/python bench/dashboard.py --dir /tmp/dash1m --doses 1000000 --no-write

1. Synthetic raw tables (the columns a snapshot exports: persons, doses, products, sites,
   tallies, corrections, review items) are made with numpy — ~2.1 doses per person in the wards
   of ten real provinces — and cached as Parquet under ``--dir``.
2. ``tiemchung.stats.snapshot.build_file`` reduces them to the aggregate DuckDB file, as a
   refresh does (timed: the build part of a refresh).
3. Each dashboard table is queried ``--repeat`` times, cycling through area filters (the
   country, each province, wards, an age group, a date range), through the same code as the
   page (``tiemchung.stats.queries.table``); p50/p99 per table.
4. Baselines in the same run: a bare ``count(*)`` over the raw doses Parquet, and coverage
   computed straight from the raw Parquet (what the dashboard would cost without aggregates).
5. The export half of a refresh: rows/s reading the same columns out of a SQLite store of
   ``--export-rows`` doses (PostgreSQL not measured here), to extrapolate a 20M refresh.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import Timer, write_result

PROVINCES = ["01", "79", "40", "38", "31", "48", "92", "26", "36", "42"]
PRODUCTS = [("AZ", 2), ("PFIZER", 2), ("MODERNA", 2), ("VEROCELL", 2), ("ABDALA", 3)]
START = date(2021, 7, 1)
TODAY = date(2022, 12, 31)


def _dict(idx: np.ndarray, values: list[str]) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(idx.astype(np.int32)), pa.array(values))


def make_raw(out: Path, n_doses: int, seed: int = 1) -> dict[str, Path]:
    """The raw Parquet files; vectorised, ~1 minute for 20M doses on this machine."""
    from tiemchung.identity import iter_admin_units

    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    wards = [
        u for u in iter_admin_units("2021") if u.level == "ward" and u.province_code in PROVINCES
    ]
    ward_codes = [u.code for u in wards]
    prov_codes = sorted(PROVINCES)
    ward_prov = np.array([prov_codes.index(u.province_code) for u in wards])
    n_w = len(wards)
    k_probs = np.array([0.08, 0.1, 0.47, 0.3, 0.05])  # doses per person 0..4
    n_p = int(n_doses / float((np.arange(5) * k_probs).sum()))
    # persons
    p_ward = rng.integers(0, n_w, n_p)
    year = rng.choice(np.arange(1925, 2021), n_p, p=_age_weights())
    jan1 = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    base = jan1 + rng.integers(0, 365, n_p)
    full = pc.cast(pa.array(base.astype(np.int32), pa.date32()), pa.string())
    kind = rng.random(n_p)
    dob = pc.if_else(
        pa.array(kind < 0.05),
        pc.cast(pa.array(year), pa.string()),
        pc.if_else(pa.array(kind < 0.06), pa.nulls(n_p, pa.string()), full),
    )
    pids = np.arange(1, n_p + 1, dtype=np.int64)
    p_sex = rng.choice(3, n_p, p=[0.49, 0.49, 0.02])  # M, F, not given
    pq.write_table(
        pa.table(
            {
                "id": pids,
                "dob": dob,
                "sex": pc.cast(_dict(p_sex, ["M", "F", ""]), pa.string()),
                "ward_code": _dict(p_ward, ward_codes),
                "province_code": _dict(ward_prov[p_ward], prov_codes),
            }
        ),
        out / "persons.parquet",
    )
    # doses
    k = rng.choice(5, n_p, p=k_probs)
    owner = np.repeat(np.arange(n_p), k)
    n = len(owner)
    first = np.cumsum(k) - k  # index of each person's first dose
    number = (np.arange(n) - np.repeat(first, k) + 1).astype(np.int32)
    product = rng.integers(0, len(PRODUCTS), n_p)[owner]
    start = (np.datetime64(START) - np.datetime64("1970-01-01")).astype(np.int64)
    d0 = start + rng.integers(0, 200, n_p)
    gap = rng.integers(28, 120, n_p)
    day = (d0[owner] + (number - 1) * gap[owner]).astype(np.int32)
    status_roll = rng.random(n)
    status = np.where(status_roll < 0.8, 0, np.where(status_roll < 0.95, 1, 2))  # v, u, dup
    site = np.where(rng.random(n) < 0.9, p_ward[owner], rng.integers(0, n_w, n))
    linked = status == 0
    area = np.where(linked, p_ward[owner], site)
    person_pk = pa.array(pids[owner], mask=~linked)
    site_ids = [f"S{i:05d}" for i in range(n_w)]
    dose_ids = np.arange(1, n + 1, dtype=np.int64)
    pq.write_table(
        pa.table(
            {
                "id": dose_ids,
                "person_pk": person_pk,
                "dob": pc.take(dob, pa.array(owner)),
                "sex": pc.cast(_dict(p_sex[owner], ["M", "F", ""]), pa.string()),
                "status": _dict(status, ["verified", "unverified", "duplicate"]),
                "dose_number": number,
                "dose_date": pa.array(day, pa.date32()),
                "product_code": _dict(product, [p for p, _ in PRODUCTS]),
                "site_id": _dict(site, site_ids),
                "area_ward_code": _dict(area, ward_codes),
                "area_province_code": _dict(ward_prov[area], prov_codes),
            }
        ),
        out / "doses.parquet",
        row_group_size=1 << 20,
    )
    pq.write_table(
        pa.table(
            {
                "code": [p for p, _ in PRODUCTS],
                "primary_doses": pa.array([d for _, d in PRODUCTS], pa.int64()),
            }
        ),
        out / "products.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "site_id": site_ids,
                "name": [f"Trạm Y tế {u.name}" for u in wards],
                "ward_code": ward_codes,
                "province_code": [u.province_code for u in wards],
            }
        ),
        out / "sites.parquet",
    )
    # corrections: one or two fields on 30% of verified doses
    corr = dose_ids[linked & (rng.random(n) < 0.3)]
    fields = ["national_id", "dob", "full_name", "phone", "sex"]
    pq.write_table(
        pa.table(
            {
                "dose_id": corr,
                "field": _dict(rng.integers(0, len(fields), len(corr)), fields),
            }
        ),
        out / "corrections.parquet",
    )
    # review items on 70% of unverified doses
    unv = np.flatnonzero((status == 1) & (rng.random(n) < 0.7))
    kinds, statuses = (
        ["review", "not_found", "unverified", "ticket"],
        ["open", "accepted", "rejected", "superseded"],
    )
    kind_i = rng.choice(4, len(unv), p=[0.6, 0.25, 0.1, 0.05])
    mism = ["full_name;dob", "national_id", "dob", "phone;address", "full_name"]
    pq.write_table(
        pa.table(
            {
                "dose_id": dose_ids[unv],
                "kind": _dict(kind_i, kinds),
                "status": _dict(rng.choice(4, len(unv), p=[0.6, 0.2, 0.1, 0.1]), statuses),
                "ward_code": _dict(area[unv], ward_codes),
                "province_code": _dict(ward_prov[area[unv]], prov_codes),
                "mismatches": pa.array(
                    np.array(mism, dtype=object)[rng.integers(0, len(mism), len(unv))],
                    mask=kind_i != 0,
                ),
            }
        ),
        out / "review_items.parquet",
    )
    _tallies(out, n)
    return {t: out / f"{t}.parquet" for t in _TABLES}


_TABLES = ("persons", "doses", "products", "sites", "tallies", "corrections", "review_items")


def _tallies(out: Path, n: int) -> None:
    """Per site, day and product: what was recorded plus the never-entered share (~7%)."""
    import duckdb

    con = duckdb.connect()
    src = str(out / "doses.parquet")
    con.execute(
        f"""COPY (SELECT site_id, dose_date AS report_date, product_code,
                       NULL::INTEGER AS dose_number,
                       (count(*) * (1.0 + 0.14 * hash(site_id, dose_date) / 18446744073709551615))
                           ::BIGINT AS reported
                FROM read_parquet('{src}') WHERE status <> 'duplicate'
                GROUP BY site_id, dose_date, product_code)
            TO '{out / "tallies.parquet"}' (FORMAT parquet)"""
    )
    con.close()


def _age_weights() -> np.ndarray:
    years = np.arange(1925, 2021)
    w = np.where(years < 1960, 0.4, np.where(years > 2005, 0.8, 1.0))
    return w / w.sum()


def _filters(provinces: list[str], wards: list[str]) -> list[dict[str, Any]]:
    """The area filters the queries cycle through: what different users would ask."""
    fs: list[dict[str, Any]] = [{}]
    fs += [{"province": p} for p in provinces]
    fs += [{"ward": w} for w in wards]
    fs += [{"province": provinces[0], "age_group": "65+"}, {"age_group": "18-49"}]
    fs += [{"province": provinces[1], "date_from": date(2021, 9, 1), "date_to": date(2021, 9, 30)}]
    return fs


def pctl(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, required=True, help="cache of the synthetic data")
    parser.add_argument("--doses", type=int, default=20_000_000)
    parser.add_argument("--repeat", type=int, default=40, help="runs per table")
    parser.add_argument("--export-rows", type=int, default=1_000_000)
    parser.add_argument("--no-write", action="store_true", help="print, do not write the result")
    args = parser.parse_args()

    import duckdb

    from tiemchung.registry.scope import Actor, Role
    from tiemchung.stats.build import AGGREGATES
    from tiemchung.stats.filters import Filters
    from tiemchung.stats.queries import TABLES, table
    from tiemchung.stats.snapshot import build_file

    raw = args.dir / f"raw-{args.doses}"
    made = None
    if not (raw / "tallies.parquet").exists():
        with Timer() as t:
            make_raw(raw, args.doses)
        made = round(t.seconds, 1)
    files = {t: raw / f"{t}.parquet" for t in _TABLES}
    rows = {t: pq.ParquetFile(f).metadata.num_rows for t, f in files.items()}
    snap = args.dir / f"snapshot-{args.doses}.duckdb"
    build_s = None
    if not snap.exists():
        with Timer() as t:
            build_file(snap, files, {"built_at": "bench", "rows": rows})
        build_s = round(t.seconds, 1)
    con = duckdb.connect(str(snap), read_only=True)
    agg_rows = {
        t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[index]
        for t in AGGREGATES
    }
    provinces = [
        r[0] for r in con.execute("SELECT DISTINCT province FROM reg ORDER BY 1").fetchall()
    ]
    wards = [
        r[0]
        for r in con.execute(
            "SELECT ward FROM reg GROUP BY ward ORDER BY sum(n) DESC, ward LIMIT 8"
        ).fetchall()
    ]
    central = Actor(None, "bench", Role.CENTRAL)
    filters = _filters(provinces, wards)
    # warm-up: one of each (file pages into the OS cache, as on a running server)
    for name in TABLES:
        table(con.cursor(), name, central, Filters(), TODAY)
    results: dict[str, Any] = {}
    for name in TABLES:
        times: list[float] = []
        slowest: tuple[float, str] = (0.0, "")
        for i in range(args.repeat):
            f = Filters(**filters[i % len(filters)])
            actor = (
                Actor(None, "p", Role.PROVINCE, province_code=f.province)
                if f.province and i % 2
                else central
            )
            cur = con.cursor()
            t0 = time.perf_counter()
            table(cur, name, actor, f, TODAY)
            times.append((time.perf_counter() - t0) * 1000)
            cur.close()
            label = ",".join(f"{k}={v}" for k, v in filters[i % len(filters)].items()) or "all"
            slowest = max(slowest, (times[-1], label)) if i else (times[-1], label)
        results[name] = {
            "p50_ms": round(statistics.median(times), 2),
            "p99_ms": round(pctl(times, 0.99), 2),
            "max_ms": round(max(times), 2),
            "slowest_filter": slowest[1],
            "runs": len(times),
        }
    # baselines over the raw doses, in the same run
    raw_con = duckdb.connect()
    src = str(files["doses"])
    base = []
    for _ in range(5):
        t0 = time.perf_counter()
        raw_con.execute(f"SELECT count(*) FROM read_parquet('{src}')").fetchone()
        base.append((time.perf_counter() - t0) * 1000)
    full = []
    for _ in range(3):
        t0 = time.perf_counter()
        raw_con.execute(f"SELECT sum(dose_number) FROM read_parquet('{src}')").fetchone()
        full.append((time.perf_counter() - t0) * 1000)
    scan = []
    for p in provinces[:3]:
        t0 = time.perf_counter()
        raw_con.execute(
            f"SELECT count(*), count(DISTINCT person_pk) FROM read_parquet('{src}') "
            f"WHERE area_province_code = ? AND status = 'verified'",
            [p],
        ).fetchone()
        scan.append((time.perf_counter() - t0) * 1000)
    baseline = {
        "count_star_raw_doses_ms": round(statistics.median(base), 2),
        "sum_dose_number_raw_doses_ms": round(statistics.median(full), 1),
        "raw_distinct_persons_one_province_ms": round(statistics.median(scan), 1),
    }
    worst = max(r["p99_ms"] for r in results.values())
    export = _export_rate(files, args.export_rows)
    summary = {
        "worst_p99_ms": worst,
        "target_ms": 500,
        "meets_target": worst <= 500,
        "worst_p99_over_count_star": round(worst / baseline["count_star_raw_doses_ms"], 2),
        "worst_p99_over_full_scan": round(worst / baseline["sum_dose_number_raw_doses_ms"], 2),
        "raw_scan_over_worst_p99": round(
            baseline["raw_distinct_persons_one_province_ms"] / worst, 1
        ),
    }
    out = {
        "queries": results,
        "baseline": baseline,
        "summary": summary,
        "refresh": {
            "build_aggregates_s": build_s,
            "export_sqlite_rows_per_s": export,
            "export_20m_doses_estimate_s": round(sum(rows.values()) / export["rows_per_s"], 0),
        },
        "aggregate_rows": agg_rows,
        "snapshot_mb": round(snap.stat().st_size / 2**20, 1),
        "synthetic_generation_s": made,
    }
    inputs = {
        "doses": args.doses,
        "raw_rows": rows,
        "provinces": PROVINCES,
        "filters_cycled": len(filters),
        "repeat": args.repeat,
    }
    print(json.dumps(out, indent=1, default=str))
    if not args.no_write:
        print(write_result("dashboard", inputs=inputs, results=out, packages=["duckdb", "pyarrow"]))


def _export_rate(files: dict[str, Path], limit: int) -> dict[str, Any]:
    """Rows/s of the refresh's export from a SQLite store holding ``limit`` doses."""
    from sqlalchemy import create_engine

    from tiemchung.stats.build import RAW_COLUMNS
    from tiemchung.stats.snapshot import _export

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "store.db"
        conn = sqlite3.connect(db)
        total = 0
        for t, cols in RAW_COLUMNS.items():
            tab = pq.ParquetFile(files[t]).read(columns=list(cols))
            tab = tab.slice(0, limit if t != "persons" else limit // 2)
            conn.execute(f"CREATE TABLE {t} ({', '.join(cols)})")
            py = [
                c.cast(pa.string()) if pa.types.is_date(c.type) else c
                for c in (
                    ch.dictionary_decode() if pa.types.is_dictionary(ch.type) else ch
                    for ch in (tab.column(i).combine_chunks() for i in range(tab.num_columns))
                )
            ]
            data = list(zip(*(a.to_pylist() for a in py), strict=True))
            conn.executemany(f"INSERT INTO {t} VALUES ({', '.join('?' * len(cols))})", data)
            total += len(data)
        conn.commit()
        conn.close()
        engine = create_engine(f"sqlite:///{db}")
        out = Path(tmp) / "out"
        out.mkdir()
        with Timer() as t:
            _export(engine, out)
        engine.dispose()
    return {"rows": total, "seconds": round(t.seconds, 2), "rows_per_s": round(total / t.seconds)}


if __name__ == "__main__":
    main()
