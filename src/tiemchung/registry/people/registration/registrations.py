"""Registrations (issue 18 points 1–2): an organisation's list, a person's own form.

Every submitted row is stored as a ``registration_sources`` row with what was submitted, its
result and its reasons, whatever the result: nothing sent is lost, and the organisation reads
each row's answer (``list_rows``), fixes it (``fix_row``: checked again) or withdraws it
(``withdraw_row``).

Who is registered: a row the desk's verification finds (``verified``) joins the ONE
registration of that register person (unique ``person_id``), so two organisations, or an
organisation and the person themselves, make one registration with two sources. A row not
found but carrying a valid ID number is registered too (the register is incomplete; the desk
will see them), joined to the same registration by that ID. A ``mismatch`` (a field wrong:
perhaps another person), an ``ambiguous`` row and a ``rejected`` one stay unregistered until
fixed. A registration withdrawn by every source is ``withdrawn``.

Lists come in batches of at most :data:`MAX_BATCH` rows (a larger one is refused whole, 413,
before anything is stored); the command line cuts a file into such batches.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from tiemchung.registry.errors import FieldProblem, ServiceError, not_found, rule_error
from tiemchung.registry.people.registration import organisations as orgs
from tiemchung.registry.people.registration.checking import ROW_COLUMNS, RowCheck, check_rows
from tiemchung.registry.people.registration.priority import active_codes
from tiemchung.registry.scope import Actor
from tiemchung.registry.tables.registrations import Registration, RegistrationSource
from tiemchung.store.audit import audit
from tiemchung.store.bulk import in_keys, insert_json, insert_tuples, json_text, reserve_ids

MAX_BATCH = 10_000
ORGANISATION, SELF, STAFF = "organisation", "self", "staff"
_CHUNK = 5_000
_REG: Table = Registration.__table__  # type: ignore[assignment]
_R = _REG.c
_S = RegistrationSource.__table__.c


@dataclass
class RowResult:
    row_number: int | None
    source_id: int
    result: str
    reasons: list[dict[str, str]]
    registration_id: int | None


@dataclass
class SubmitReport:
    batch: str
    counts: dict[str, int] = field(default_factory=dict)
    rows: list[RowResult] = field(default_factory=list)
    registrations_new: int = 0
    registrations_joined: int = 0


def too_many(rows: int) -> ServiceError:
    return ServiceError(
        413,
        "Batch too large / Lô quá lớn",
        [
            FieldProblem(
                "rows",
                "batch_too_large",
                f"Một lô tối đa {MAX_BATCH:,} dòng; lô này có {rows:,}: hãy chia nhỏ",
                f"a batch holds at most {MAX_BATCH:,} rows; this one has {rows:,}: split it",
            )
        ],
    )


def _submitted(row: Mapping[str, Any]) -> dict[str, Any]:
    """The row as submitted, JSON-safe, every value kept (unknown keys too)."""
    return {str(k): (v if v is None or isinstance(v, (str, int, float, bool)) else str(v))
            for k, v in row.items()}  # fmt: skip


def submit_rows(
    session: Session,
    actor: Actor,
    rows: Sequence[Mapping[str, Any]],
    *,
    organisation_id: int | None,
    source: str = ORGANISATION,
    batch: str | None = None,
    row_numbers: Sequence[int] | None = None,
) -> SubmitReport:
    """Check and store a batch (the caller commits): each row a source row with its result,
    verified rows (and not-found ones with an ID) joined to their person's one registration.
    An organisation's batch needs the organisation approved and the caller its user or its
    deciders; ``source`` ``self`` is the person's own form."""
    if len(rows) > MAX_BATCH:
        raise too_many(len(rows))
    if not rows:
        raise rule_error("rows", "empty", "Lô không có dòng nào", "the batch has no rows")
    if organisation_id is not None:
        org = orgs.get_organisation(session, actor, organisation_id)
        orgs.require_approved(org)
    batch = batch or uuid.uuid4().hex
    checks = check_rows(session, actor, rows, active_codes(session))
    reg_ids, new, joined = _registrations(session, checks)
    numbers = list(row_numbers) if row_numbers is not None else list(range(1, len(rows) + 1))
    values = [
        {
            "registration_id": reg_ids.get(i),
            "organisation_id": organisation_id,
            "source": source,
            "batch": batch,
            "row_number": numbers[i],
            "submitted": _submitted(rows[i]),
            "result": c.result,
            "reasons": c.reasons or None,
            "created_by": actor.user_id,
        }
        for i, c in enumerate(checks)
    ]
    ids = _insert(session, "registration_sources", values, json_columns=("submitted", "reasons"))
    report = SubmitReport(batch=batch, registrations_new=new, registrations_joined=joined)
    for i, c in enumerate(checks):
        report.counts[c.result] = report.counts.get(c.result, 0) + 1
        report.rows.append(RowResult(numbers[i], ids[i], c.result, c.reasons, reg_ids.get(i)))
    detail = {"batch": batch, "source": source, "rows": len(rows), "counts": report.counts,
              "registrations_new": new, "registrations_joined": joined}  # fmt: skip
    entity = "organisation" if organisation_id is not None else "registration_batch"
    audit(session, actor, "registration.batch", entity, organisation_id or batch, detail)
    return report


