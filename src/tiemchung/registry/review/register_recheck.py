"""Re-check the stored doses of the people the register just changed (issue 19, point 5).

``tiemchung register pull`` upserts the changed persons into the ``persons`` snapshot and then
calls :func:`recheck_persons` with their keys, in its transaction: a register that corrects a
date of birth or a name changes which stored doses still verify and which unlinked ones now
do. The verdict is the desk's (``verify.decide``), written as set-based SQL in
``register_rule.py``: one statement compares all the changed people's doses, one decides all
the candidate unlinked doses; Python only shapes the rows the bulk writes carry
(``store/bulk.py``, as ``registry/imports/applier.py`` does).

For the changed persons:

* **Doses linked to them** (``person_pk``): one that now disagrees (a field the desk decides
  on: ID, name, date of birth, sex) stays linked but is ``unverified`` and gets a worklist item
  in its person's commune (kind ``unverified``, reason ``register_changed``, the fields named
  and the register's values as corrections, so that accepting it corrects the dose) — unless
  an open item already says the same (same person, same fields). One that now agrees is
  verified again and its open mismatch items are closed as accepted, the decision recorded
  with ``source: register`` as a reviewer's would be.
* **Unlinked doses** (``person_pk`` null) whose typed ID is one of theirs (12-digit or old), or
  whose folded name and compatible date of birth are one of theirs: decided as the desk would
  over the whole register. ``verified`` links the dose (``link_source`` ``register``) and
  closes its open items; ``mismatch``/``ambiguous`` opens an item naming the candidates. A dose
  whose link a person decided (a commune's review, a citizen's ticket) is never relinked
  automatically: it gets an item instead.

Every dose changed appends a change (``linked`` for a new link, ``corrected`` for a status
the register changed; source ``register``), every dose changed or item closed one audit event
(written set-based), and the run one ``register.recheck`` event with the counts. Nothing is
committed here: the caller's transaction holds it all, so a rollback leaves nothing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import orjson
from sqlalchemy import Connection, Table, select, update
from sqlalchemy.orm import Session

from tiemchung.identity.columnar import fold_names
from tiemchung.registry.changes.log import Change, append
from tiemchung.registry.doses import rules as dose_rules
from tiemchung.registry.errors import FieldProblem, ServiceError, rule_error
from tiemchung.registry.models import Person, ReviewItem
from tiemchung.registry.review import register_rule as rule
from tiemchung.registry.scope import Actor
from tiemchung.store import bulk
from tiemchung.store.audit import audit

REASON = "register_changed"
#: open items a re-check may replace or close (a ticket is a citizen's; a dose-rule item is
#: about the history, not the person: both stay)
REPLACEABLE = ("review", "not_found", "unverified")
PERSON_DECIDED = ("review", "citizen")
EXPLAIN_DIFFERS = (
    "Sổ dân cư vừa thay đổi: số định danh, họ tên, ngày sinh hoặc giới tính không còn khớp / "
    "the register changed: the ID, name, date of birth or sex no longer agrees"
)
EXPLAIN_CANDIDATE = (
    "Sổ dân cư vừa thay đổi: có thể là người này, cần xác nhận / "
    "the register changed: this may be the person, to be confirmed"
)
CLOSE_REASON = "Sổ dân cư nay khớp / the register now agrees"

_ITEM_COLS = (
    *("dose_id", "kind", "reason", "ward_code", "province_code", "person_pk"),
    *("mismatches", "candidates", "explanation", "status"),
)
_AUDIT_COLS = ("user_id", "username", "action", "entity", "entity_id", "detail")
_PERSON = "p.person_id, p.ward_code, p.province_code, p.national_id, p.full_name, p.dob, p.sex"


@dataclass
class RecheckReport:
    """What one re-check did, in counts (the CLI prints it, the pull returns it)."""

    source: str
    persons: int = 0
    linked_doses: int = 0  # doses linked to the changed persons, compared again
    flagged: int = 0  # of those, now disagreeing: an item opened
    already_flagged: int = 0  # now disagreeing, an open item already saying so
    reverified: int = 0  # unverified, now agreeing: verified again
    items_closed: int = 0  # open items closed because the register now agrees
    unlinked_checked: int = 0  # unlinked doses whose ID or name and birth date are theirs
    linked: int = 0  # of those, now verifying: linked
    unlinked_flagged: int = 0  # of those, a mismatch or ambiguous: an item opened
    unlinked_already: int = 0  # an open item already saying so
    kept_person_decision: int = 0  # linked by a person's decision elsewhere: an item instead
    superseded: int = 0  # open items replaced by a re-check's item
    changes: int = 0  # rows appended to the change log
    seconds: float = 0.0

    def counts(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("source")
        d.pop("seconds")
        return d


@dataclass
class _Plan:
    """The writes the decisions call for, as driver rows, written at the end."""

    items: list[tuple[Any, ...]]
    supersede: list[int]
    close: list[int]
    to_unverified: list[int]
    to_verified: list[int]
    links: list[tuple[Any, ...]]  # (person_pk, ward, province, dose id)
    audits: list[tuple[Any, ...]]
    changes: list[Change]


def _setup(conn: Connection, pg: bool) -> None:
    """The run's scratch tables (dropped at the end, and with a rollback)."""
    big = "bigint" if pg else "INTEGER"
    for t in ("rc_keys", "rc_cand", "rc_pairs"):
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {t}")
    conn.exec_driver_sql(f"CREATE TEMP TABLE rc_keys (pk {big} PRIMARY KEY)")
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE rc_cand (dose_id {big} PRIMARY KEY, nid text, full_name text, "
        "name_key text, dob text, sex text, ward_code text)"
    )
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE rc_pairs (dose_id {big}, pk {big}, via text, ok integer, ward integer)"
    )


