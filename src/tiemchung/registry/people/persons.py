"""Looking up register persons: by national ID, old ID, or name + date of birth (+ ward).

Every person returned is audited as read by the caller. What a caller sees follows
:mod:`tiemchung.registry.scope`: the whole record inside its area (:func:`full_view`); a site
(the vaccination desk) only the masked desk view (:func:`person_view`) — of a person checking
in, found by an exact identifier (never a list), or by register id of a person with a dose at
its site.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from tiemchung.registry.errors import rule_error
from tiemchung.registry.fields import clean_dob, clean_id, clean_name
from tiemchung.registry.models import Dose, Person
from tiemchung.registry.scope import Actor, Role


@dataclass(frozen=True)
class PersonQuery:
    national_id: str | None = None
    old_id: str | None = None
    full_name: str | None = None
    dob: str | None = None
    ward_code: str | None = None
    sex: str | None = None  # "M" or "F" (the FHIR ``gender`` search)

    def __post_init__(self) -> None:
        # whitespace is no value: a blank ID must neither count as an identifying query nor
        # turn into ``national_id IS NULL`` (which would list everyone without one)
        for name in ("national_id", "old_id", "full_name", "dob", "ward_code"):
            value = getattr(self, name)
            if value is not None and not value.strip():
                object.__setattr__(self, name, None)

    @property
    def is_exact(self) -> bool:
        """An identifying query: an ID, or a name with a date of birth."""
        return bool(self.national_id or self.old_id or (self.full_name and self.dob))


def person_select(actor: Actor, q: PersonQuery) -> Select[Person]:
    """The scoped query; raises when a site user asks for a list rather than a person."""
    stmt = select(Person)
    if actor.role is Role.SITE:
        if not q.is_exact:
            raise rule_error(
                "national_id",
                "exact_lookup_required",
                "Điểm tiêm chỉ tra cứu theo số định danh, hoặc họ tên và ngày sinh",
                "a site may only look a person up by ID number, or by full name and birth date",
                status=403,
            )
    else:
        stmt = stmt.where(actor.person_filter())
    if q.national_id:
        digits = clean_id(q.national_id).value
        stmt = stmt.where(or_(Person.national_id == digits, Person.old_id == digits))
    if q.old_id:
        stmt = stmt.where(Person.old_id == clean_id(q.old_id).value)
    if q.full_name:
        _display, key = clean_name(q.full_name)
        stmt = stmt.where(Person.name_key == key)
    if q.dob:
        dob = clean_dob(q.dob)
        assert dob is not None
        if len(dob) == 10:  # a full date also matches register entries known only to year/month
            stmt = stmt.where(Person.dob.in_([dob, dob[:7], dob[:4]]))
        else:
            stmt = stmt.where(Person.dob.like(f"{dob}%"))
    if q.ward_code:
        stmt = stmt.where(Person.ward_code == q.ward_code)
    if q.sex:
        stmt = stmt.where(Person.sex == q.sex)
    return stmt


def find_persons(
    session: Session, actor: Actor, q: PersonQuery, *, limit: int = 50, offset: int = 0
) -> tuple[list[Person], int]:
    stmt = person_select(actor, q)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Person.id).limit(limit).offset(offset)).all()
    return list(rows), int(total)


def persons_after(
    session: Session,
    actor: Actor,
    q: PersonQuery,
    *,
    after_pk: int,
    limit: int,
    updated_gt: datetime | None = None,
) -> list[Person]:
    """Up to ``limit`` persons matching ``q`` (scoped as :func:`find_persons`) with a row id
    above ``after_pk``, in id order: keyset pages for partner systems (the FHIR ``Patient``
    search), which must cost the same on the last page as on the first. ``updated_gt``: only
    those changed since (FHIR ``_lastUpdated``, a partner's incremental sync)."""
    stmt = person_select(actor, q).where(Person.id > after_pk)
    if updated_gt is not None:
        stmt = stmt.where(Person.updated_at > updated_gt)
    return list(session.scalars(stmt.order_by(Person.id).limit(limit)).all())


def persons_by_ids(session: Session, actor: Actor, person_ids: list[str]) -> list[Person]:
    """The persons of ``person_ids`` the caller may read (as :func:`get_person`), in one
    query: the patients a page of doses names (FHIR ``_include``)."""
    if not person_ids:
        return []
    stmt = select(Person).where(Person.person_id.in_(person_ids), actor.person_view_filter())
    return list(session.scalars(stmt.order_by(Person.id)).all())


def get_person(session: Session, actor: Actor, person_id: str) -> Person | None:
    """One person by register ID, or None when absent or outside the caller's view (whole
    record in its area; a site: the people with a dose at its site, shown masked through
    :func:`person_view`)."""
    return session.scalar(
        select(Person).where(Person.person_id == person_id, actor.person_view_filter())
    )


def certifiable_person(session: Session, actor: Actor, person_id: str) -> Person | None:
    """The person a certificate is issued or read for, or None when absent or when the
    caller's area holds neither the person nor any of the person's doses
    (:meth:`Actor.certify_filter`)."""
    return session.scalar(
        select(Person).where(Person.person_id == person_id, actor.certify_filter())
    )


# -- what the caller sees of a person ------------------------------------------------------------


def mask_id(value: str | None) -> str | None:
    """``001085123456`` → ``0010******56``: enough to tell two cards apart, not to copy one.
    The one masking rule: the desk view, the worklists and the certificates all show this
    (certificates/service.py prints "—" for None)."""
    if not value:
        return None
    if len(value) <= 6:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 6) + value[-2:]


