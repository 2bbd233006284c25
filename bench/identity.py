"""Benchmark of tiemchung.identity: names and IDs per second, Python and DuckDB bulk path.

Single process. Figures are absolute rates and ratios to a baseline measured in the same run
(``str.lower`` and ``unicodedata.normalize('NFC')`` over the same names), because this machine
is small and noisy. Targets (issue 3): >= 200k names/s normalised + folded and >= 500k IDs/s
parsed per core in Python; >= 5M rows/s in the bulk path.
"""

from __future__ import annotations

import random
import sys
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
from tiemchung.identity.bulk import register_macros

N_PY = 300_000
N_SQL = 5_000_000


def best_rate(fn, items, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    best = 0.0
    for _ in range(repeat):
        with Timer() as t:
            fn(items)
        best = max(best, len(items) / t.seconds)
    return best


def main() -> None:
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

    con = duckdb.connect()
    con.execute("SET threads = 1")
    register_macros(con)
    con.execute("CREATE TABLE n AS SELECT * FROM (SELECT unnest(?) AS x)", [names[:100_000]])
    con.execute("CREATE TABLE i AS SELECT * FROM (SELECT unnest(?) AS x)", [ids[:100_000]])
    reps = N_SQL // 100_000
    con.execute(f"CREATE TABLE nn AS SELECT n.x FROM n, range({reps})")
    con.execute(f"CREATE TABLE ii AS SELECT i.x FROM i, range({reps})")

    def sql_rate(query: str, rows: int) -> float:
        best = 0.0
        for _ in range(2):
            with Timer() as t:
                con.execute(query).fetchall()
            best = max(best, rows / t.seconds)
        return best

    sql_base = sql_rate(
        "SELECT sum(length(lower(x))) FROM nn", N_SQL
    )  # count() of it is optimised away
    sql_fold = sql_rate("SELECT count(tc_fold_name(x)) FROM nn", N_SQL)
    sql_norm = sql_rate("SELECT count(tc_normalize_name(x)) FROM nn", N_SQL)
    sql_ids = sql_rate(
        "SELECT count(tc_id_digits(x)), count(tc_id_birth_year(x)), "
        "count(tc_id_sex(x)), count(tc_id_province(x)) FROM ii",
        N_SQL,
    )
    con.execute("SET threads = 2")
    sql_fold_2 = sql_rate("SELECT count(tc_fold_name(x)) FROM nn", N_SQL)
    sql_ids_2 = sql_rate(
        "SELECT count(tc_id_digits(x)), count(tc_id_birth_year(x)), "
        "count(tc_id_sex(x)), count(tc_id_province(x)) FROM ii",
        N_SQL,
    )

    results = {
        "python_names_per_s": round(names_rate),
        "python_ids_per_s": round(ids_rate),
        "baseline_str_lower_per_s": round(base_lower),
        "baseline_nfc_per_s": round(base_nfc),
        "names_vs_lower_ratio": round(names_rate / base_lower, 3),
        "names_vs_nfc_ratio": round(names_rate / base_nfc, 3),
        "ids_vs_lower_ratio": round(ids_rate / base_lower, 3),
        "sql_1thread_baseline_lower_rows_per_s": round(sql_base),
        "sql_1thread_fold_rows_per_s": round(sql_fold),
        "sql_1thread_normalize_rows_per_s": round(sql_norm),
        "sql_1thread_id_fields_rows_per_s": round(sql_ids),
        "sql_2threads_fold_rows_per_s": round(sql_fold_2),
        "sql_2threads_id_fields_rows_per_s": round(sql_ids_2),
        "targets": {
            "python_names_per_s": 200_000,
            "python_ids_per_s": 500_000,
            "bulk_rows_per_s": 5_000_000,
        },
    }
    path = write_result(
        "identity",
        inputs={
            "python_rows": N_PY,
            "sql_rows": N_SQL,
            "seed": 7,
            "names": "synthetic, messy case/spacing/tone style (tests/identity/synth.py)",
            "ids": "synthetic, ~25% malformed (spaced, dotted, 9-digit, broken)",
            "method": "best of 3 (Python) / 2 (SQL) runs, one process",
        },
        results=results,
        packages=["duckdb", "vietnam-provinces"],
    )
    for k, v in results.items():
        print(f"{k}: {v}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
