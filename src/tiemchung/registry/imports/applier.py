"""Apply a run's links, one chunk at a time: what each link does to its stored dose.

The decisions of :mod:`tiemchung.registry.imports.apply` (see its module doc for what each
action does) for one chunk of links: one select each of the doses, the persons and the open
items (the keys as one parameter), the decisions in Python, then driver-level bulk writes
(:class:`_Sink`, over store/bulk.py). apply.py reads the run's files and drives the chunks;
this module is what a chunk does, so each reads on its own.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
from sqlalchemy import Table, update
from sqlalchemy.orm import Session

from tiemchung.registry.changes.log import append_doses
from tiemchung.registry.doses.record import UNVERIFIED, VERIFIED
from tiemchung.registry.imports.rejects import RejectsFile
from tiemchung.registry.models import AuditEvent, Correction, Dose, ReviewItem
from tiemchung.registry.review.corrections import (
    COMPLETE_REASON,
    CORRECTABLE,
    DUPLICATE,
    PERSON_DECIDED,
    audit_action,
)
from tiemchung.registry.scope import Actor
from tiemchung.store import bulk
from tiemchung.store.bulk import in_keys

ACTIONS = ("verified", "corrected", "review", "not_found", "duplicate")
#: open worklist items a run replaces (a ticket is a citizen's report: it stays)
SUPERSEDABLE = ("review", "not_found", "unverified")
OPEN, SUPERSEDED = "open", "superseded"
#: the fields a run's ``incomplete`` column may list: completed from the register person
COMPLETABLE = ("national_id", "full_name", "dob", "sex", "ward_code")


@dataclass
class ApplyReport:
    run_id: str
    source: str
    already_applied: bool = False
    links: int = 0
    linked: int = 0  # doses linked to a person (verified or corrected)
    verified: int = 0
    corrected: int = 0  # doses of which at least one wrong field changed
    corrections: int = 0  # correction rows (changed wrong fields)
    completed: int = 0  # doses of which at least one incomplete field was filled in
    completions: int = 0  # completion rows (fields filled in from the register)
    duplicates: int = 0
    review_items: int = 0  # open items created, kind "review"
    not_found_items: int = 0  # open items created, kind "not_found"
    unlinked: int = 0  # linked by an earlier run, sent to review by this one
    superseded: int = 0  # open items of earlier runs replaced
    kept_person_decision: int = 0  # decided by a person: left alone
    kept_open_item: int = 0  # another open item (a ticket) already on the dose
    already_done: int = 0  # written by this run before (an interrupted apply re-run)
    records_not_in_registry: int = 0
    persons_not_in_registry: int = 0
    rows_rejected: int = 0  # unreadable links rows (unknown action, bad JSON, repeated id)
    doses_not_in_links: int = 0
    rejects_file: str | None = None
    reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def counts(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("run_id", "source", "already_applied", "rejects_file", "seconds"):
            d.pop(k)
        return d


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _table(model: type) -> Table:
    t = model.__table__  # type: ignore[attr-defined]
    assert isinstance(t, Table)
    return t


DOSE_T, CORR_T, AUDIT_T, ITEM_T = (_table(m) for m in (Dose, Correction, AuditEvent, ReviewItem))
_STATE_COLS: tuple[str, ...] = (
    *("person_pk", "status", "link_source", "run_id", "match_probability"),
    *("duplicate_of", "area_ward_code", "area_province_code"),
)
_DOSE_READ = ("id", "record_id", *_STATE_COLS, *CORRECTABLE)
_CORR_COLS = (
    *("dose_id", "person_pk", "field", "old_value", "new_value", "source", "user_id"),
    *("reason", "run_id", "evidence"),
)
_AUDIT_COLS = ("user_id", "username", "action", "entity", "entity_id", "detail")
_ITEM_COLS = (
    *("dose_id", "run_id", "kind", "reason", "ward_code", "province_code", "person_pk"),
    *("match_probability", "mismatches", "candidates", "explanation", "status"),
)
#: PostgreSQL types of the dose columns an apply sets (the arrays of ``UPDATE … FROM unnest``)
_PG_TYPES = {"person_pk": "bigint", "match_probability": "double precision"}
_PG_TYPES |= {"duplicate_of": "bigint", "id": "bigint"}


class _Sink:
    """Driver-level bulk writes in the session's transaction (store/bulk.py): the rows here
    are tuples already in the driver's form, and: on SQLite one ``executemany`` of plain SQL
    per statement; on PostgreSQL ``COPY`` for the inserts and one
    ``UPDATE doses … FROM unnest(arrays)`` per chunk for the doses (a round trip per chunk,
    not per dose).
    """

    def __init__(self, session: Session) -> None:
        self.s = session
        self.pg = session.get_bind().dialect.name == "postgresql"

    def _dbapi(self) -> Any:
        return self.s.connection().connection.dbapi_connection

    def select(self, sql: str, keys: list[Any]) -> list[tuple[Any, ...]]:
        """``sql`` with ``{isin}`` standing for ``IN keys``, the keys one parameter."""
        return bulk.select_keys(self.s.connection(), sql, keys)

    def insert(self, table: str, cols: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        if self.pg:
            bulk.copy_rows(self.s.connection(), table, cols, rows)
        else:
            bulk.insert_tuples(self.s.connection(), table, cols, rows)

    def update_doses(self, cols: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        """Set ``cols`` of the doses whose id ends each row."""
        if not rows:
            return
        if self.pg:
            names = (*cols, "id")
            arrays = [list(col) for col in zip(*rows, strict=True)]
            # %b: arrays travel in binary (no per-element quoting of text in Python)
            types = ", ".join(f"%b::{_PG_TYPES.get(c, 'text')}[]" for c in names)
            sets = ", ".join(f"{c} = t.{c}" for c in cols)
            with self._dbapi().cursor() as cur:
                # a few thousand ids against millions of doses: the planner, seeing the
                # array's length, chose a hash join over a full scan of doses for every
                # chunk; one index probe per id is what this update is
                cur.execute("SET LOCAL enable_hashjoin = off")
                cur.execute("SET LOCAL enable_mergejoin = off")
                cur.execute(
                    f"UPDATE doses SET {sets} FROM unnest({types}) AS t({', '.join(names)}) "
                    "WHERE doses.id = t.id",
                    tuple(arrays),
                )
                cur.execute("RESET enable_hashjoin")
                cur.execute("RESET enable_mergejoin")
            return
        sets = ", ".join(f"{c} = ?" for c in cols)
        self.s.connection().exec_driver_sql(f"UPDATE doses SET {sets} WHERE id = ?", rows)


@dataclass
class _Chunk:
    """What one chunk of links writes, as driver rows, collected before the bulk writes."""

    #: dose updates grouped by the columns they change: (values..., id) per dose
    updates: dict[tuple[str, ...], list[tuple[Any, ...]]] = field(default_factory=dict)
    #: the doses with any change, in their new state (PostgreSQL writes them at once)
    changed: list[dict[str, Any]] = field(default_factory=list)
    corrections: list[tuple[Any, ...]] = field(default_factory=list)
    audits: list[tuple[Any, ...]] = field(default_factory=list)
    items: list[tuple[Any, ...]] = field(default_factory=list)
    supersede: list[int] = field(default_factory=list)


class Applier:
    """One run's links applied chunk by chunk: the reads, the decisions, the bulk writes."""

    def __init__(
        self, session: Session, actor: Actor, run_id: str, report: ApplyReport, rejects: RejectsFile
    ) -> None:
        self.s, self.actor, self.run_id, self.report, self.rejects = (
            session,
            actor,
            run_id,
            report,
            rejects,
        )
        self.sink = _Sink(session)
        self.matched = 0  # links rows whose record is a stored dose
        self.values: dict[str, dict[str, Any]] = {}  # the chunk's persons' register values
        self.repeated_seen: set[str] = set()

    # -- reads ------------------------------------------------------------------------------
    def _doses(self, record_ids: list[str]) -> dict[str, dict[str, Any]]:
        if not record_ids:
            return {}
        rows = self.sink.select(
            f"SELECT {', '.join(_DOSE_READ)} FROM doses WHERE record_id {{isin}}", record_ids
        )
        return {r[1]: dict(zip(_DOSE_READ, r, strict=True)) for r in rows}

    def _persons(self, person_ids: set[str]) -> dict[str, tuple[int, str | None, str | None]]:
        """person_id -> (pk, ward, province); the register's values of the completable fields
        go to ``self.values`` (what a link's incomplete fields are filled in with)."""
        self.values = {}
        if not person_ids:
            return {}
        rows = self.sink.select(
            f"SELECT person_id, id, ward_code, province_code, {', '.join(COMPLETABLE)} "
            "FROM persons WHERE person_id {isin}",
            list(person_ids),
        )
        for r in rows:
            self.values[r[0]] = dict(zip(COMPLETABLE, r[4:], strict=True))
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def _open_items(self, dose_ids: list[int]) -> dict[int, list[tuple[int, str | None, str]]]:
        out: dict[int, list[tuple[int, str | None, str]]] = {}
        if not dose_ids:
            return out
        rows = self.sink.select(
            f"SELECT dose_id, id, run_id, kind FROM review_items WHERE status = '{OPEN}' "
            "AND dose_id {isin}",
            dose_ids,
        )
        for dose_id, item_id, run_id, kind in rows:
            out.setdefault(dose_id, []).append((item_id, run_id, kind))
        return out

    # -- one chunk --------------------------------------------------------------------------
    def chunk(self, rows: list[dict[str, Any]], first_row: int, repeated: set[str]) -> None:
        rep = self.report
        dup_targets = {
            r["duplicate_of"] for r in rows if r["action"] == "duplicate" and r["duplicate_of"]
        }
        doses = self._doses(list({r["record_id"] for r in rows if r["record_id"]} | dup_targets))
        pids: set[str] = {r["person_id"] for r in rows if r["person_id"]}
        parsed_cands: dict[int, list[dict[str, Any]] | None] = {}
        for k, r in enumerate(rows):
            if r["action"] == "review" and r.get("candidates"):
                try:
                    cands = json.loads(r["candidates"])
                    pids.update(str(c["person_id"]) for c in cands)
                    parsed_cands[k] = cands
                except (ValueError, TypeError, KeyError):
                    parsed_cands[k] = None
        persons = self._persons(pids)
        mine = [
            doses[r["record_id"]]["id"]
            for r in rows
            if r["record_id"] in doses
            and doses[r["record_id"]]["link_source"] not in PERSON_DECIDED
        ]
        open_items = self._open_items(mine)
        out = _Chunk()
        seen_here: set[str] = set()
        for k, r in enumerate(rows):
            row_no = first_row + k
            rid = r["record_id"]
            if rid in repeated:
                if rid in seen_here or self._seen_repeated(rid):
                    self._reject(row_no, "record_id:repeated", "record_id repeated in links", r)
                    continue
                seen_here.add(rid)
            dose = doses.get(rid) if rid else None
            if dose is None:
                rep.records_not_in_registry += 1
                self._reject(row_no, "record_id:not_in_registry", "no stored dose", r)
                continue
            self.matched += 1
            if dose["link_source"] in PERSON_DECIDED:
                rep.kept_person_decision += 1
                continue
            action = r["action"]
            if action not in ACTIONS:
                self._reject(row_no, "action:unknown", f"unknown action {action!r}", r)
                continue
            try:
                text_corr = r["corrections"]
                corr = orjson.loads(text_corr) if text_corr and text_corr != "{}" else {}
                if not isinstance(corr, dict) or any(f not in CORRECTABLE for f in corr):
                    raise ValueError(corr)
            except ValueError:
                self._reject(
                    row_no,
                    "corrections:unreadable",
                    f"corrections is not a JSON object of {CORRECTABLE}",
                    r,
                )
                continue
            incomplete = [f for f in (r.get("incomplete") or "").split(";") if f]
            if any(f not in COMPLETABLE for f in incomplete):
                self._reject(
                    row_no,
                    "incomplete:unreadable",
                    f"incomplete is not a ;-list of {COMPLETABLE}",
                    r,
                )
                continue
            items = open_items.get(dose["id"], [])
            if action == "duplicate":
                target = doses.get(r["duplicate_of"] or "")
                if target is not None:
                    person = persons.get(r["person_id"]) if r["person_id"] else None
                    if r["person_id"] and person is None:
                        self._missing_person(row_no, r)
                        continue
                    self._link(out, dose, r, person, {}, DUPLICATE, target["id"], items)
                    rep.duplicates += 1
                    continue
                action = "corrected" if r["person_id"] else "not_found"
            if action in ("verified", "corrected"):
                person = persons.get(r["person_id"] or "")
                if person is None:
                    self._missing_person(row_no, r)
                    continue
                known = self.values.get(r["person_id"] or "", {})
                fill = {f: known.get(f) for f in incomplete if f not in corr}
                self._link(out, dose, r, person, corr, VERIFIED, None, items, fill)
            else:
                self._item(out, dose, r, action, parsed_cands.get(k), persons, items)
        self._write(out)

    def _seen_repeated(self, rid: str) -> bool:
        if rid in self.repeated_seen:
            return True
        self.repeated_seen.add(rid)
        return False

    def _reject(self, row_no: int, key: str, reason: str, r: dict[str, Any]) -> None:
        self.rejects.add(row_no, key, reason, r)

    def _missing_person(self, row_no: int, r: dict[str, Any]) -> None:
        self.report.persons_not_in_registry += 1
        self._reject(row_no, "person_id:not_in_registry", "person_id not in the register", r)

    def _supersede(self, out: _Chunk, items: list[tuple[int, str | None, str]]) -> None:
        for item_id, run_id, kind in items:
            if kind in SUPERSEDABLE and run_id != self.run_id:
                out.supersede.append(item_id)

    def _link(
        self,
        out: _Chunk,
        dose: dict[str, Any],
        r: dict[str, Any],
        person: tuple[int, str | None, str | None] | None,
        corr: dict[str, Any],
        status: str,
        duplicate_of: int | None,
        items: list[tuple[int, str | None, str]],
        fill: dict[str, Any] | None = None,
    ) -> None:
        """The rows ``link_dose(source="automatic")`` writes, as bulk parameters: ``corr``
        the wrong fields' register values, ``fill`` the incomplete fields' (completions)."""
        rep = self.report
        if dose["run_id"] == self.run_id and dose["link_source"] == "reconcile":
            rep.already_done += 1
            return
        self._supersede(out, items)
        p = r["match_probability"]
        person_pk = person[0] if person is not None else None
        changes: list[str] = []
        completed: list[str] = []
        evidence: str | None = None
        # wrong fields corrected, then incomplete ones filled (their own reason): one row each
        for fields, reason, done in (
            (corr, None, changes),
            (fill or {}, COMPLETE_REASON, completed),
        ):
            for f, new in fields.items():
                old, new_text = _text(dose[f]), _text(new)
                if old == new_text or (reason is not None and new is None):
                    continue  # already so, or the register has nothing to fill it with
                done.append(f)
                if evidence is None:
                    evidence = bulk.json_text(
                        {"match_probability": p, "explanation": r["explanation"]}
                    )
                out.corrections.append(
                    (
                        dose["id"],
                        person_pk,
                        f,
                        old,
                        new_text,
                        "automatic",
                        self.actor.user_id,
                        reason,
                        self.run_id,
                        evidence,
                    )
                )
                dose[f] = new_text
        ward, province = (
            (person[1], person[2])
            if person is not None
            else (dose["area_ward_code"], dose["area_province_code"])
        )
        state = (person_pk, status, "reconcile", self.run_id, p, duplicate_of, ward, province)
        _set(out, dose, dict(zip(_STATE_COLS, state, strict=True)), changes + completed)
        if changes:
            rep.corrected += 1
            rep.corrections += len(changes)
        if completed:
            rep.completed += 1
            rep.completions += len(completed)
        if status == VERIFIED:
            rep.linked += 1
            rep.verified += 0 if changes else 1
        detail: dict[str, Any] = {
            "source": "automatic",
            "person_id": r["person_id"] if person is not None else None,
            "status": status,
            "run_id": self.run_id,
            "fields": changes,
            "reason": None,
        }
        if completed:
            detail["completed"] = completed
        out.audits.append(
            self._audit_row(audit_action(bool(changes), bool(completed)), dose["id"], detail)
        )

    def _audit_row(self, action: str, dose_id: int, detail: dict[str, Any]) -> tuple[Any, ...]:
        """The event :func:`tiemchung.store.audit.audit` writes, as a driver row."""
        a = self.actor
        return (a.user_id, a.username, action, "dose", str(dose_id), bulk.json_text(detail))

    def _item(
        self,
        out: _Chunk,
        dose: dict[str, Any],
        r: dict[str, Any],
        kind: str,
        cands: list[dict[str, Any]] | None,
        persons: dict[str, tuple[int, str | None, str | None]],
        items: list[tuple[int, str | None, str]],
    ) -> None:
        rep = self.report
        if any(run_id == self.run_id for _, run_id, _k in items):
            rep.already_done += 1
            return
        self._supersede(out, items)
        if any(k not in SUPERSEDABLE for _, _r, k in items):
            rep.kept_open_item += 1  # a citizen's ticket is open on it: that item stays
        else:
            if cands is None:
                cands = []
                if r["person_id"]:
                    cands = [
                        {
                            "person_id": r["person_id"],
                            "match_probability": r["match_probability"],
                            "mismatches": [m for m in (r["mismatches"] or "").split(";") if m],
                            "incomplete": [m for m in (r.get("incomplete") or "").split(";") if m],
                            "corrections": json.loads(r["corrections"] or "{}"),
                        }
                    ]
            best = persons.get(str(cands[0]["person_id"])) if cands else None
            ward, province = (
                (best[1], best[2])
                if best is not None
                else (dose["area_ward_code"], dose["area_province_code"])
            )
            out.items.append(
                (
                    dose["id"],
                    self.run_id,
                    kind,
                    _reason(kind, r, cands),
                    ward,
                    province,
                    best[0] if best is not None else None,
                    r["match_probability"],
                    r["mismatches"] or None,
                    bulk.json_text(cands),
                    r["explanation"],
                    OPEN,
                )
            )
            if kind == "review":
                rep.review_items += 1
            else:
                rep.not_found_items += 1
        if dose["link_source"] == "reconcile" and (
            dose["person_pk"] is not None or dose["status"] != UNVERIFIED
        ):
            # an earlier run linked it; this one does not vouch for the link any more
            new = {"person_pk": None, "status": UNVERIFIED, "run_id": self.run_id}
            new |= {"match_probability": r["match_probability"], "duplicate_of": None}
            _set(out, dose, new, [])
            out.audits.append(
                self._audit_row(
                    "dose.link",
                    dose["id"],
                    {
                        "source": "automatic",
                        "person_id": None,
                        "status": UNVERIFIED,
                        "run_id": self.run_id,
                        "fields": [],
                        "reason": None,
                    },
                )
            )
            rep.unlinked += 1

    # -- writes -----------------------------------------------------------------------------
    def _write(self, out: _Chunk) -> None:
        sink = self.sink
        if out.supersede:
            sink.s.execute(
                update(ITEM_T)
                .where(in_keys(ITEM_T.c.id, out.supersede, sink.s.get_bind().dialect.name))
                .values(status=SUPERSEDED)
            )
            self.report.superseded += len(out.supersede)
        if sink.pg:
            # a PostgreSQL UPDATE writes a whole new row version whatever it sets: one
            # statement for the chunk, every column (a dose is queued once per chunk)
            every = _STATE_COLS + CORRECTABLE
            sink.update_doses(every, [(*(d[c] for c in every), d["id"]) for d in out.changed])
        else:
            for cols, rows in out.updates.items():
                sink.update_doses(cols, rows)
        sink.insert(CORR_T.name, _CORR_COLS, out.corrections)
        sink.insert(AUDIT_T.name, _AUDIT_COLS, out.audits)
        sink.insert(ITEM_T.name, _ITEM_COLS, out.items)
        # the partners' changes, as link_dose's change_of names them: one INSERT … SELECT
        # per action for the chunk
        corrected = {row[0] for row in out.corrections}
        by_action: dict[str, list[int]] = {"deleted": [], "corrected": [], "linked": []}
        for d in {d["id"]: d for d in out.changed}.values():  # each dose once
            action = (
                "deleted"
                if d["status"] == DUPLICATE
                else "corrected"
                if d["id"] in corrected
                else "linked"
            )
            by_action[action].append(d["id"])
        for action, ids in by_action.items():
            append_doses(sink.s.connection(), ids, action=action, source="reconcile")