def _insert(
    session: Session,
    table: str,
    rows: list[dict[str, Any]],
    json_columns: tuple[str, ...] = (),
) -> list[int]:
    """Insert ``rows`` set-based with ids reserved first (``store.bulk.reserve_ids``): one
    statement on PostgreSQL, one driver executemany on SQLite; the ids in the rows' order."""
    conn = session.connection()
    ids = reserve_ids(conn, table, len(rows))
    for row, new_id in zip(rows, ids, strict=True):
        row["id"] = new_id
    columns = list(rows[0])
    if conn.dialect.name == "postgresql":
        insert_json(conn, table, columns, rows)
    else:
        tuples = [
            tuple(json_text(r[c]) if c in json_columns else r[c] for c in columns) for r in rows
        ]
        insert_tuples(conn, table, columns, tuples)
    return ids


def _registers(c: RowCheck) -> bool:
    return c.result == "verified" or (c.result == "not_found" and c.national_id is not None)


def _key(c: RowCheck) -> tuple[str, Any]:
    return ("p", c.person_pk) if c.person_pk is not None else ("n", c.national_id)


def _existing(session: Session, checks: Sequence[RowCheck]) -> dict[tuple[str, Any], int]:
    """The registrations already stored for the rows' persons (or typed IDs, not found)."""
    dialect = session.get_bind().dialect.name
    people = sorted({c.person_pk for c in checks if _registers(c) and c.person_pk is not None})
    nids = sorted(
        {c.national_id for c in checks if _registers(c) and c.person_pk is None and c.national_id}
    )
    found: dict[tuple[str, Any], int] = {}
    for i in range(0, len(people), _CHUNK):
        part = people[i : i + _CHUNK]
        stmt = select(_R.id, _R.person_id).where(in_keys(_R.person_id, part, dialect))
        found.update({("p", r.person_id): r.id for r in session.execute(stmt)})
    for i in range(0, len(nids), _CHUNK):
        typed = nids[i : i + _CHUNK]
        stmt = select(_R.id, _R.national_id).where(
            in_keys(_R.national_id, typed, dialect), _R.person_id.is_(None)
        )
        found.update({("n", r.national_id): r.id for r in session.execute(stmt)})
    return found


def _registrations(session: Session, checks: Sequence[RowCheck]) -> tuple[dict[int, int], int, int]:
    """Row index → registration id for the rows that register someone, creating the missing
    registrations; (that, how many were new, how many rows joined one stored before)."""
    found = _existing(session, checks)
    before = set(found)
    fresh: dict[tuple[str, Any], dict[str, Any]] = {}
    for c in checks:
        key = _key(c)
        if not _registers(c) or key in found or key in fresh:
            continue
        fresh[key] = {
            "person_id": c.person_pk,
            "national_id": c.national_id,
            "full_name": c.full_name or c.person_name or "",
            "dob": c.dob,
            "sex": c.sex,
            "phone": c.phone,
            "ward_code": c.person_ward or c.ward_code,
            "province_code": c.person_province,
            "priority_group": c.priority_group,
            "underlying_condition": c.underlying_condition,
            "check_status": c.result,
            "status": "active",
        }
    if fresh:
        made = _insert(session, "registrations", list(fresh.values()))
        found.update(zip(fresh, made, strict=True))
    out = {i: found[_key(c)] for i, c in enumerate(checks) if _registers(c)}
    again = [(i, r) for i, r in out.items() if _key(checks[i]) in before]
    _complete(session, [(checks[i], r) for i, r in again])
    return out, len(fresh), len(again)


def _complete(session: Session, pairs: Sequence[tuple[RowCheck, int]]) -> None:
    """A registration named again is active again and gains what it lacked (a phone, a
    group, the condition): a later source completes it, never overwrites it."""
    if not pairs:
        return
    stmt = (
        update(_REG)
        .where(_R.id == bindparam("rid"))
        .values(
            status="active",
            phone=func.coalesce(_R.phone, bindparam("ph")),
            priority_group=func.coalesce(_R.priority_group, bindparam("pg")),
            underlying_condition=or_(_R.underlying_condition, bindparam("uc")),
            updated_at=func.now(),
        )
    )
    rows = [
        {"rid": r, "ph": c.phone, "pg": c.priority_group, "uc": c.underlying_condition}
        for c, r in pairs
    ]
    session.execute(stmt, rows)


# -- the organisation's rows: read, fix, withdraw ----------------------------------------------


