"""Looking up register persons: by national ID, old ID, or name + date of birth (+ ward).

Every person returned is audited as read by the caller. Site users (the vaccination desk) may
look anyone up by an exact identifier but never browse lists; others see their own area.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def person_select(actor: Actor, q: PersonQuery) -> Select[tuple[Person]]:
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
    return stmt


def find_persons(
    session: Session, actor: Actor, q: PersonQuery, *, limit: int = 50, offset: int = 0
) -> tuple[list[Person], int]:
    stmt = person_select(actor, q)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Person.id).limit(limit).offset(offset)).all()
    return list(rows), int(total)


def get_person(session: Session, actor: Actor, person_id: str) -> Person | None:
    """One person by register ID, or None when absent or outside the caller's view."""
    person = session.scalar(select(Person).where(Person.person_id == person_id))
    if person is None or not actor.can_see_person(person):
        return None
    return person


def person_doses(session: Session, person: Person) -> list[Dose]:
    return list(
        session.scalars(
            select(Dose)
            .where(Dose.person_pk == person.id)
            .order_by(Dose.dose_number, Dose.dose_date)
        )
    )