def _set(out: _Chunk, dose: dict[str, Any], new: dict[str, Any], fields: list[str]) -> None:
    """Queue the dose's update: only the columns whose value changes (``fields``: corrected
    fields, already in ``dose``). Writing an unchanged indexed column still costs its index
    update, and on SQLite setting the self-referencing ``duplicate_of`` costs a foreign-key
    check per row (6x the rest of the update): most doses change neither."""
    cols = [c for c, v in new.items() if dose[c] != v]
    for c in cols:
        dose[c] = new[c]
    cols += fields
    if cols:
        key = tuple(cols)
        out.updates.setdefault(key, []).append((*(dose[c] for c in key), dose["id"]))
        out.changed.append(dose)


def _reason(kind: str, r: dict[str, Any], cands: list[dict[str, Any]]) -> str:
    """Why a person must decide, Vietnamese first."""
    expl = r["explanation"] or ""
    if kind == "not_found":
        return "Không tìm thấy trong sổ dân cư / not found in the register"
    first = expl.split("; ")[0]
    if first.startswith(("conflict:", "unparseable", "no usable", "missing")) or not cands:
        return f"Cần xem xét / needs review: {first}"
    if len(cands) > 1:
        return (
            "Gần với nhiều người trong sổ dân cư / close to more than one register person "
            f"(p={r['match_probability']})"
        )
    return (
        "Xác suất dưới ngưỡng tự động / probability below the automatic threshold "
        f"(p={r['match_probability']})"
    )