def _fill(
    conn: Connection,
    pg: bool,
    table: str,
    cols: tuple[str, ...],
    rows: list[Any],
    *,
    analyze: bool = True,
) -> None:
    """Bulk rows into ``table``: COPY on PostgreSQL (then ANALYZE a scratch table, whose
    size the planner must know to probe the indexes), one executemany on SQLite."""
    if not rows:
        return
    if pg:
        bulk.copy_rows(conn, table, cols, rows)
        if analyze:
            conn.exec_driver_sql(f"ANALYZE {table}")
    else:
        bulk.insert_tuples(conn, table, cols, rows)


def _rows(conn: Connection, sql: str) -> list[tuple[Any, ...]]:
    return list(conn.exec_driver_sql(sql).all())


def _candidate(row: Sequence[Any], diff: str) -> dict[str, Any]:
    """A worklist candidate (the shape ``doses/entry.item_row`` writes) from a person's
    columns (:data:`_PERSON` order) and the fields that differ."""
    fields = [f for f in diff.split(";") if f]
    values = dict(zip(("national_id", "full_name", "dob", "sex", "ward_code"),
                      (row[3], row[4], row[5], row[6], row[1]), strict=True))  # fmt: skip
    return {
        "person_id": row[0],
        "match_probability": None,
        "mismatches": fields,
        "corrections": {f: values[f] for f in fields},
    }


def _decisive(diff: str) -> bool:
    return any(f in rule.DECISIVE for f in diff.split(";"))