def full_view(actor: Actor, person: Any) -> bool:
    """Central, commune/province users for persons of their area, and a citizen for itself
    see the whole record; everyone else (a site always) the desk view. ``person`` is a
    :class:`Person` or a row with its columns (``/verify`` reads rows)."""
    return actor.can_see_person(person)


def person_view(actor: Actor, person: Any) -> dict[str, Any]:
    """The person as the caller may see them: ``view`` ``full`` is the whole record; ``desk``
    has the name, date of birth, sex, ward, register id and masked ID numbers, and no phone
    or address keys at all (absent, not null, so no client can mistake them for unknown)."""
    full = full_view(actor, person)
    out = {
        "person_id": person.person_id,
        "national_id": person.national_id if full else mask_id(person.national_id),
        "old_id": person.old_id if full else mask_id(person.old_id),
        "full_name": person.full_name,
        "dob": person.dob,
        "sex": person.sex,
        "ward_code": person.ward_code,
        "province_code": person.province_code,
        "view": "full" if full else "desk",
    }
    if full:
        out["address"] = person.address
        out["phone"] = person.phone
    return out


def person_doses(session: Session, person: Person) -> list[Dose]:
    return list(
        session.scalars(
            select(Dose)
            .where(Dose.person_pk == person.id)
            .order_by(Dose.dose_number, Dose.dose_date)
        )
    )


#: register fields shown only in the whole record; the ID numbers are masked instead
_FULL_ONLY = ("phone", "address")
_MASKED = ("national_id", "old_id")


def mask_candidates(session: Session, actor: Actor, candidates: list[dict[str, Any]]) -> None:
    """Reduce, in place, the register values of worklist candidates outside the caller's area
    to the desk view: a commune deciding a dose sees a candidate of another ward with a
    masked ID and no phone or address. The comparison marks (``state``, ``differs``) stay as
    computed on the real values, so the decision can still be made; the stored candidates,
    which accepting applies, are untouched."""
    ids = {str(c["person_id"]) for c in candidates if c.get("person_id")}
    if not ids or actor.role is Role.CENTRAL:
        return
    persons = {
        p.person_id: p for p in session.scalars(select(Person).where(Person.person_id.in_(ids)))
    }
    for c in candidates:
        person = persons.get(str(c.get("person_id")))
        if person is None or full_view(actor, person):
            continue
        for cell in c.get("fields") or []:
            if cell.get("field") in _MASKED:
                cell["register"] = mask_id(cell.get("register"))
            elif cell.get("field") in _FULL_ONLY:
                cell["register"] = None
        corrections = c.get("corrections") or {}
        for key in list(corrections):
            if key in _MASKED:
                corrections[key] = mask_id(corrections[key])
            elif key in _FULL_ONLY:
                del corrections[key]
