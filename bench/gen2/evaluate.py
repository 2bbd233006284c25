"""Score a reconcile run against this generator's truth, with what ``reconcile score`` cannot
see: link recall per error process, ``not_found`` precision (and, for the wrong ones, which of
name / date of birth / place agreed with the true person), what became of the records of
people the register lacks, and mismatches counted against the WRONG fields and, apart, how
many INCOMPLETE fields were reported as mismatches. When the run's links have reconcile's
``incomplete`` column, it is scored per field against the INCOMPLETE fields
(``incomplete_by_field``: precision/recall/F1, and how many WRONG fields it called
incomplete), over the records linked to the right person, as the mismatches are.

``tiemchung reconcile score`` reads only ``wrong_fields``; this reads the per-field columns
too, so the issue's questions (is a year-only date called wrong? which error processes cost
recall? where do wrong ``not_found`` come from?) have numbers. It runs in DuckDB, not in
Python rows: at 3M people the truth has 6M rows, which as Python dicts would take gigabytes.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import duckdb

FIVE = ("national_id", "full_name", "dob", "sex", "ward_code")
#: every field with a ``<field>_process`` column in the truth
PROCESS_FIELDS = (*FIVE, "phone", "address")


def _source(folder: Path, name: str) -> str:
    """A FROM item for ``folder/name.parquet`` (else ``.csv``, every column as text, as
    reconcile reads it)."""
    parquet, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
    if parquet.exists():
        return f"read_parquet('{parquet}')"
    if csv.exists():
        return f"read_csv('{csv}', all_varchar = true, header = true)"
    raise FileNotFoundError(f"{folder}: no {name}.parquet or {name}.csv")


def _prf(tp: int, fp: int, fn: int) -> dict[str, float | int]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return {
        "precision": round(p, 6),
        "recall": round(r, 6),
        "f1": round(2 * p * r / (p + r), 6) if p + r else 0.0,
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


def _status(con: duckdb.DuckDBPyConnection, field: str) -> str:
    """``<field>_status`` as ``agree`` / ``incomplete`` / ``wrong`` / ``absent`` (the column or
    the value is missing: FEBRL has no ward, sex or phone)."""
    cols = {r[0] for r in con.execute("DESCRIBE j").fetchall()}
    if f"{field}_status" not in cols:
        return "'absent'"
    return (
        f"CASE {field}_status WHEN 'correct' THEN 'agree' WHEN 'incomplete' THEN "
        f"'incomplete' WHEN 'wrong' THEN 'wrong' ELSE 'absent' END"
    )


def _place(con: duckdb.DuckDBPyConnection) -> str:
    """The place agrees when the ward does, or when no ward is given (or none exists) and the
    address does: a record with no ward code is placed by its address, as a commune officer
    would place it."""
    ward, addr = _status(con, "ward_code"), _status(con, "address")
    return (
        f"CASE WHEN {ward} = 'agree' THEN 'agree' WHEN {ward} = 'wrong' THEN 'wrong' "
        f"WHEN {addr} IN ('agree', 'wrong') THEN {addr} "
        f"WHEN {ward} = 'incomplete' OR {addr} = 'incomplete' THEN 'incomplete' "
        "ELSE 'absent' END"
    )


def _not_found(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """``not_found`` precision, and the wrong ones (the truth has a register person) broken
    down by how many of name, DOB and place agree with that person, by the exact pattern
    (with the ID's state beside it), and by the error processes they went through."""
    n, right = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE want IS NULL) FROM j WHERE action = 'not_found'"
    ).fetchall()[0]
    name, dob, place, nid = (
        _status(con, "full_name"),
        _status(con, "dob"),
        _place(con),
        _status(con, "national_id"),
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE nfw AS SELECT {name} AS name, {dob} AS dob, "
        f"{place} AS place, {nid} AS id, * FROM j WHERE action = 'not_found' AND want IS NOT NULL"
    )
    agreeing = {
        f"{k}_of_3": int(c)
        for k, c in con.execute(
            "SELECT (name = 'agree')::INT + (dob = 'agree')::INT + (place = 'agree')::INT AS k, "
            "count(*) FROM nfw GROUP BY k ORDER BY k"
        ).fetchall()
    }
    patterns = [
        {"name": a, "dob": b, "place": c, "national_id": d, "records": int(e)}
        for a, b, c, d, e in con.execute(
            "SELECT name, dob, place, id, count(*) AS c FROM nfw "
            "GROUP BY ALL ORDER BY c DESC, name, dob, place, id"
        ).fetchall()
    ]
    return {
        "records": int(n),
        "in_register": int(n - right),
        "precision": round(right / n, 6) if n else 1.0,
        "in_register_by_agreeing_fields": agreeing,
        "in_register_by_pattern": patterns,
        "in_register_by_process": _by_process(con, "nfw", "count(*)"),
    }


def _by_process(con: duckdb.DuckDBPyConnection, table: str, agg: str) -> dict[str, Any]:
    """``field.process -> agg`` over the rows of ``table`` with a true person, one row per
    process a record went through (a field may list several, ``;``-separated)."""
    cols = {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}
    parts = [
        f"SELECT '{f}.' || p AS k, * FROM (SELECT unnest(string_split({f}_process, ';')) "
        f"AS p, * FROM {table} WHERE want IS NOT NULL) WHERE p <> ''"
        for f in PROCESS_FIELDS
        if f"{f}_process" in cols
    ]
    if not parts:
        return {}
    rows = con.execute(
        f"SELECT k, {agg} FROM ({' UNION ALL '.join(parts)}) GROUP BY k ORDER BY k"
    ).fetchall()
    return {r[0]: r[1] for r in rows}