class _Run:
    def __init__(self, session: Session, actor: Actor, source: str, report: RecheckReport):
        self.s, self.actor, self.source, self.report = session, actor, source, report
        self.conn = session.connection()
        self.pg = self.conn.dialect.name == "postgresql"
        self.plan = _Plan([], [], [], [], [], [], [], [])
        self.now = datetime.now(UTC)

    # -- shared steps ---------------------------------------------------------------------
    def open_items(self, dose_ids: list[int]) -> dict[int, list[tuple[Any, ...]]]:
        """Each dose's open replaceable items: (id, kind, person_pk, mismatches, the
        candidates' person ids, the dose-rule warnings its explanation carries)."""
        out: dict[int, list[tuple[Any, ...]]] = {}
        if not dose_ids:
            return out
        kinds = ", ".join(f"'{k}'" for k in REPLACEABLE)
        sql = (
            "SELECT id, dose_id, kind, person_pk, mismatches, candidates, explanation "
            "FROM review_items "
            f"WHERE status = 'open' AND kind IN ({kinds}) AND dose_id {{isin}}"
        )
        for r in bulk.select_keys(self.conn, sql, dose_ids):
            cands = orjson.loads(r[5]) if isinstance(r[5], str | bytes) else r[5]
            who = frozenset(c.get("person_id") for c in cands or [])
            rules = tuple(
                seg.strip()
                for seg in (r[6] or "").split(";")
                if dose_rules.warning_of_segment(seg) is not None
            )
            out.setdefault(int(r[1]), []).append((r[0], r[2], r[3], r[4], who, rules))
        return out

    def audit_row(self, action: str, entity: str, entity_id: int, detail: dict[str, Any]) -> None:
        self.plan.audits.append(
            (self.actor.user_id, self.actor.username, action, entity, str(entity_id),
             bulk.json_text({"source": self.source, **detail}))
        )  # fmt: skip

    def change(self, dose_id: int, action: str, person_id: str | None, area: tuple[Any, Any]):
        self.plan.changes.append(
            Change("Immunization", str(dose_id), action, self.source, person_id, *area)
        )

    def flag(
        self,
        dose_id: int,
        open_now: list[tuple[Any, ...]],
        best: int | None,
        diff: str | None,
        candidates: list[dict[str, Any]],
        area: tuple[Any, Any],
        explanation: str,
    ) -> bool:
        """Open an item for ``dose_id`` unless an open one says the same (same person, same
        fields, same candidates); the other open replaceable items are superseded. True when
        opened."""
        who = frozenset(c["person_id"] for c in candidates)
        if any(o[2] == best and (o[3] or "") == (diff or "") and o[4] == who for o in open_now):
            return False
        self.plan.supersede.extend(int(o[0]) for o in open_now)
        self.report.superseded += len(open_now)
        # one dose, one item (doses/entry.py): the dose-rule warnings of the items it replaces
        # go on in its explanation, as the entry item carried them
        carried = list(dict.fromkeys(seg for o in open_now for seg in o[5]))
        self.plan.items.append(
            (dose_id, "unverified", REASON, area[0], area[1], best, diff or None,
             bulk.json_text(candidates), "; ".join([explanation, *carried]), "open")
        )  # fmt: skip
        return True

    def close(
        self, dose_id: int, open_now: list[tuple[Any, ...]], person: Sequence[Any], pk: int
    ) -> None:
        """Close the open items of a dose the register now verifies (accepted, as a reviewer's
        decision); their dose-rule warnings move to a ``dose_check`` item in the person's
        ward, as ``decisions._carry_warnings`` does when a reviewer links a dose."""
        person_id = person[0]
        warnings = [
            w
            for seg in dict.fromkeys(seg for o in open_now for seg in o[5])
            if (w := dose_rules.warning_of_segment(seg)) is not None
        ]
        if warnings:
            who = SimpleNamespace(id=pk, person_id=person_id, ward_code=person[1],
                                  province_code=person[2])  # fmt: skip
            row = dose_rules.item_row(dose_id, {}, who, warnings)
            self.plan.items.append(
                tuple(bulk.json_text(row[c]) if c == "candidates" else row[c] for c in _ITEM_COLS)
            )
        for o in open_now:
            self.plan.close.append(int(o[0]))
            self.audit_row(
                "review_item.accept", "review_item", int(o[0]),
                {"action": "accept", "person_id": person_id, "dose_id": dose_id,
                 "reason": CLOSE_REASON},
            )  # fmt: skip
        self.report.items_closed += len(open_now)

    # -- the doses linked to the changed persons -----------------------------------------
    def linked(self) -> None:
        decisive = " OR ".join(sql for f, sql in rule.differs() if f in rule.DECISIVE)
        base = "FROM rc_keys k JOIN doses d ON d.person_pk = k.pk JOIN persons p ON p.id = k.pk "
        live = "d.status IN ('verified', 'unverified')"
        (self.report.linked_doses,) = self.conn.exec_driver_sql(
            f"SELECT count(*) {base} WHERE {live}"
        ).one()
        rows = _rows(
            self.conn,
            f"SELECT d.id, d.status, d.person_pk, {_PERSON}, {rule.flags_sql()} {base}"
            f"WHERE {live} AND (d.status = 'unverified' OR {decisive})",
        )
        open_items = self.open_items([int(r[0]) for r in rows])
        for r in rows:
            dose_id, status, pk, person, diff = int(r[0]), r[1], r[2], r[3:10], r[10]
            area = (person[1], person[2])
            now = open_items.get(dose_id, [])
            if _decisive(diff):
                cands = [_candidate(person, diff)]
                if self.flag(dose_id, now, pk, diff, cands, area, EXPLAIN_DIFFERS):
                    self.report.flagged += 1
                else:
                    self.report.already_flagged += 1
                if status == "verified":
                    self.plan.to_unverified.append(dose_id)
                    self.audit_row("dose.register_mismatch", "dose", dose_id,
                                   {"person_id": person[0], "fields": diff.split(";")})  # fmt: skip
                    self.change(dose_id, "corrected", person[0], area)
            else:
                self.plan.to_verified.append(dose_id)
                self.report.reverified += 1
                self.close(dose_id, now, person, pk)
                self.audit_row("dose.register_agrees", "dose", dose_id, {"person_id": person[0]})
                self.change(dose_id, "corrected", person[0], area)

    # -- the unlinked doses that may be theirs --------------------------------------------
    def candidates(self) -> list[tuple[Any, ...]]:
        """Unlinked doses whose typed ID is a changed person's, or whose folded name is one
        (the date of birth is compared by the rule's SQL)."""
        unlinked = "d.person_pk IS NULL AND d.status = 'unverified'"
        ids = {
            int(r[0])
            for r in _rows(
                self.conn,
                "SELECT d.id FROM rc_keys k JOIN persons p ON p.id = k.pk "
                f"JOIN doses d ON d.national_id = p.national_id WHERE {unlinked} UNION "
                "SELECT d.id FROM rc_keys k JOIN persons p ON p.id = k.pk "
                f"JOIN doses d ON d.national_id = p.old_id WHERE {unlinked}",
            )
        }
        keys = {r[0] for r in _rows(self.conn, "SELECT DISTINCT p.name_key FROM rc_keys k "
                                               "JOIN persons p ON p.id = k.pk")}  # fmt: skip
        named = _rows(
            self.conn,
            f"SELECT d.id, d.full_name FROM doses d WHERE {unlinked} AND d.dob IS NOT NULL",
        )
        if named:
            folded = fold_names([r[1] for r in named]).to_pylist()
            ids.update(int(r[0]) for r, k in zip(named, folded, strict=True) if k in keys)
        if not ids:
            return []
        rows = bulk.select_keys(
            self.conn,
            "SELECT id, national_id, full_name, dob, sex, ward_code, link_source, "
            "area_ward_code, area_province_code FROM doses WHERE id {isin}",
            sorted(ids),
        )
        return sorted(rows)

    def unlinked(self) -> None:
        doses = self.candidates()
        self.report.unlinked_checked = len(doses)
        if not doses:
            return
        names = fold_names([r[2] for r in doses]).to_pylist()
        cand = [(*r[:3], k, *r[3:6]) for r, k in zip(doses, names, strict=True)]
        cols = ("dose_id", "nid", "full_name", "name_key", "dob", "sex", "ward_code")
        _fill(self.conn, self.pg, "rc_cand", cols, cand)
        self.conn.exec_driver_sql(rule.pairs_sql())
        decided = {int(r[0]): r[1:] for r in _rows(self.conn, rule.decide_sql())}
        pairs: dict[int, list[tuple[Any, ...]]] = {}
        for r in _rows(
            self.conn,
            f"SELECT r.dose_id, r.pk, r.via, r.ok, {_PERSON}, "
            f"{rule.flags_sql('c', 'p', 'nid')} FROM rc_pairs r "
            "JOIN rc_cand c ON c.dose_id = r.dose_id JOIN persons p ON p.id = r.pk "
            "ORDER BY r.dose_id, r.ok DESC, r.pk",
        ):
            pairs.setdefault(int(r[0]), []).append(r[1:])
        open_items = self.open_items(list(decided))
        for d in doses:
            dose_id, link_source, area = int(d[0]), d[6], (d[7], d[8])
            status, pk, via, only_ok = decided[dose_id]
            if status == rule.NOT_FOUND:
                continue
            mine = [p for p in pairs.get(dose_id, []) if p[1] == via]
            pool = (
                [p for p in mine if p[0] == pk][:1]
                if pk is not None
                else [p for p in mine if p[2] == 1 or not only_ok]
            )
            now = open_items.get(dose_id, [])
            if status == rule.VERIFIED and link_source not in PERSON_DECIDED:
                person = pool[0][3:10]
                self.plan.links.append((pk, person[1], person[2], dose_id))
                self.report.linked += 1
                self.close(dose_id, now, person, pk)
                self.audit_row("dose.link", "dose", dose_id, {"person_id": person[0]})
                self.change(dose_id, "linked", person[0], (person[1], person[2]))
                continue
            if link_source in PERSON_DECIDED:
                self.report.kept_person_decision += 1
            best = pool[0] if len(pool) == 1 else None
            diff = best[10] if best is not None else None
            cands = [_candidate(p[3:10], p[10]) for p in pool]
            where = (best[4], best[5]) if best is not None else area
            if self.flag(dose_id, now, pk if best else None, diff, cands, where,
                         EXPLAIN_CANDIDATE):  # fmt: skip
                self.report.unlinked_flagged += 1
            else:
                self.report.unlinked_already += 1

    # -- the writes -------------------------------------------------------------------------
    def write(self) -> None:
        p, conn, dialect = self.plan, self.conn, self.conn.dialect.name
        item_t: Table = ReviewItem.__table__  # type: ignore[assignment]
        if p.supersede:
            conn.execute(
                update(item_t).where(bulk.keys_filter(item_t.c.id, dialect)).values(
                    status="superseded", decided_at=self.now),
                {"keys": bulk.keys_param(p.supersede, dialect)},
            )  # fmt: skip
        if p.close:
            decision = {"action": "accept", "source": self.source, "reason": CLOSE_REASON}
            conn.execute(
                update(item_t).where(bulk.keys_filter(item_t.c.id, dialect)).values(
                    status="accepted", decided_at=self.now, decided_by=self.actor.user_id,
                    decision=decision, decision_reason=CLOSE_REASON),
                {"keys": bulk.keys_param(p.close, dialect)},
            )  # fmt: skip
        status_sql = f"UPDATE doses SET status = %s WHERE id {bulk.in_keys_sql(dialect)}"
        if not self.pg:
            status_sql = status_sql.replace("%s", "?", 1)
        for status, ids in (("unverified", p.to_unverified), ("verified", p.to_verified)):
            if ids:
                conn.exec_driver_sql(status_sql, (status, bulk.keys_param(ids, dialect)))
        if p.links:
            sets = "person_pk = {}, status = 'verified', link_source = 'register', " \
                   "area_ward_code = {}, area_province_code = {}"  # fmt: skip
            if self.pg:
                # a few thousand ids against millions of doses: one index probe per id, not
                # the hash join over all doses the planner picks (as imports/applier.py)
                conn.exec_driver_sql("SET LOCAL enable_hashjoin = off")
                conn.exec_driver_sql("SET LOCAL enable_mergejoin = off")
                conn.exec_driver_sql(
                    "UPDATE doses SET "
                    + sets.format("t.pk", "t.w", "t.p")
                    + " FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::bigint[]) "
                    "AS t(pk, w, p, id) WHERE doses.id = t.id",
                    tuple(list(c) for c in zip(*p.links, strict=True)),
                )
                conn.exec_driver_sql("RESET enable_hashjoin")
                conn.exec_driver_sql("RESET enable_mergejoin")
            else:
                conn.exec_driver_sql(
                    "UPDATE doses SET " + sets.format("?", "?", "?") + " WHERE id = ?", p.links
                )
        for table, cols, rows in (
            ("review_items", _ITEM_COLS, p.items),
            ("audit_log", _AUDIT_COLS, p.audits),
        ):
            _fill(conn, self.pg, table, cols, rows, analyze=False)
        append(conn, p.changes, at=self.now)
        self.report.changes = len(p.changes)


