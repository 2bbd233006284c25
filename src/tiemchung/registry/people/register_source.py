"""Where the register's answers come from: the local snapshot or the national service.

The desk, the pull and the lists all ask the register three questions: the persons with this
ID number (12-digit or old), the persons with this name and date of birth, and the persons
whose record changed since a cursor. :class:`RegisterSource` is that interface, so the same
code runs against the ``persons`` table (:class:`SnapshotRegister`) and against the remote
register over HTTP (``gateways/register_http.py``, wire contract in docs/register-remote.md).

A remote that cannot answer (down, too slow, its circuit breaker open) raises
:class:`RegisterUnavailable`; the caller then answers from the snapshot, never with an error.
Persons are :class:`RegisterPerson`: the ``REGISTER_COLUMNS`` fields in standard form (the
name NFC display form, the date ISO with its precision), so ``fields.identity_agrees`` reads
them exactly as it reads a ``persons`` row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from tiemchung.columns import REGISTER_COLUMNS
from tiemchung.identity import fold_name
from tiemchung.registry.errors import ServiceError, rule_error
from tiemchung.registry.fields import clean_dob, clean_id, clean_name, clean_phone, clean_sex
from tiemchung.registry.models import Person

#: at most this many persons for one look-up (the desk shows 20 candidates, and knows more)
MAX_LOOKUP = 21


class RegisterUnavailable(Exception):  # noqa: N818 (the name issue 19 gives it)
    """The remote register did not answer in time (down, 5xx after retries, breaker open)."""


@dataclass(frozen=True)
class RegisterPerson:
    """One register person in standard form (the ``REGISTER_COLUMNS``)."""

    person_id: str
    full_name: str
    national_id: str | None = None
    old_id: str | None = None
    dob: str | None = None
    sex: str | None = None
    ward_code: str | None = None
    address: str | None = None
    phone: str | None = None

    def as_wire(self) -> dict[str, Any]:
        """The JSON object of the wire contract (docs/register-remote.md)."""
        return {c: getattr(self, c) for c in REGISTER_COLUMNS}


@dataclass(frozen=True)
class ChangesPage:
    """One page of ``changes_since``: the persons, the cursor to ask from next, and whether
    more are waiting (ask again at once) or the feed is drained."""

    persons: list[RegisterPerson]
    cursor: str | None
    more: bool
    #: persons the source sent that could not be used: (person_id or "?", reason)
    rejected: tuple[tuple[str, str], ...] = ()


class RegisterSource(Protocol):
    """The three questions asked of a register; see the module docstring."""

    def by_id(self, digits: str) -> list[RegisterPerson]: ...

    def by_name_dob(self, name: str, dob: str) -> list[RegisterPerson]: ...

    def changes_since(self, cursor: str | None, limit: int) -> ChangesPage: ...


def clean_person(raw: Mapping[str, Any]) -> RegisterPerson:
    """A register person as the wire or a file gives it, in standard form; a
    :class:`ServiceError` naming the field when it cannot be used (no ``person_id``, no name,
    a ``national_id`` that is not 12 digits, a malformed date)."""
    person_id = str(raw.get("person_id") or "").strip()
    if not person_id:
        raise rule_error("person_id", "required", "Thiếu mã người", "person_id is empty")
    display, _ = clean_name(str(raw.get("full_name") or ""))
    national = clean_id(raw.get("national_id"))
    if raw.get("national_id") and national.kind != "cccd":
        raise rule_error(
            "national_id",
            "not_a_cccd",
            "Số định danh không phải 12 chữ số",
            "national_id is not a 12-digit personal ID number",
        )
    ward = str(raw.get("ward_code") or "").strip() or None
    return RegisterPerson(
        person_id=person_id,
        full_name=display,
        national_id=national.value,
        old_id=clean_id(raw.get("old_id")).value,
        dob=clean_dob(raw.get("dob")),
        sex=clean_sex(raw.get("sex")),
        ward_code=ward.zfill(5) if ward else None,
        address=str(raw.get("address") or "").strip() or None,
        phone=clean_phone(raw.get("phone")),
    )


def clean_many(rows: list[Mapping[str, Any]]) -> tuple[list[RegisterPerson], list[tuple[str, str]]]:
    """Every row cleaned; the ones that cannot be used come back with their reason (a pull
    reports them: nothing a register sends is silently dropped)."""
    good: list[RegisterPerson] = []
    bad: list[tuple[str, str]] = []
    for raw in rows:
        try:
            good.append(clean_person(raw))
        except ServiceError as exc:
            bad.append((str(raw.get("person_id") or "?"), str(exc)))
    return good, bad


def _from_row(row: Any) -> RegisterPerson:
    return RegisterPerson(**{c: getattr(row, c) for c in REGISTER_COLUMNS})


class SnapshotRegister:
    """The local snapshot (``persons``) as a :class:`RegisterSource`. ``changes_since``
    walks the persons by ``(updated_at, id)``: the cursor is ``"<iso time>|<id>"``."""

    def __init__(self, sessions: Callable[[], Session]):
        self._sessions = sessions

    def _read(self, where: Any, order: Any, limit: int) -> list[Any]:
        cols = [getattr(Person, c) for c in REGISTER_COLUMNS]
        with self._sessions() as s:
            stmt = select(*cols, Person.id, Person.updated_at).where(where)
            return list(s.execute(stmt.order_by(*order).limit(limit)))

    def by_id(self, digits: str) -> list[RegisterPerson]:
        rows = self._read(
            or_(Person.national_id == digits, Person.old_id == digits), [Person.id], MAX_LOOKUP
        )
        return [_from_row(r) for r in rows]

    def by_name_dob(self, name: str, dob: str) -> list[RegisterPerson]:
        # the desk's exact-or-prefix rule is registry/doses/verify.dob_condition's; here only
        # the equal date or its year, enough for a peer asking this installation
        where = and_(Person.name_key == fold_name(name), Person.dob.in_({dob, dob[:4], dob[:7]}))
        return [_from_row(r) for r in self._read(where, [Person.id], MAX_LOOKUP)]

    def changes_since(self, cursor: str | None, limit: int) -> ChangesPage:
        where: Any = True
        if cursor:
            at_text, _, pk_text = cursor.partition("|")
            at = datetime.fromisoformat(at_text)
            where = or_(
                Person.updated_at > at, and_(Person.updated_at == at, Person.id > int(pk_text))
            )
        rows = self._read(where, [Person.updated_at, Person.id], limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = cursor
        if rows:
            next_cursor = f"{rows[-1].updated_at.isoformat()}|{rows[-1].id}"
        return ChangesPage([_from_row(r) for r in rows], next_cursor, more)