def evaluate(data: Path | str, run: Path | str) -> dict[str, Any]:
    """``data``: the generator's folder (``truth``); ``run``: reconcile's ``--out``."""
    con = duckdb.connect()
    # a shared machine: two threads, a bounded memory, spilling to a temporary folder
    con.execute("SET threads = 2")
    con.execute("SET memory_limit = '4GB'")
    con.execute(f"SET temp_directory = '{tempfile.mkdtemp(prefix='gen2-evaluate-')}'")
    con.execute("SET preserve_insertion_order = false")
    links = _source(Path(run), "links")
    # reconcile's own ``incomplete`` column (runs since issue 16), scored against the truth's
    # INCOMPLETE fields the way mismatches are against the WRONG ones
    described = con.execute(f"DESCRIBE SELECT * FROM {links}").fetchall()
    has_inc = "incomplete" in {r[0] for r in described}
    inc_col = "incomplete" if has_inc else "CAST(NULL AS VARCHAR) AS incomplete"
    con.execute(
        f"CREATE TABLE j AS SELECT t.*, NULLIF(t.person_id, '') AS want, "
        f"NULLIF(l.person_id, '') AS got, l.action, l.mismatches, l.incomplete AS said, "
        f"l.record_id IS NULL AS missing FROM {_source(Path(data), 'truth')} t "
        f"LEFT JOIN (SELECT record_id, person_id, action, mismatches, {inc_col} "
        f"FROM {links}) l ON l.record_id = t.record_id"
    )
    n, tp, fp, fn, missing = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE got = want), "
        "count(*) FILTER (WHERE got IS NOT NULL AND got IS DISTINCT FROM want), "
        "count(*) FILTER (WHERE want IS NOT NULL AND got IS DISTINCT FROM want), "
        "count(*) FILTER (WHERE missing) FROM j"
    ).fetchall()[0]
    per_process = _by_process(
        con,
        "j",
        "{'records': count(*), 'recall': round(avg((got IS NOT DISTINCT FROM want)::INT), 6)}",
    )
    cols = {r[0] for r in con.execute("DESCRIBE j").fetchall()}
    outside = {}
    if "kind" in cols:
        outside = {
            k: {
                "records": int(a),
                "linked_to_someone": int(b),
                "not_found": int(c),
                "review": int(d),
            }
            for k, a, b, c, d in con.execute(
                "SELECT kind, count(*), count(*) FILTER (WHERE got IS NOT NULL), "
                "count(*) FILTER (WHERE action = 'not_found'), "
                "count(*) FILTER (WHERE action = 'review') FROM j WHERE want IS NULL "
                "GROUP BY kind ORDER BY kind"
            ).fetchall()
        }
    mism = {}
    inc: dict[str, Any] = {}
    for f in FIVE:
        status = f"coalesce({f}_status, 'correct')" if f"{f}_status" in cols else "'correct'"
        flagged = f"list_contains(string_split(coalesce(mismatches, ''), ';'), '{f}')"
        wf, wn, cf, inf, inn = con.execute(
            f"SELECT count(*) FILTER (WHERE s = 'wrong' AND fl), "
            f"count(*) FILTER (WHERE s = 'wrong' AND NOT fl), "
            f"count(*) FILTER (WHERE s NOT IN ('wrong', 'incomplete') AND fl), "
            f"count(*) FILTER (WHERE s = 'incomplete' AND fl), "
            f"count(*) FILTER (WHERE s = 'incomplete' AND NOT fl) "
            f"FROM (SELECT {status} AS s, {flagged} AS fl FROM j WHERE got = want)"
        ).fetchall()[0]
        mism[f] = {
            **_prf(int(wf), int(cf + inf), int(wn)),
            "incomplete_flagged": int(inf),
            "incomplete": int(inf + inn),
        }
        if has_inc:
            said = f"list_contains(string_split(coalesce(said, ''), ';'), '{f}')"
            i_s, i_n, c_s, w_s = con.execute(
                f"SELECT count(*) FILTER (WHERE s = 'incomplete' AND sd), "
                f"count(*) FILTER (WHERE s = 'incomplete' AND NOT sd), "
                f"count(*) FILTER (WHERE s NOT IN ('wrong', 'incomplete') AND sd), "
                f"count(*) FILTER (WHERE s = 'wrong' AND sd) "
                f"FROM (SELECT {status} AS s, {said} AS sd FROM j WHERE got = want)"
            ).fetchall()[0]
            inc[f] = {**_prf(int(i_s), int(c_s + w_s), int(i_n)), "wrong_said": int(w_s)}
    result = {
        "records": int(n),
        "links_missing": int(missing),
        "link": _prf(int(tp), int(fp), int(fn)),
        "not_found": _not_found(con),
        "link_recall_by_process": {
            k: {"records": int(v["records"]), "recall": v["recall"]} for k, v in per_process.items()
        },
        "not_in_register": outside,
        "mismatch_by_field": mism,
        **({"incomplete_by_field": inc} if has_inc else {}),
    }
    con.close()
    return result
