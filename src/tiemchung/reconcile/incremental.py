"""Incremental linking: new dose records, and new register snapshots, without the backlog.

Given the earlier run's ``model.json`` (its weights, prior, thresholds and register size), a
record's score and decision depend only on its own identity and the register, never on the
other records.

* :func:`link_new` scores *only the new records* (the full pipeline, ``--model`` fixed), then
  re-runs just the records stage — double entries and conflicts, which do involve other
  records — over the earlier run's state (``state.parquet``, ``state_identities.parquet``)
  plus the new one.
* :func:`recheck_register` takes a new register snapshot: it compares the standardised
  persons with the earlier run's (``register_std.parquet``), and re-scores only the records
  that can see a changed person — one whose blocking values (ID, old ID, folded name + date of
  birth, date of birth + ward, folded name + ward, phone + birth year) meet an added, removed
  or changed person's (old or new version), whose folded name's register frequency changed,
  or that were linked to a changed person. Every other record's candidates, weights and
  posterior are the same under the new register (the model pins N, see
  :func:`tiemchung.reconcile.run._pinned_size`); then the records stage runs over all.

Either way the result is what a batch run over all the records with the same model gives
(tested). The output folder is a complete run (``links``, ``state``, ``model``,
``register_std``, ``summary``), so it can be applied (``tiemchung reconcile apply``) and be
the ``--state`` of the next increment.

Records without a ``record_id`` (``#row-N`` in a batch) are refused in both modes: row
numbers of different files would collide.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from . import decide, entries, outputs
from .engines.base import convert_sql, copy_options, path_literal
from .engines.duckdb_engine import DuckDBEngine
from .errors import ReconcileInputError
from .inputs import InputSpec
from .run import (
    REC_LOAD,
    REGISTER_STD,
    STATE_IDENTITIES,
    STATE_RECORDS,
    Options,
    Progress,
    prepare,
    reconcile,
)
from .standardise import KINDS
from .steps import REG_KINDS, REG_STD_COLS, Plan


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
    old_state, old_idents = _state_of(state)
    if out.resolve() == state.resolve():
        raise ReconcileInputError(f"{out}: --out must differ from --state")
    rec, _reg = prepare(Options(records, register, out, mapping, model=model)).plan_specs
    out.mkdir(parents=True, exist_ok=True)
    _check_new_ids(rec, old_state, out / ".check", threads, memory)
    new_out = out / ".new"
    reconcile(
        Options(records, register, new_out, mapping, model=model, threads=threads, memory=memory),
        progress=progress,
    )
    parts = [StatePart(old_state, old_idents, "old"), StatePart(*_state_of(new_out), "new")]
    overall, counts, changed = _records_stage(out, parts, state / "links.parquet", threads, memory)
    shutil.copyfile(model, out / "model.json")
    shutil.copyfile(new_out / REGISTER_STD, out / REGISTER_STD)
    new_summary = json.loads((new_out / "summary.json").read_text(encoding="utf-8"))
    summary = {
        "records": overall["records"],
        "register": new_summary["register"],
        "overall": overall,
        "incremental": {
            "state": str(state.resolve()),
            "new_records": counts.get("new", 0),
            "previous_records": counts.get("old", 0),
            "changed_previous": changed,
            "new_run_pipeline": new_summary["pipeline"],
        },
        "model": new_summary["model"],
    }
    _write_summary(out, summary)
    shutil.rmtree(new_out, ignore_errors=True)
    return summary


def _write_summary(out: Path, summary: dict[str, Any]) -> None:
    (out / "summary.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def _connect(threads: int | None, memory: str | None) -> Any:
    con = duckdb.connect()
    _x(con, "SET preserve_insertion_order = false")  # as the engine: rows in any order
    if threads:
        _x(con, f"SET threads = {int(threads)}")
    if memory:
        _x(con, f"SET memory_limit = '{memory}'")
    return con


@dataclass(frozen=True)
class StatePart:
    """One run's state, or part of it: its records and its identities (the identities no
    record of ``records`` refers to are ignored)."""

    records: Path
    identities: Path
    label: str


def _state_of(run: Path) -> tuple[Path, Path]:
    """The state files of the run in folder ``run`` (an earlier ``--out``)."""
    records = _need(run / STATE_RECORDS, STATE_RECORDS)
    if not (run / STATE_IDENTITIES).is_file():
        raise ReconcileInputError(
            f"{run / STATE_IDENTITIES}: thiếu trạng thái theo danh tính của lần chạy trước / "
            "missing the earlier run's identity state (an older version kept it in "
            f"{STATE_RECORDS}): run it once again in batch"
        )
    return records, run / STATE_IDENTITIES


def _records_stage(
    out: Path,
    parts: list[StatePart],
    previous_links: Path,
    threads: int | None,
    memory: str | None,
) -> tuple[dict[str, Any], dict[str, int], int]:
    """The records stage (conflicts, double entries, links) over the union of state files,
    each identity with its decision already made: writes ``links`` and the state to
    ``out``; returns the overall counts, the rows per part and how many earlier links
    changed action or ``duplicate_of``."""
    con = _connect(threads, memory)
    try:
        # the tables a batch run's records stage reads (rec_iid, decided, cand_json); each
        # part's identity numbers are shifted past the previous parts' so they stay distinct
        offset = 0
        recs, idents, params = [], [], []
        for part in parts:
            recs.append(
                f"SELECT * REPLACE (iid + {offset} AS iid), '{part.label}' AS src "
                "FROM read_parquet(?)"
            )
            idents.append(
                f"SELECT * REPLACE (iid + {offset} AS iid) FROM read_parquet(?) "
                "WHERE iid IN (SELECT iid FROM read_parquet(?))"
            )
            params.append((str(part.records), str(part.identities)))
            top = _x(con, "SELECT max(iid) FROM read_parquet(?)", [str(part.identities)])[0][0]
            offset += int(top or 0)
        _x(con, f"CREATE TABLE rec_iid AS {' UNION ALL '.join(recs)}", [r for r, _i in params])
        # by name: a state written before a column existed (``incomplete``) gets NULLs there
        _x(
            con,
            f"CREATE TABLE decided AS {' UNION ALL BY NAME '.join(idents)}",
            [x for r, i in params for x in (i, r)],
        )
        _x(
            con,
            "CREATE TABLE cand_json AS SELECT iid, candidates FROM decided "
            "WHERE candidates IS NOT NULL",
        )
        for name, sql in (
            ("multi", entries.multi_sql()),
            ("conflicts", entries.conflicts_sql()),
            ("duplicates", entries.duplicates_sql()),
            ("review_twins", entries.review_twins_sql()),
            ("links", entries.links_sql()),
        ):
            _x(con, f"CREATE TABLE {name} AS {sql}")
        cols = ", ".join(decide.LINK_COLUMNS)
        links = out / "links.parquet"
        opts = copy_options("parquet")
        _x(con, f"COPY (SELECT {cols} FROM links) TO '{path_literal(links)}' ({opts})")
        _x(con, convert_sql(out / "links.csv", "csv"), [str(links)])
        for sql, name in (
            (entries.STATE_RECORDS_SQL, STATE_RECORDS),
            ("SELECT * FROM decided", STATE_IDENTITIES),
        ):
            _x(
                con,
                f"COPY ({sql}) TO '{path_literal(out / name)}' "
                f"({copy_options('parquet', state=True)})",
            )
        changed = _x(
            con,
            "SELECT count(*) FROM links l JOIN read_parquet(?) o ON o.record_id = l.record_id "
            "WHERE o.action IS DISTINCT FROM l.action OR o.duplicate_of IS DISTINCT FROM "
            "l.duplicate_of",
            [str(previous_links)],
        )[0][0]
        counts = {
            str(k): int(n) for k, n in _x(con, "SELECT src, count(*) FROM rec_iid GROUP BY src")
        }
        overall = outputs._shape(con.sql(outputs._counts_sql()).to_arrow_table().to_pylist()[0])
    finally:
        con.close()
    return overall, counts, int(changed)


def _check_new_ids(
    rec: InputSpec, old_state: Path, work: Path, threads: int | None, memory: str | None
) -> None:
    """New records need their own ``record_id``, none already in the earlier state."""
    eng = DuckDBEngine(work, threads=threads, memory=memory)
    try:
        eng.load_input("rec_in", rec, ["record_id"])
        _refuse_missing_ids(eng, rec)
        again = _x(
            eng.con,
            "SELECT count(*), min(record_id) FROM rec_in WHERE record_id IN "
            "(SELECT record_id FROM read_parquet(?))",
            [str(old_state)],
        )[0]
        if again[0]:
            raise ReconcileInputError(
                f"{rec.path}: {again[0]} bản ghi đã có trong lần chạy trước / records already "
                f"in the earlier run's state (e.g. record_id {again[1]!r}); an increment holds "
                "new records only"
            )
    finally:
        eng.close()
        shutil.rmtree(work, ignore_errors=True)


def _refuse_missing_ids(eng: DuckDBEngine, rec: InputSpec) -> None:
    missing = _x(
        eng.con,
        "SELECT count(*) FROM rec_in WHERE record_id IS NULL OR trim(record_id) = ''",
    )[0][0]
    if missing:
        raise ReconcileInputError(
            f"{rec.path}: {missing} dòng không có record_id / rows without a record_id "
            f"(column {rec.columns.get('record_id')!r}): incremental runs need an id per "
            "record (the #row-N numbers of a batch would collide across files)"
        )


#: a rule's join condition (``i`` identity, ``g`` register person) over the state's key
#: columns (the ``k_*`` columns of ``state_identities.parquet``) and the changed persons' values
_KEY_VIEW = ", ".join(f"{k} AS {c}" for k, c in decide.KEYS)


def recheck_register(
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
    """Re-link the records of the run in ``state`` against a new register snapshot,
    scoring only the records a changed person can affect (see the module doc).

    ``records`` are the records the state covers (every record_id in it, no other), as
    given to the earlier run(s); ``register`` the new snapshot. Writes a full run to ``out``.
    """
    state, out = Path(state), Path(out)
    model = _need(state / "model.json", "model.json")
    old_state, old_idents = _state_of(state)
    old_reg = _need(state / REGISTER_STD, REGISTER_STD)
    if out.resolve() == state.resolve():
        raise ReconcileInputError(f"{out}: --out must differ from --state")
    rec, reg = prepare(Options(records, register, out, mapping, model=model)).plan_specs
    names = pq.read_schema(old_idents).names
    if any(k not in names for k, _c in decide.KEYS):
        raise ReconcileInputError(
            f"{old_idents}: lần chạy trước không lưu khóa ghép cặp / the earlier run's state has "
            "no blocking keys (written by an older version): run it once again in batch"
        )
    out.mkdir(parents=True, exist_ok=True)
    work = out / ".recheck"
    shutil.rmtree(work, ignore_errors=True)
    plan_rules = Plan(rec, reg, DuckDBEngine.dialect).blocking_rules()
    eng = DuckDBEngine(work, threads=threads, memory=memory)
    try:
        if progress:
            progress("register-diff", 0, 3)
        _std_register(eng, rec, reg)
        eng.load_input("rec_in", rec, [c for c in REC_LOAD if rec.has(c)])
        _refuse_missing_ids(eng, rec)
        _same_records(eng, rec, old_state)
        diff = _register_diff(eng, old_reg)
        affected = _affected(eng, old_state, old_idents, plan_rules)
        n_affected = eng.count("affected")
        eng.export(
            "SELECT r.* EXCLUDE (_row) FROM rec_in r JOIN affected a ON a.record_id = r.record_id",
            work / "records.parquet",
            "parquet",
        )
        eng.export("SELECT * EXCLUDE (_row) FROM reg_in", work / "register.parquet", "parquet")
        cols = ", ".join(REG_STD_COLS)
        eng.export(f"SELECT {cols} FROM reg", out / REGISTER_STD, "parquet", state=True)
    finally:
        eng.close()
    sub = work / "run"
    pipeline: dict[str, Any] = {}
    parts = []
    con = _connect(threads, memory)
    try:
        keep = work / "kept.parquet"
        _x(
            con,
            f"COPY (SELECT * FROM read_parquet(?) WHERE record_id NOT IN "
            f"(SELECT record_id FROM read_parquet(?))) TO '{path_literal(keep)}' (FORMAT parquet)",
            [str(old_state), str(work / "records.parquet")],
        )
        parts.append(StatePart(keep, old_idents, "kept"))
        if n_affected:
            if progress:
                progress("re-score", 1, 3)
            done = reconcile(
                Options(
                    work / "records.parquet",
                    work / "register.parquet",
                    sub,
                    model=model,
                    threads=threads,
                    memory=memory,
                )
            )
            pipeline = done["pipeline"]
            # the records keep their row numbers in the records file
            sub_records, sub_idents = _state_of(sub)
            names = [c for c in pq.read_schema(sub_records).names if c != "_row"]
            again = work / "rechecked.parquet"
            _x(
                con,
                f"COPY (SELECT o._row, {', '.join(f'n.{c}' for c in names)} FROM "
                "read_parquet(?) n JOIN read_parquet(?) o ON o.record_id = n.record_id) "
                f"TO '{path_literal(again)}' (FORMAT parquet)",
                [str(sub_records), str(old_state)],
            )
            parts.append(StatePart(again, sub_idents, "rechecked"))
    finally:
        con.close()
    if progress:
        progress("records", 2, 3)
    overall, counts, changed = _records_stage(out, parts, state / "links.parquet", threads, memory)
    shutil.copyfile(model, out / "model.json")
    summary = {
        "records": overall["records"],
        "register": {"path": str(reg.path), "persons": diff["persons"]},
        "overall": overall,
        "register_update": {
            "state": str(state.resolve()),
            **{k: v for k, v in diff.items() if k != "persons"},
            "records_rechecked": counts.get("rechecked", 0),
            "records_kept": counts.get("kept", 0),
            "blocking_rules": plan_rules,
            "affected_by": affected,
            "changed_links": changed,
            "recheck_pipeline": pipeline,
        },
        "model": json.loads(model.read_text(encoding="utf-8")).get("thresholds"),
    }
    _write_summary(out, summary)
    shutil.rmtree(work, ignore_errors=True)
    if progress:
        progress("done", 3, 3)
    return summary


def _std_register(eng: DuckDBEngine, rec: InputSpec, reg: InputSpec) -> None:
    """The new snapshot standardised exactly as a run does (table ``reg``)."""
    eng.load_input("reg_in", reg, list(reg.columns))
    sources: dict[str, list[str]] = {}
    for col, kind in REG_KINDS.items():
        if reg.has(col):
            sources.setdefault(kind, []).append(f"SELECT {col} AS v FROM reg_in")
    eng.standardise_all(
        {f"v_{kind}": (" UNION ALL ".join(parts), *KINDS[kind]) for kind, parts in sources.items()}
    )
    eng.run("reg", Plan(rec, reg, eng.dialect).reg_sql())


def _same_records(eng: DuckDBEngine, rec: InputSpec, old_state: Path) -> None:
    """The records file must hold exactly the records the state covers."""
    extra, missing = _x(
        eng.con,
        "WITH s AS (SELECT record_id FROM read_parquet(?)), r AS (SELECT DISTINCT record_id "
        "FROM rec_in) SELECT (SELECT count(*) FROM r WHERE record_id NOT IN "
        "(SELECT record_id FROM s)), (SELECT count(*) FROM s WHERE record_id NOT IN "
        "(SELECT record_id FROM r))",
        [str(old_state)],
    )[0]
    if extra or missing:
        raise ReconcileInputError(
            f"{rec.path}: không khớp với lần chạy trước / does not hold the earlier run's "
            f"records: {extra} records not in the state, {missing} of the state's records "
            "missing (give the records the --state run linked; link new ones with "
            "--incremental)"
        )


def _register_diff(eng: DuckDBEngine, old_reg: Path) -> dict[str, int]:
    """Changed persons (table ``ck``: both versions of each, their standardised values) and
    the folded names whose register count changed (table ``tf_names``).

    A person has changed when a column of ``REG_STD_COLS`` has: the others are functions of
    them. The year of birth and the name's parts, which blocking rules read, are taken
    from ``dob_iso`` and ``name_fold`` as the standardiser takes them."""
    cols = ", ".join(REG_STD_COLS) + (
        ", CAST(left(dob_iso, 4) AS INTEGER) AS dob_y, "
        "string_split(name_fold, ' ')[1] AS surname, string_split(name_fold, ' ')[-1] AS given, "
        "array_to_string(list_sort(string_split(name_fold, ' ')), ' ') AS name_sorted, "
        "CASE WHEN length(dob_iso) >= 7 THEN CAST(substr(dob_iso, 6, 2) AS INTEGER) END AS dob_m, "
        "CASE WHEN length(dob_iso) = 10 THEN CAST(substr(dob_iso, 9, 2) AS INTEGER) END AS dob_d"
    )
    eng.run("reg_old", f"SELECT {cols} FROM read_parquet('{path_literal(old_reg)}')")
    eng.run("reg_new", f"SELECT {cols} FROM reg")
    eng.run(
        "ck",
        "SELECT * FROM (SELECT * FROM reg_old EXCEPT SELECT * FROM reg_new) UNION ALL "
        "SELECT * FROM (SELECT * FROM reg_new EXCEPT SELECT * FROM reg_old)",
    )
    eng.run(
        "tf_names",
        "SELECT coalesce(o.name_fold, n.name_fold) AS name_fold FROM "
        "(SELECT name_fold, count(*) AS c FROM reg_old GROUP BY name_fold) o FULL JOIN "
        "(SELECT name_fold, count(*) AS c FROM reg_new GROUP BY name_fold) n "
        "ON n.name_fold = o.name_fold WHERE o.c IS DISTINCT FROM n.c",
    )
    # the same for addresses, whose frequency weighs an address agreement
    eng.run(
        "tf_addrs",
        "SELECT coalesce(o.addr_toks, n.addr_toks) AS addr_toks FROM "
        "(SELECT addr_toks, count(*) AS c FROM reg_old GROUP BY addr_toks) o FULL JOIN "
        "(SELECT addr_toks, count(*) AS c FROM reg_new GROUP BY addr_toks) n "
        "ON n.addr_toks = o.addr_toks WHERE o.c IS DISTINCT FROM n.c",
    )
    row = _x(
        eng.con,
        "SELECT (SELECT count(*) FROM reg_new), "
        "(SELECT count(*) FROM reg_new WHERE person_id NOT IN (SELECT person_id FROM reg_old)), "
        "(SELECT count(*) FROM reg_old WHERE person_id NOT IN (SELECT person_id FROM reg_new)), "
        "(SELECT count(DISTINCT person_id) FROM ck), (SELECT count(*) FROM tf_names)",
    )[0]
    persons, added, removed, touched, names = (int(x) for x in row)
    return {
        "persons": persons,
        "persons_added": added,
        "persons_removed": removed,
        "persons_changed": touched - added - removed,
        "names_frequency_changed": names,
    }


def _affected(
    eng: DuckDBEngine, old_state: Path, old_idents: Path, rules: dict[str, str]
) -> dict[str, int]:
    """Records a changed person can affect (table ``affected``); how many each reason
    finds (a record may have several)."""
    eng.run(
        "sti",
        f"SELECT r.record_id, d.person_id, {_KEY_VIEW} "
        f"FROM read_parquet('{path_literal(old_state)}') r "
        f"JOIN read_parquet('{path_literal(old_idents)}') d ON d.iid = r.iid",
    )
    reasons = {
        f"rule:{name}": f"SELECT i.record_id FROM sti i JOIN ck g ON {cond}"
        for name, cond in rules.items()
    }
    reasons["name_frequency"] = (
        "SELECT record_id FROM sti WHERE name_fold IN (SELECT name_fold FROM tf_names)"
    )
    reasons["address_frequency"] = (
        "SELECT record_id FROM sti WHERE addr_toks IN (SELECT addr_toks FROM tf_addrs)"
    )
    reasons["linked_person"] = (
        "SELECT record_id FROM sti WHERE person_id IN (SELECT person_id FROM ck)"
    )
    eng.run("affected", " UNION ".join(reasons.values()))
    return {
        k: int(_x(eng.con, f"SELECT count(DISTINCT record_id) FROM ({q})")[0][0])
        for k, q in reasons.items()
    }


def _x(con: Any, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Run a statement to completion (the connection refuses new work before that)."""
    return list(con.execute(sql, params or []).fetchall())


__all__ = ["link_new", "recheck_register"]
