"""Writing register persons the remote register sent into the local snapshot (``persons``).

One home for the desk's adoption of a person the snapshot lacked and for the pull's batches:
set-based (one read of the existing rows, one upsert on ``person_id``), each person whose
stored fields changed gets a ``Patient`` change (``created`` or ``corrected``) in the same
transaction (``registry/changes/log.append``), and one audit event says who wrote how many.
A person whose fields are already the stored ones is left alone (no change appended): a
register that sends the same person twice makes nothing happen twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tiemchung.columns import REGISTER_COLUMNS
from tiemchung.identity import fold_name
from tiemchung.registry.changes.log import Change, append
from tiemchung.registry.models import AdminUnit, Person
from tiemchung.registry.people.register_source import RegisterPerson
from tiemchung.registry.scope import Actor
from tiemchung.store.audit import audit

#: persons per statement (SQLite allows 32,766 parameters; 12 columns a person)
CHUNK = 1000
_STORED = (*REGISTER_COLUMNS, "name_key", "province_code")


@dataclass
class Stored:
    """What :func:`store_persons` did: the pks of the persons created and corrected (their
    stored fields changed), the unchanged ones, and the ones refused with the reason."""

    created: list[int] = field(default_factory=list)
    corrected: list[int] = field(default_factory=list)
    unchanged: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)

    @property
    def changed(self) -> list[int]:
        return self.created + self.corrected


def _wards(session: Session, persons: Sequence[RegisterPerson]) -> dict[str, str]:
    codes = {p.ward_code for p in persons if p.ward_code}
    if not codes:
        return {}
    rows = session.execute(
        select(AdminUnit.code, AdminUnit.province_code).where(
            AdminUnit.scheme == "2021", AdminUnit.level == "ward", AdminUnit.code.in_(codes)
        )
    )
    return {code: province for code, province in rows}


def begin_write(session: Session) -> None:
    """Begin the session's next transaction as a writer: on SQLite ``BEGIN IMMEDIATE``, which
    waits for the lock, where a transaction that read first and wrote later would fail at once
    ("database is locked") if another connection (the group-commit writer, the SMS sender)
    committed in between. The session must have no transaction open (commit first)."""
    session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})


def store_persons(
    session: Session,
    actor: Actor,
    persons: Sequence[RegisterPerson],
    *,
    source: str,
    action: str = "register.remote",
) -> Stored:
    """Upsert ``persons`` (the caller commits); see the module docstring. ``source`` is the
    change log's (``desk``, ``register``); an unknown ward is refused (reported), never
    stored half-known."""
    out = Stored()
    latest: dict[str, RegisterPerson] = {p.person_id: p for p in persons}  # the last one wins
    for start in range(0, len(latest), CHUNK):
        _store_chunk(session, list(latest.values())[start : start + CHUNK], source, out)
    if persons:
        audit(
            session,
            actor,
            action,
            "register",
            None,
            {
                "created": len(out.created),
                "corrected": len(out.corrected),
                "unchanged": out.unchanged,
                "rejected": len(out.rejected),
                "via": source,
            },
        )
    return out


def _store_chunk(session: Session, chunk: list[RegisterPerson], source: str, out: Stored) -> None:
    wards = _wards(session, chunk)
    rows: list[dict[str, Any]] = []
    for p in chunk:
        if p.ward_code and p.ward_code not in wards:
            out.rejected.append((p.person_id, f"unknown ward {p.ward_code} / mã xã không có"))
            continue
        rows.append(
            {
                **p.as_wire(),
                "name_key": fold_name(p.full_name),
                "province_code": wards.get(p.ward_code) if p.ward_code else None,
            }
        )
    if not rows:
        return
    ids = [r["person_id"] for r in rows]
    cols = [getattr(Person, c) for c in _STORED]
    before = {
        r.person_id: r for r in session.execute(select(*cols).where(Person.person_id.in_(ids)))
    }
    changed = [
        r
        for r in rows
        if r["person_id"] not in before
        or any(getattr(before[r["person_id"]], c) != r[c] for c in _STORED)
    ]
    out.unchanged += len(rows) - len(changed)
    if not changed:
        return
    insert_fn = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert_fn(Person)
    stmt = stmt.on_conflict_do_update(
        index_elements=["person_id"],
        set_={c: stmt.excluded[c] for c in _STORED if c != "person_id"},
    )
    session.execute(stmt, changed)
    changed_ids = [r["person_id"] for r in changed]
    pks: dict[str, int] = {
        pid: pk
        for pid, pk in session.execute(
            select(Person.person_id, Person.id).where(Person.person_id.in_(changed_ids))
        )
    }
    entries = []
    for r in changed:
        created = r["person_id"] not in before
        (out.created if created else out.corrected).append(pks[r["person_id"]])
        entries.append(
            Change(
                resource="Patient",
                resource_id=r["person_id"],
                action="created" if created else "corrected",
                source=source,
                person_id=r["person_id"],
                ward_code=r["ward_code"],
                province_code=r["province_code"],
            )
        )
    append(session.connection(), entries)