def recheck_persons(
    session: Session,
    person_pks: Sequence[int],
    *,
    source: str = "register",
    actor: Actor | None = None,
) -> RecheckReport:
    """Re-check the stored doses of the persons ``person_pks`` (``persons.id``), whose new
    values are already in ``persons``, in the caller's transaction (the caller commits); see
    the module docstring for what it does. Running it again changes nothing more."""
    started = time.perf_counter()
    actor = actor or Actor.system(source)
    keys = sorted({int(k) for k in person_pks})
    report = RecheckReport(source=source, persons=len(keys))
    run = _Run(session, actor, source, report)
    _setup(run.conn, run.pg)
    _fill(run.conn, run.pg, "rc_keys", ("pk",), [(k,) for k in keys])
    run.linked()
    run.unlinked()
    run.write()
    for t in ("rc_keys", "rc_cand", "rc_pairs"):
        run.conn.exec_driver_sql(f"DROP TABLE IF EXISTS {t}")
    report.seconds = round(time.perf_counter() - started, 3)
    audit(session, actor, "register.recheck", "person", None,
          {"source": source, **report.counts(), "seconds": report.seconds})  # fmt: skip
    session.expire_all()
    return report


def changed_persons(
    session: Session,
    *,
    person_ids: Sequence[str] | None = None,
    since: datetime | None = None,
) -> list[int]:
    """The keys (``persons.id``) of the persons to re-check: the register's ``person_ids``
    (each must be in the snapshot: an unknown one is a 422 naming it, line by line, so a
    mistyped list never re-checks half of what it meant), or every person updated at or
    after ``since``."""
    conn = session.connection()
    if person_ids is not None:
        wanted = [p.strip() for p in person_ids]
        rows = bulk.select_keys(
            conn, "SELECT person_id, id FROM persons WHERE person_id {isin}", sorted(set(wanted))
        )
        found = {r[0]: int(r[1]) for r in rows}
        missing = [(n, p) for n, p in enumerate(wanted, 1) if p not in found]
        if missing:
            raise ServiceError(
                422,
                "Rule violated / Vi phạm quy tắc",
                [
                    FieldProblem(
                        f"person_ids[{n}]",
                        "unknown_person",
                        f"Dòng {n}: không có người {p!r} trong sổ dân cư",
                        f"line {n}: no person {p!r} in the register",
                    )
                    for n, p in missing[:20]
                ],
            )
        return sorted(set(found.values()))
    if since is None:
        raise rule_error(
            "since",
            "required",
            "Cần danh sách người hoặc thời điểm --since",
            "a list of persons or a --since time is required",
        )
    when = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
    stmt = select(Person.id).where(Person.updated_at >= when).order_by(Person.id)
    return [int(pk) for pk in session.scalars(stmt)]
