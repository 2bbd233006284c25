"""``tiemchung reconcile score --truth TRUTH OUT``: how right a run was, against a truth file
(``record_id, person_id, duplicate_of, wrong_fields`` and optionally ``incomplete_fields``, as
``tiemchung synth`` writes it).

Definitions (per dose record):

* **link**: the record's ``person_id`` (whatever the action, review included) against the
  truth's. A true positive names the right person; a false positive names a person when the
  truth has another or none; a false negative names nobody, or somebody else, when the truth
  has a person.
* **automatic actions** (``verified``, ``corrected``, ``duplicate``): right when the person is
  the truth's (both empty counts as right for a duplicate of an unregistered person) and, for
  ``duplicate``, the record is a double entry in the truth.
* **duplicates**: the set of records marked ``duplicate`` against the truth's double entries.
* **mismatches**: per field, the records whose ``mismatches`` list it against the truth's
  ``wrong_fields``, over the records linked to the truth's person (as
  ``bench/gen2/evaluate.py`` scores them): a record linked to someone else, or sent to
  review with another person as its candidate, lists that person's differences -- a link
  error, which the link figures count, not a field error.
* **incomplete** (when the truth has ``incomplete_fields`` and the run an ``incomplete``
  column): per field, the records whose ``incomplete`` lists it against the truth's
  ``incomplete_fields``. A field missing or partial in the record is not a wrong one, so it
  is scored apart from the mismatches.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from .errors import ReconcileInputError

FIELDS = ("national_id", "full_name", "dob", "sex", "ward_code")
AUTO = ("verified", "corrected", "duplicate")


def _reader(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return "read_parquet(?)"
    if suffix in (".csv", ".txt"):
        return "read_csv(?, all_varchar = true, header = true)"
    raise ReconcileInputError(f"{path}: unsupported format; expected .parquet or .csv")


def _prf(tp: int, fp: int, fn: int) -> dict[str, float | int]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {
        "precision": round(p, 6),
        "recall": round(r, 6),
        "f1": round(f, 6),
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


def score(truth: Path, out: Path) -> dict[str, Any]:
    """Compare ``out/links.parquet`` (or ``links.csv``) with ``truth``."""
    truth, out = Path(truth), Path(out)
    links = out / "links.parquet"
    if not links.exists():
        links = out / "links.csv"
    for p in (truth, links):
        if not p.exists():
            raise ReconcileInputError(f"{p}: no such file")
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t AS SELECT * FROM {_reader(truth)}", [str(truth)])
    con.execute(f"CREATE TABLE l AS SELECT * FROM {_reader(links)}", [str(links)])
    missing = [
        c
        for c in ("record_id", "person_id", "duplicate_of", "wrong_fields")
        if c not in _columns(con, "t")
    ]
    if missing:
        raise ReconcileInputError(f"{truth}: truth file lacks column(s) {missing}")
    # incomplete fields are scored apart when both files have them (truths and runs made
    # before the incomplete column existed lack them)
    has_inc = "incomplete_fields" in _columns(con, "t") and "incomplete" in _columns(con, "l")
    pi, ti = (
        ("coalesce(l.incomplete, '')", "coalesce(t.incomplete_fields, '')")
        if has_inc
        else ("''", "''")
    )
    con.execute(
        "CREATE TABLE j AS SELECT l.record_id, NULLIF(l.person_id, '') AS pp, "
        "NULLIF(t.person_id, '') AS tp, l.action, NULLIF(l.duplicate_of, '') AS pd, "
        "NULLIF(t.duplicate_of, '') AS td, coalesce(l.mismatches, '') AS pm, "
        f"coalesce(t.wrong_fields, '') AS tm, {pi} AS pi, {ti} AS ti, "
        "t.record_id IS NULL AS unknown FROM l LEFT JOIN t ON t.record_id = l.record_id"
    )
    q = con.execute(
        "SELECT count(*) AS n, "
        "count(*) FILTER (WHERE pp IS NOT NULL AND pp = tp) AS tp, "
        "count(*) FILTER (WHERE pp IS NOT NULL AND pp IS DISTINCT FROM tp) AS fp, "
        "count(*) FILTER (WHERE tp IS NOT NULL AND pp IS DISTINCT FROM tp) AS fn, "
        f"count(*) FILTER (WHERE action IN {AUTO}) AS auto_n, "
        f"count(*) FILTER (WHERE action IN {AUTO} AND pp IS NOT DISTINCT FROM tp "
        "AND (action <> 'duplicate' OR td IS NOT NULL)) AS auto_ok, "
        "count(*) FILTER (WHERE action = 'review') AS review, "
        "count(*) FILTER (WHERE action = 'not_found') AS nf_n, "
        "count(*) FILTER (WHERE action = 'not_found' AND tp IS NULL) AS nf_ok, "
        "count(*) FILTER (WHERE action = 'duplicate' AND td IS NOT NULL) AS d_tp, "
        "count(*) FILTER (WHERE action = 'duplicate' AND td IS NULL) AS d_fp, "
        "count(*) FILTER (WHERE action <> 'duplicate' AND td IS NOT NULL) AS d_fn, "
        "count(*) FILTER (WHERE action = 'duplicate' AND pd = td) AS d_same_first, "
        "count(*) FILTER (WHERE unknown) AS unknown "
        "FROM j"
    ).fetchall()[0]
    assert q is not None
    (n, tp, fp, fn, auto_n, auto_ok, review, nf_n, nf_ok, d_tp, d_fp, d_fn, d_same, unknown) = q
    by_action = {
        a: {"records": int(c), "right_person": int(ok)}
        for a, c, ok in con.execute(
            "SELECT action, count(*), count(*) FILTER (WHERE pp IS NOT DISTINCT FROM tp) "
            "FROM j GROUP BY action ORDER BY action"
        ).fetchall()
    }
    fields = _by_field(con, "pm", "tm")
    incomplete = _by_field(con, "pi", "ti") if has_inc else None
    con.close()
    return {
        "records": int(n),
        "records_not_in_truth": int(unknown),
        "link": _prf(tp, fp, fn),
        "automatic": {
            "records": int(auto_n),
            "precision": round(auto_ok / auto_n, 6) if auto_n else 1.0,
            "wrong": int(auto_n - auto_ok),
        },
        "review_share": round(review / n, 6) if n else 0.0,
        "not_found": {"records": int(nf_n), "precision": round(nf_ok / nf_n, 6) if nf_n else 1.0},
        "duplicates": {**_prf(d_tp, d_fp, d_fn), "same_first_entry": int(d_same)},
        "mismatch_by_field": fields,
        **({"incomplete_by_field": incomplete} if incomplete is not None else {}),
        "by_action": by_action,
    }


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]


def _by_field(con: duckdb.DuckDBPyConnection, got: str, want: str) -> dict[str, Any]:
    """Per field, the records whose ``got`` list names it against those whose ``want`` does."""
    fields = {}
    for f in FIELDS:
        g = f"list_contains(string_split({got}, ';'), '{f}')"
        w = f"list_contains(string_split({want}, ';'), '{f}')"
        ftp, ffp, ffn = con.execute(
            f"SELECT count(*) FILTER (WHERE {g} AND {w}), count(*) FILTER (WHERE {g} AND NOT "
            f"{w}), count(*) FILTER (WHERE NOT {g} AND {w}) FROM j WHERE pp = tp"
        ).fetchall()[0]
        fields[f] = _prf(ftp, ffp, ffn)
    return fields
