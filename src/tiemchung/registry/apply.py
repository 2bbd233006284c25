"""Apply a reconciliation run (``OUT/links.parquet``) to the registry, set-based.

What each link does to its stored dose (matched by ``record_id``):

* ``verified`` / ``corrected`` — linked to the register person; for ``corrected`` every
  disagreeing field takes the register's value: one ``corrections`` row per changed field
  (``source="automatic"``, the run, evidence = probability and explanation) and one audit
  event per dose — exactly what :func:`tiemchung.registry.corrections.link_dose` writes
  (``tests/registry/test_apply.py`` checks the rows are identical);
* ``duplicate`` — status ``duplicate``, ``duplicate_of`` the dose of the first entry (linked to
  the person when the run found one, fields left as entered). When the first entry is not
  stored (the backlog import refused it), this record is the dose's only trace: it is linked
  like ``verified``/``corrected`` instead (or opens a ``not_found`` item without a person);
* ``review`` / ``not_found`` — one open ``review_items`` row (the commune worklist), routed to
  the ward of the best candidate, or of the record when there is none. A dose an earlier run
  had linked automatically is unlinked (status ``unverified``): this run no longer vouches.

Never touched: doses a person decided (``decided_by_person``: a commune reviewer, a citizen's
ticket) — their decision survives any later run. A newer run supersedes the open items an
older run (or the unverified-backlog worklist) left on the same dose; one open item per dose.

The run is identified by the hash of ``links.parquet`` and ``model.json``: applying it again
is recognised (``reconcile_runs``) and changes nothing. Each chunk commits; an interrupted
apply can be re-run and skips what that run already wrote.

Nothing is dropped silently: links whose record is not a stored dose, links naming a person
the register lacks, unreadable rows, and stored doses the run did not cover are counted and
written to a rejects CSV (``OUT/apply.rejects.csv``).

Bulk path: per chunk of links, one select of the doses, one of the persons, one of the open
items, then executemany UPDATE/INSERT statements (SQLAlchemy Core), no ORM objects.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from tiemchung.registry.audit import audit
from tiemchung.registry.corrections import CORRECTABLE, DUPLICATE, PERSON_DECIDED
from tiemchung.registry.db import in_keys
from tiemchung.registry.doses import UNVERIFIED, VERIFIED
from tiemchung.registry.models import (
    AuditEvent,
    Correction,
    Dose,
    Person,
    ReconcileRun,
    ReviewItem,
)
from tiemchung.registry.rejects import RejectsFile
from tiemchung.registry.scope import Actor

CHUNK_ROWS = 5_000
LINK_REQUIRED = (
    "record_id",
    "person_id",
    "action",
    "match_probability",
    "mismatches",
    "corrections",
    "duplicate_of",
    "explanation",
)
ACTIONS = ("verified", "corrected", "review", "not_found", "duplicate")
#: open worklist items a run replaces (a ticket is a citizen's report: it stays)
SUPERSEDABLE = ("review", "not_found", "unverified")
OPEN, SUPERSEDED = "open", "superseded"
REJECT_COLUMNS = ("record_id", "person_id", "action")

Progress = Callable[[int, int], None]


class ApplyError(Exception):
    """The run cannot be applied at all (a file missing or unreadable, a column missing)."""


@dataclass
class ApplyReport:
    run_id: str
    source: str
    already_applied: bool = False
    links: int = 0
    linked: int = 0  # doses linked to a person (verified or corrected)
    verified: int = 0
    corrected: int = 0  # doses of which at least one field changed
    corrections: int = 0  # correction rows (changed fields)
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


def run_identity(out_dir: Path) -> tuple[str, str]:
    """``(run_id, model_hash)``: the run is its links and its model; the same files give the
    same id wherever they are copied."""
    links, model = out_dir / "links.parquet", out_dir / "model.json"
    for p in (links, model):
        if not p.is_file():
            raise ApplyError(
                f"{p}: không tìm thấy tệp của lần đối soát / no such file: is {out_dir} the "
                "output folder of `tiemchung reconcile`?"
            )
    h = hashlib.sha256()
    with links.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    model_bytes = model.read_bytes()
    h.update(b"\0model\0")
    h.update(model_bytes)
    return h.hexdigest()[:40], hashlib.sha256(model_bytes).hexdigest()


def _open_links(out_dir: Path) -> pq.ParquetFile:
    path = out_dir / "links.parquet"
    try:
        pf = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise ApplyError(f"{path}: không đọc được / cannot be read ({exc})") from exc
    missing = [c for c in LINK_REQUIRED if c not in pf.schema_arrow.names]
    if missing:
        raise ApplyError(
            f"{path}: thiếu cột / missing column(s) {missing}; the file has {pf.schema_arrow.names}"
        )
    return pf


def _repeated_ids(pf: pq.ParquetFile) -> set[str]:
    """record_ids that occur more than once in links (only the first occurrence applies)."""
    ids = pf.read(columns=["record_id"]).column("record_id")
    if pc.count_distinct(ids, mode="all").as_py() == len(ids):
        return set()
    counts = pa.table({"r": ids}).group_by("r").aggregate([("r", "count")])
    return {
        r
        for r, n in zip(counts["r"].to_pylist(), counts["r_count"].to_pylist(), strict=True)
        if n > 1
    }


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _table(model: type) -> Table:
    t = model.__table__  # type: ignore[attr-defined]
    assert isinstance(t, Table)
    return t


DOSE_T, CORR_T, AUDIT_T, ITEM_T = (_table(m) for m in (Dose, Correction, AuditEvent, ReviewItem))
_STATE_COLS = ("person_pk", "status", "link_source", "run_id", "match_probability")
_STATE_COLS += ("duplicate_of", "area_ward_code", "area_province_code")
_DOSE_READ = ("id", "record_id", *_STATE_COLS, *CORRECTABLE)


def _update_stmt(with_fields: bool) -> Any:
    cols = _STATE_COLS + (CORRECTABLE if with_fields else ())
    return (
        update(DOSE_T)
        .where(DOSE_T.c.id == bindparam("b_id"))
        .values({c: bindparam(f"b_{c}") for c in cols})
    )


@dataclass
class _Chunk:
    """What one chunk of links writes, collected before the bulk statements."""

    plain: list[dict[str, Any]] = field(default_factory=list)  # dose updates, no field changed
    fields: list[dict[str, Any]] = field(default_factory=list)  # dose updates with corrections
    corrections: list[dict[str, Any]] = field(default_factory=list)
    audits: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    supersede: list[int] = field(default_factory=list)


class _Applier:
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
        self.dialect = session.get_bind().dialect.name
        self.matched = 0  # links rows whose record is a stored dose
        self.repeated_seen: set[str] = set()

    # -- reads ------------------------------------------------------------------------------
    def _doses(self, record_ids: list[str]) -> dict[str, dict[str, Any]]:
        if not record_ids:
            return {}
        cols = [DOSE_T.c[c] for c in _DOSE_READ]
        rows = self.s.execute(
            select(*cols).where(in_keys(DOSE_T.c.record_id, record_ids, self.dialect))
        ).mappings()
        return {r["record_id"]: dict(r) for r in rows}

    def _persons(self, person_ids: set[str]) -> dict[str, tuple[int, str | None, str | None]]:
        if not person_ids:
            return {}
        t = _table(Person)
        rows = self.s.execute(
            select(t.c.person_id, t.c.id, t.c.ward_code, t.c.province_code).where(
                in_keys(t.c.person_id, list(person_ids), self.dialect)
            )
        ).all()
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def _open_items(self, dose_ids: list[int]) -> dict[int, list[tuple[int, str | None, str]]]:
        out: dict[int, list[tuple[int, str | None, str]]] = {}
        if not dose_ids:
            return out
        rows = self.s.execute(
            select(ITEM_T.c.dose_id, ITEM_T.c.id, ITEM_T.c.run_id, ITEM_T.c.kind).where(
                in_keys(ITEM_T.c.dose_id, dose_ids, self.dialect), ITEM_T.c.status == OPEN
            )
        ).all()
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
                corr = json.loads(r["corrections"]) if r["corrections"] else {}
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
                self._link(out, dose, r, person, corr, VERIFIED, None, items)
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
    ) -> None:
        """The rows ``link_dose(source="automatic")`` writes, as bulk parameters."""
        rep = self.report
        if dose["run_id"] == self.run_id and dose["link_source"] == "reconcile":
            rep.already_done += 1
            return
        self._supersede(out, items)
        p = r["match_probability"]
        evidence = {"match_probability": p, "explanation": r["explanation"]}
        person_pk = person[0] if person is not None else None
        changes = []
        for f, new in corr.items():
            old, new_text = _text(dose[f]), _text(new)
            if old != new_text:
                changes.append(f)
                out.corrections.append(
                    {
                        "dose_id": dose["id"],
                        "person_pk": person_pk,
                        "field": f,
                        "old_value": old,
                        "new_value": new_text,
                        "source": "automatic",
                        "user_id": self.actor.user_id,
                        "reason": None,
                        "run_id": self.run_id,
                        "evidence": evidence,
                    }
                )
                dose[f] = new_text
        params = {f"b_{c}": dose[c] for c in _STATE_COLS}
        params.update(
            b_id=dose["id"],
            b_person_pk=person_pk,
            b_status=status,
            b_link_source="reconcile",
            b_run_id=self.run_id,
            b_match_probability=p,
            b_duplicate_of=duplicate_of,
        )
        if person is not None:
            params["b_area_ward_code"], params["b_area_province_code"] = person[1], person[2]
        if changes:
            params.update({f"b_{c}": dose[c] for c in CORRECTABLE})
            out.fields.append(params)
            rep.corrected += 1
            rep.corrections += len(changes)
        else:
            out.plain.append(params)
        if status == VERIFIED:
            rep.linked += 1
            rep.verified += 0 if changes else 1
        out.audits.append(
            self._audit_row(
                "dose.correct" if changes else "dose.link",
                dose["id"],
                {
                    "source": "automatic",
                    "person_id": r["person_id"] if person is not None else None,
                    "status": status,
                    "run_id": self.run_id,
                    "fields": changes,
                    "reason": None,
                },
            )
        )

    def _audit_row(self, action: str, dose_id: int, detail: dict[str, Any]) -> dict[str, Any]:
        return {
            "user_id": self.actor.user_id,
            "username": self.actor.username,
            "action": action,
            "entity": "dose",
            "entity_id": str(dose_id),
            "detail": detail,
        }

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
                {
                    "dose_id": dose["id"],
                    "run_id": self.run_id,
                    "kind": kind,
                    "reason": _reason(kind, r, cands),
                    "ward_code": ward,
                    "province_code": province,
                    "person_pk": best[0] if best is not None else None,
                    "match_probability": r["match_probability"],
                    "mismatches": r["mismatches"] or None,
                    "candidates": cands,
                    "explanation": r["explanation"],
                    "status": OPEN,
                }
            )
            if kind == "review":
                rep.review_items += 1
            else:
                rep.not_found_items += 1
        if dose["link_source"] == "reconcile" and (
            dose["person_pk"] is not None or dose["status"] != UNVERIFIED
        ):
            # an earlier run linked it; this one does not vouch for the link any more
            params = {f"b_{c}": dose[c] for c in _STATE_COLS}
            params.update(
                b_id=dose["id"],
                b_person_pk=None,
                b_status=UNVERIFIED,
                b_run_id=self.run_id,
                b_match_probability=r["match_probability"],
                b_duplicate_of=None,
            )
            out.plain.append(params)
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
        s = self.s
        if out.supersede:
            s.execute(
                update(ITEM_T)
                .where(in_keys(ITEM_T.c.id, out.supersede, self.dialect))
                .values(status=SUPERSEDED)
            )
            self.report.superseded += len(out.supersede)
        if out.plain:
            s.connection().execute(_update_stmt(False), out.plain)
        if out.fields:
            s.connection().execute(_update_stmt(True), out.fields)
        if out.corrections:
            s.execute(insert(CORR_T), out.corrections)
        if out.audits:
            s.execute(insert(AUDIT_T), out.audits)
        if out.items:
            s.execute(insert(ITEM_T), out.items)


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


def _batches(pf: pq.ParquetFile, columns: list[str]) -> Iterator[list[dict[str, Any]]]:
    for b in pf.iter_batches(batch_size=CHUNK_ROWS, columns=columns):
        yield b.to_pylist()


def apply_run(
    session: Session,
    actor: Actor,
    out_dir: Path | str,
    *,
    progress: Progress | None = None,
    rejects_path: Path | None = None,
) -> ApplyReport:
    """Apply the run in ``out_dir`` to the registry; commits per chunk. See the module doc."""
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    run_id, model_hash = run_identity(out_dir)
    report = ApplyReport(run_id, str(out_dir.resolve()))
    if session.get(ReconcileRun, run_id) is not None:
        report.already_applied = True
        report.seconds = round(time.perf_counter() - t0, 3)
        return report
    pf = _open_links(out_dir)
    total = pf.metadata.num_rows
    columns = list(LINK_REQUIRED) + (
        ["candidates"] if "candidates" in pf.schema_arrow.names else []
    )
    repeated = _repeated_ids(pf)
    rejects_path = rejects_path or out_dir / "apply.rejects.csv"
    with RejectsFile(rejects_path, REJECT_COLUMNS) as rejects:
        ap = _Applier(session, actor, run_id, report, rejects)
        row = 1
        for rows in _batches(pf, columns):
            ap.chunk(rows, row, repeated)
            session.commit()
            row += len(rows)
            report.links += len(rows)
            if progress is not None:
                progress(report.links, total)
        stored = (
            session.scalar(
                select(func.count()).select_from(DOSE_T).where(DOSE_T.c.record_id.is_not(None))
            )
            or 0
        )
        if stored > ap.matched:
            report.doses_not_in_links = _doses_not_in_links(session, pf, rejects)
        report.rows_rejected = rejects.count - report.doses_not_in_links
        report.rows_rejected -= report.records_not_in_registry + report.persons_not_in_registry
        report.reasons = dict(rejects.reasons)
        report.rejects_file = rejects.close()
    report.seconds = round(time.perf_counter() - t0, 3)
    session.add(
        ReconcileRun(
            run_id=run_id,
            source=report.source,
            model_hash=model_hash,
            counts=report.counts(),
            applied_by=actor.user_id,
        )
    )
    audit(session, actor, "reconcile.apply", "reconcile_run", run_id, report.counts())
    session.commit()
    return report


def _doses_not_in_links(session: Session, pf: pq.ParquetFile, rejects: RejectsFile) -> int:
    """Stored doses (with a record_id) the run did not cover, listed in the rejects file."""
    ids = pa.chunked_array(pf.read(columns=["record_id"]).column("record_id")).combine_chunks()
    n = 0
    last = 0
    while True:
        rows = session.execute(
            select(DOSE_T.c.id, DOSE_T.c.record_id)
            .where(DOSE_T.c.record_id.is_not(None), DOSE_T.c.id > last)
            .order_by(DOSE_T.c.id)
            .limit(50_000)
        ).all()
        if not rows:
            return n
        last = rows[-1][0]
        rids = pa.array([r[1] for r in rows], pa.string())
        missing = pc.filter(rids, pc.invert(pc.is_in(rids, value_set=ids)))
        for rid in missing.to_pylist():
            rejects.add(
                0, "dose:not_in_links", "stored dose not in this run's links", {"record_id": rid}
            )
            n += 1


__all__ = ["ApplyError", "ApplyReport", "apply_run", "run_identity"]
