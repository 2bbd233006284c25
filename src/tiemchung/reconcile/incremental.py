"""Incremental linking: new dose records against the register and an earlier run's state.

Given the earlier run's ``model.json`` (its weights, prior and thresholds), a record's score
and decision depend only on its own identity and the register, never on the other records. So
:func:`link_new` scores *only the new records* (the full pipeline, ``--model`` fixed), then
re-runs just the records stage — double entries and conflicts, which do involve other
records — over the earlier run's ``state.parquet`` plus the new one. The result is what a
batch run over old + new records with the same model gives (tested), at the cost of scoring
the new records and one pass of window functions over the ``state`` rows.

The output folder is a complete run (``links``, ``state``, ``model``, ``summary``), so it can
be applied (``tiemchung reconcile apply``) and be the ``--state`` of the next increment.

Not covered: a new register snapshot (re-checking only the records whose candidates changed);
run a batch with ``--model`` for that. ``#row-N`` identifiers of records without a
``record_id`` are numbered per file, so they may collide across increments.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import duckdb

from . import decide, outputs
from .errors import ReconcileInputError
from .run import Options, Progress, reconcile


def _need(path: Path, what: str) -> Path:
    if not path.is_file():
        raise ReconcileInputError(
            f"{path}: thiếu {what} của lần chạy trước / missing the earlier run's {what} "
            "(a run of this version writes it; re-run it once in batch)"
        )
    return path


def link_new(
    state: Path,
    records: Path,
    register: Path,
    out: Path,
    *,
    mapping: Path | None = None,
    threads: int | None = None,
    memory: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Link ``records`` (new only) using the run in ``state``; write a full run to ``out``."""
    state, out = Path(state), Path(out)
    model = _need(state / "model.json", "model.json")
    old_state = _need(state / "state.parquet", "state.parquet")
    if out.resolve() == state.resolve():
        raise ReconcileInputError(f"{out}: --out must differ from --state")
    out.mkdir(parents=True, exist_ok=True)
    new_out = out / ".new"
    reconcile(
        Options(records, register, new_out, mapping, model=model, threads=threads, memory=memory),
        progress=progress,
    )
    con = duckdb.connect()
    try:
        if threads:
            _x(con, f"SET threads = {int(threads)}")
        if memory:
            _x(con, f"SET memory_limit = '{memory}'")
        _x(
            con,
            "CREATE TABLE st AS SELECT *, row_number() OVER () AS iid, src FROM ("
            "SELECT *, 'old' AS src FROM read_parquet(?) UNION ALL "
            "SELECT *, 'new' AS src FROM read_parquet(?))",
            [str(old_state), str(new_out / "state.parquet")],
        )
        _x(
            con,
            "CREATE TABLE rec_iid AS SELECT _row, record_id, no_id, iid, dose_number, dose_day "
            "FROM st",
        )
        _x(
            con,
            "CREATE TABLE decided AS SELECT iid, decision, person_id, p, is_exact, nf_key, "
            "mismatches, corrections, explanation, ward, province FROM st",
        )
        _x(
            con,
            "CREATE TABLE cand_json AS SELECT iid, candidates FROM st WHERE candidates IS NOT NULL",
        )
        for name, sql in (
            ("multi", decide.multi_sql()),
            ("conflicts", decide.conflicts_sql()),
            ("duplicates", decide.duplicates_sql()),
            ("links", decide.links_sql()),
        ):
            _x(con, f"CREATE TABLE {name} AS {sql}")
        cols = ", ".join(decide.LINK_COLUMNS)
        _x(
            con,
            f"COPY (SELECT {cols} FROM links) TO '{_lit(out / 'links.parquet')}' "
            "(FORMAT parquet, COMPRESSION snappy)",
        )
        _x(
            con,
            f"COPY (SELECT {cols} FROM links) TO '{_lit(out / 'links.csv')}' (FORMAT csv, HEADER)",
        )
        state_cols = ", ".join(
            c
            for c in con.sql("SELECT * FROM st LIMIT 0").to_arrow_table().column_names
            if c not in ("iid", "src")
        )
        _x(
            con,
            f"COPY (SELECT {state_cols} FROM st) TO '{_lit(out / 'state.parquet')}' "
            "(FORMAT parquet, COMPRESSION snappy)",
        )
        old_links = state / "links.parquet"
        changed = _x(
            con,
            "SELECT count(*) FROM links l JOIN read_parquet(?) o ON o.record_id = l.record_id "
            "WHERE o.action IS DISTINCT FROM l.action OR o.duplicate_of IS DISTINCT FROM "
            "l.duplicate_of",
            [str(old_links)],
        )[0]
        counts = {
            "new_records": _x(con, "SELECT count(*) FROM st WHERE src = 'new'")[0],
            "previous_records": _x(con, "SELECT count(*) FROM st WHERE src = 'old'")[0],
        }
        overall = outputs._shape(con.sql(outputs._counts_sql(None)).to_arrow_table().to_pylist()[0])
    finally:
        con.close()
    shutil.copyfile(model, out / "model.json")
    new_summary = json.loads((new_out / "summary.json").read_text(encoding="utf-8"))
    summary = {
        "records": overall["records"],
        "register": new_summary["register"],
        "overall": overall,
        "incremental": {
            "state": str(state.resolve()),
            "new_records": int(counts["new_records"][0]),  # type: ignore[index]
            "previous_records": int(counts["previous_records"][0]),  # type: ignore[index]
            "changed_previous": int(changed[0]) if changed else 0,
            "new_run_pipeline": new_summary["pipeline"],
        },
        "model": new_summary["model"],
    }
    (out / "summary.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    shutil.rmtree(new_out, ignore_errors=True)
    return summary


def _x(con: Any, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Run a statement to completion (the connection refuses new work before that)."""
    return list(con.execute(sql, params or []).fetchall())


def _lit(path: Path) -> str:
    return str(path).replace("'", "''")


__all__ = ["link_new"]