def _source(session: Session, actor: Actor, source_id: int) -> RegistrationSource:
    """A source row the caller may act on: its organisation's users and deciders; a row of
    a self registration only staff covering the registrant's ward."""
    src = session.get(RegistrationSource, source_id)
    if src is not None and src.organisation_id is not None:
        orgs.get_organisation(session, actor, src.organisation_id)  # 404 when not the caller's
        return src
    raise not_found("source_id", f"dòng {source_id}", f"row {source_id}")


def source_view(src: RegistrationSource) -> dict[str, Any]:
    return {
        "source_id": src.id,
        "organisation_id": src.organisation_id,
        "batch": src.batch,
        "row_number": src.row_number,
        "submitted": src.submitted,
        "result": src.result,
        "reasons": src.reasons or [],
        "registration_id": src.registration_id,
        "withdrawn": src.withdrawn_at is not None,
    }


def list_rows(
    session: Session,
    actor: Actor,
    organisation_id: int,
    *,
    batch: str | None = None,
    result: str | None = None,
    after_id: int = 0,
    limit: int = 500,
) -> list[RegistrationSource]:
    """An organisation's rows with their results, by id (keyset pages after ``after_id``)."""
    orgs.get_organisation(session, actor, organisation_id)
    stmt = select(RegistrationSource).where(
        RegistrationSource.organisation_id == organisation_id, RegistrationSource.id > after_id
    )
    if batch is not None:
        stmt = stmt.where(RegistrationSource.batch == batch)
    if result is not None:
        stmt = stmt.where(RegistrationSource.result == result)
    return list(session.scalars(stmt.order_by(RegistrationSource.id).limit(min(limit, 5_000))))


def result_counts(
    session: Session, actor: Actor, organisation_id: int, *, batch: str | None = None
) -> dict[str, int]:
    """How many of an organisation's rows (withdrawn ones aside) have each result."""
    orgs.get_organisation(session, actor, organisation_id)
    stmt = select(_S.result, func.count()).where(
        _S.organisation_id == organisation_id, _S.withdrawn_at.is_(None)
    )
    if batch is not None:
        stmt = stmt.where(_S.batch == batch)
    return {r[0]: int(r[1]) for r in session.execute(stmt.group_by(_S.result))}


def _release(session: Session, registration_id: int | None, src_id: int) -> None:
    """A registration whose last active source left is withdrawn (never deleted)."""
    if registration_id is None:
        return
    others = session.scalar(
        select(func.count()).where(
            _S.registration_id == registration_id, _S.withdrawn_at.is_(None), _S.id != src_id
        )
    )
    if not others:
        session.execute(
            update(_REG)
            .where(_R.id == registration_id)
            .values(status="withdrawn", updated_at=func.now())
        )


def withdraw_row(session: Session, actor: Actor, source_id: int) -> RegistrationSource:
    """The organisation takes a row back (audited; the caller commits). Its registration
    stays while another source names the person."""
    src = _source(session, actor, source_id)
    if src.withdrawn_at is not None:
        return src
    src.withdrawn_at = datetime.now(UTC)
    _release(session, src.registration_id, src.id)
    session.flush()
    detail = {"organisation_id": src.organisation_id, "registration_id": src.registration_id}
    audit(session, actor, "registration.withdraw", "registration_source", src.id, detail)
    return src


def fix_row(
    session: Session, actor: Actor, source_id: int, changes: Mapping[str, Any]
) -> RegistrationSource:
    """The organisation corrects a row's values; the row is checked again as it now reads,
    its result and registration follow (audited with the values before; the caller
    commits). Only the row's columns may change."""
    src = _source(session, actor, source_id)
    if src.withdrawn_at is not None:
        raise rule_error(
            "source_id", "withdrawn", "Dòng đã rút, không sửa được", "the row was withdrawn",
            status=409,
        )  # fmt: skip
    unknown = sorted(set(changes) - set(ROW_COLUMNS))
    if unknown:
        raise rule_error(
            unknown[0],
            "unknown_column",
            f"Không có cột '{unknown[0]}'; các cột: {', '.join(ROW_COLUMNS)}",
            f"no column '{unknown[0]}'; columns: {', '.join(ROW_COLUMNS)}",
        )
    before = dict(src.submitted)
    now = before | {k: v for k, v in changes.items()}
    check = check_rows(session, actor, [now], active_codes(session))[0]
    reg_ids, _new, _joined = _registrations(session, [check])
    old_reg = src.registration_id
    src.submitted = _submitted(now)
    src.result = check.result
    src.reasons = check.reasons or None
    src.registration_id = reg_ids.get(0)
    if old_reg is not None and old_reg != src.registration_id:
        _release(session, old_reg, src.id)
    session.flush()
    detail = {"before": before, "result": check.result, "registration_id": src.registration_id}
    audit(session, actor, "registration.fix", "registration_source", src.id, detail)
    return src
