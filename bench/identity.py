"""Benchmark of tiemchung.identity: names and IDs per second, Python and DuckDB bulk path.

Single process. Figures are absolute rates and ratios to baselines measured in the same run
(``str.lower`` and NFC loops in Python; ``lower()`` and ``strip_accents()`` in DuckDB), because
this 2-core machine is small and shared. Every SQL figure is given twice: rows per wall second
and rows per CPU second of this process (what the engine costs; with other work on the
machine, wall rates fall but CPU rates much less). Load averages are recorded before and after.

SQL runs on (a) 5M rows of messy synthetic names/IDs (tests/identity/synth.py: case, spacing,
tone style; 1M values repeated 5x; per-row macros cache nothing, so the repetition does not
matter to them) and (b) the records of the project's population generator
(``tiemchung.synth``), whose repetition is realistic, per row and via distinct values
(:func:`tiemchung.identity.bulk.via_distinct_sql`); rows/s there are rows of the *input*.

Targets (issue 3): >= 200k names/s normalised + folded and >= 500k IDs/s parsed per core in
Python; >= 5M rows/s in the bulk path.

    .venv/bin/python bench/identity.py [--people 1000000] [--records path/records.parquet]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import unicodedata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb
from tests.identity.synth import id_text, messy, name

from bench._common import Timer, write_result
from tiemchung.identity import (
    IdentityError,
    fold_name,
    normalize_name,
    parse_national_id,
)
from tiemchung.identity.bulk import register_macros, via_distinct_sql

N_PY = 300_000
N_SQL = 5_000_000
N_SQL_DISTINCT = 1_000_000
TARGET_BULK = 5_000_000


def _cpu() -> float:
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def _generate_records(people: int) -> str:
    """Records of ``people`` generated people (seed 1), in a temporary directory."""
    from tiemchung.synth import generate

    out = tempfile.mkdtemp(prefix="bench_identity_")
    generate(people, seed=1, out=out, workers=1)
    return str(Path(out) / "records.parquet")


def best_rate(fn, items, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    best = 0.0
    for _ in range(repeat):
        with Timer() as t:
            fn(items)
        best = max(best, len(items) / t.seconds)
    return best


def _columnar(con: duckdb.DuckDBPyConnection, threads: int) -> dict[str, dict[str, object]]:
    """The Arrow path (:mod:`tiemchung.identity.columnar`) on the same 5M messy rows and the
    records, per row: nothing is deduplicated beforehand. Baseline in the same harness (same
    chunks, same threads): Arrow's ``utf8_lower``, the cheapest full pass over the text."""
    import pyarrow.compute as pc

    from tiemchung.identity import columnar

    def rate(fn, arr) -> dict[str, float]:  # type: ignore[no-untyped-def]
        best_wall = best_cpu = 0.0
        for _ in range(3):
            c0 = _cpu()
            with Timer() as t:
                fn(arr)
            best_wall = max(best_wall, len(arr) / t.seconds)
            best_cpu = max(best_cpu, len(arr) / max(_cpu() - c0, 1e-9))
        return {"rows_per_s": round(best_wall), "rows_per_cpu_s": round(best_cpu)}

    def lower(arr):  # type: ignore[no-untyped-def]
        return columnar._run(arr, pc.utf8_lower, threads)

    out: dict[str, dict[str, object]] = {}
    for label, names_sql, ids_sql in (
        ("messy_5M_rows", "SELECT x FROM nn", "SELECT x FROM ii"),
        ("records", "SELECT full_name AS x FROM r", "SELECT national_id AS x FROM r"),
    ):
        names = con.sql(names_sql).to_arrow_table().column("x")
        ids = con.sql(ids_sql).to_arrow_table().column("x")
        rates = {
            "baseline_arrow_lower": rate(lower, names),
            "fold": rate(lambda a: columnar.fold_names(a, threads=threads), names),
            "normalize": rate(lambda a: columnar.normalize_names(a, threads=threads), names),
            "id_fields": rate(lambda a: columnar.parse_ids(a, threads=threads), ids),
        }
        base = rates["baseline_arrow_lower"]["rows_per_cpu_s"]
        for v in rates.values():
            v["vs_arrow_lower_cpu_ratio"] = round(v["rows_per_cpu_s"] / base, 3)
        out[label] = rates
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--records", help="reuse a records.parquet made by tiemchung.synth")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    load_before = [round(x, 2) for x in os.getloadavg()]
    rng = random.Random(7)
    names = [messy(rng, name(rng)) for _ in range(N_PY)]
    ids = [id_text(rng) for _ in range(N_PY)]

    def lower_loop(xs: list[str]) -> None:
        for x in xs:
            x.lower()

    def nfc_loop(xs: list[str]) -> None:
        for x in xs:
            unicodedata.normalize("NFC", x)

    def names_loop(xs: list[str]) -> None:
        for x in xs:
            fold_name(normalize_name(x))

    def ids_loop(xs: list[str]) -> None:
        for x in xs:
            try:  # noqa: SIM105 - cheaper than contextlib.suppress in a hot loop
                parse_national_id(x)
            except IdentityError:
                pass

    normalize_name("warm up")
    base_lower = best_rate(lower_loop, names)
    base_nfc = best_rate(nfc_loop, names)
    names_rate = best_rate(names_loop, names)
    ids_rate = best_rate(ids_loop, ids)

    # --- SQL bulk path ------------------------------------------------------------------
    con = duckdb.connect()
    con.execute(f"SET threads = {args.threads}")
    register_macros(con)
    rng_sql = random.Random(8)
    sql_names = [messy(rng_sql, name(rng_sql)) for _ in range(N_SQL_DISTINCT)]
    sql_ids = [id_text(rng_sql) for _ in range(N_SQL_DISTINCT)]
    con.execute("CREATE TABLE n1 AS SELECT unnest(?) AS x", [sql_names])
    con.execute("CREATE TABLE i1 AS SELECT unnest(?) AS x", [sql_ids])
    reps = N_SQL // N_SQL_DISTINCT
    con.execute(f"CREATE TABLE nn AS SELECT n1.x FROM n1, range({reps})")
    con.execute(f"CREATE TABLE ii AS SELECT i1.x FROM i1, range({reps})")

    id_fields = ("tc_id_digits", "tc_id_kind", "tc_id_province", "tc_id_sex", "tc_id_birth_year")

    def sql_rate(query: str, rows: int) -> dict[str, float]:
        """Best of 2: rows per wall second and rows per CPU second of this process (the
        latter is what the engine costs, whatever the other helpers on the machine do)."""
        best_wall = best_cpu = 0.0
        for _ in range(2):
            c0 = _cpu()
            with Timer() as t:
                con.execute(query).fetchall()
            best_wall = max(best_wall, rows / t.seconds)
            best_cpu = max(best_cpu, rows / max(_cpu() - c0, 1e-9))
        return {"rows_per_s": round(best_wall), "rows_per_cpu_s": round(best_cpu)}

    per_row = {
        # sum(strlen()) so that DuckDB cannot skip the work (count() of it was optimised away)
        "baseline_lower": sql_rate("SELECT sum(strlen(lower(x))) FROM nn", N_SQL),
        "baseline_strip_accents": sql_rate("SELECT sum(strlen(strip_accents(x))) FROM nn", N_SQL),
        "fold": sql_rate("SELECT sum(strlen(tc_fold_name(x))) FROM nn", N_SQL),
        "normalize": sql_rate("SELECT sum(strlen(tc_normalize_name(x))) FROM nn", N_SQL),
        "id_fields": sql_rate(
            "SELECT " + ", ".join(f"count({f}(x))" for f in id_fields) + " FROM ii", N_SQL
        ),
    }

    # Realistic repetition: the records of the project's population generator.
    records = args.records or _generate_records(args.people)
    con.execute(f"CREATE TABLE r AS SELECT full_name, national_id FROM read_parquet('{records}')")
    n_rec, r_names, r_ids = con.execute(
        "SELECT count(*), count(DISTINCT full_name) / count(*), "
        "count(DISTINCT national_id) / count(*) FROM r"
    ).fetchall()[0]
    ratios = {"names": r_names, "ids": r_ids}
    name_macros = {"k": "tc_fold_name", "d": "tc_normalize_name"}
    id_macros = {f"c{i}": f for i, f in enumerate(id_fields)}
    records_rates = {
        "names_per_row": sql_rate(
            "SELECT sum(strlen(tc_fold_name(full_name))), "
            "sum(strlen(tc_normalize_name(full_name))) FROM r",
            n_rec,
        ),
        "names_via_distinct": sql_rate(
            f"SELECT sum(strlen(k)), sum(strlen(d)) FROM "
            f"({via_distinct_sql('r', 'full_name', name_macros)})",
            n_rec,
        ),
        "fold_via_distinct": sql_rate(
            f"SELECT sum(strlen(k)) FROM "
            f"({via_distinct_sql('r', 'full_name', {'k': 'tc_fold_name'})})",
            n_rec,
        ),
        "ids_per_row": sql_rate(
            "SELECT " + ", ".join(f"count({f}(national_id))" for f in id_fields) + " FROM r", n_rec
        ),
        "ids_via_distinct": sql_rate(
            "SELECT " + ", ".join(f"count({c})" for c in id_macros) + " FROM "
            f"({via_distinct_sql('r', 'national_id', id_macros)})",
            n_rec,
        ),
    }
    base = per_row["baseline_lower"]["rows_per_cpu_s"]
    columnar_rates = _columnar(con, args.threads)

    def ratio(d: dict[str, float]) -> float:
        return round(d["rows_per_cpu_s"] / base, 3)

    results = {
        "python_names_per_s": round(names_rate),
        "python_ids_per_s": round(ids_rate),
        "baseline_str_lower_per_s": round(base_lower),
        "baseline_nfc_per_s": round(base_nfc),
        "names_vs_lower_ratio": round(names_rate / base_lower, 3),
        "names_vs_nfc_ratio": round(names_rate / base_nfc, 3),
        "ids_vs_lower_ratio": round(ids_rate / base_lower, 3),
        f"sql_{args.threads}threads_messy_5M_rows": per_row,
        "sql_per_row_vs_lower_cpu_ratio": {k: ratio(v) for k, v in per_row.items()},
        "records": {
            "rows": n_rec,
            "people": args.people,
            "reused_file": bool(args.records),
            "distinct_ratio": {k: round(v, 3) for k, v in ratios.items()},
        },
        f"sql_{args.threads}threads_records": records_rates,
        "bulk_target_met_wall": {
            k: v["rows_per_s"] >= TARGET_BULK for k, v in records_rates.items()
        },
        f"columnar_{args.threads}threads": columnar_rates,
        "columnar_target_met_wall": {
            f"{table}.{k}": v["rows_per_s"] >= TARGET_BULK
            for table, rates in columnar_rates.items()
            for k, v in rates.items()
            if not k.startswith("baseline")
        },
        "targets": {
            "python_names_per_s": 200_000,
            "python_ids_per_s": 500_000,
            "bulk_rows_per_s": TARGET_BULK,
        },
        "loadavg_before": load_before,
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }
    path = write_result(
        "identity",
        inputs={
            "python_rows": N_PY,
            "sql_rows": N_SQL,
            "sql_distinct_values": N_SQL_DISTINCT,
            "seed": 7,
            "names": "synthetic, messy case/spacing/tone style (tests/identity/synth.py)",
            "ids": "synthetic, ~25% malformed (spaced, dotted, 9-digit, broken)",
            "records": "tiemchung.synth.generate(people, seed=1): full_name, national_id",
            "names_via_distinct": "tc_fold_name + tc_normalize_name once per distinct name, "
            "hash-joined back to every row",
            "ids_via_distinct": "digits, kind, province, sex, birth year per distinct ID",
            "method": "best of 3 (Python, columnar) / 2 (SQL) runs, one process; rows per "
            "wall second and per CPU second of the process",
            "columnar": "tiemchung.identity.columnar on Arrow arrays fetched from the same "
            "DuckDB tables, every row (no deduplication beforehand)",
            "threads": args.threads,
        },
        results=results,
        packages=["duckdb", "pyarrow", "numpy", "vietnam-provinces"],
    )
    for k, v in results.items():
        print(f"{k}: {v}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
