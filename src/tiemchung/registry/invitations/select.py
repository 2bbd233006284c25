"""Who a session may invite: the selection, in one query over the register and registrations.

The pool is the register's persons of one ward (where they live, or the ward their
registration names: an organisation's staff registered where they work), with their
registration if any. A selection narrows it by priority group, age band (by year of birth, as
a date of birth may be a year alone), organisation, or "next dose due by" a day; without
"due by", a person is eligible when the rules allow a dose on the session's day (no dose yet,
or the next dose due by then: ``due.py``). Never selected: someone with a live invitation to a
session today or later (an upcoming appointment is kept, not doubled), anyone
this session invited before (a decline is an answer), and anyone without a phone number
(counted, so the page can say how many). The order is the priority group's, then the earliest
due, then the eldest: who is invited first when places are few.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Date, Integer, String, bindparam, select, text
from sqlalchemy.orm import Session

from tiemchung.registry.errors import rule_error
from tiemchung.registry.invitations.due import next_due_sql
from tiemchung.registry.models import AdminUnit, Site, VaccinationSession
from tiemchung.registry.scope import Actor, Role

#: ages a band may name
MAX_AGE = 130


@dataclass(frozen=True)
class Selection:
    """What to invite by; empty fields do not narrow."""

    groups: list[str] = field(default_factory=list)
    min_age: int | None = None
    max_age: int | None = None
    ward_code: str | None = None  # default: the session's site's ward
    organisation_id: int | None = None
    due_by: date | None = None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["due_by"] = self.due_by.isoformat() if self.due_by else None
        return d


def check_selection(sel: Selection) -> None:
    """The selection's own rules (each refusal names its field)."""
    for name, value in (("min_age", sel.min_age), ("max_age", sel.max_age)):
        if value is not None and not 0 <= value <= MAX_AGE:
            raise rule_error(
                name,
                "out_of_range",
                f"Tuổi ({name}) phải từ 0 đến {MAX_AGE}",
                f"the age ({name}) must be 0 to {MAX_AGE}",
            )
    if sel.min_age is not None and sel.max_age is not None and sel.min_age > sel.max_age:
        raise rule_error(
            "min_age",
            "age_band",
            f"Tuổi từ ({sel.min_age}) lớn hơn tuổi đến ({sel.max_age})",
            f"the lowest age ({sel.min_age}) is above the highest ({sel.max_age})",
        )
    for code in sel.groups:
        if not code.strip() or len(code) > 10:
            raise rule_error(
                "groups",
                "invalid_group",
                f"Mã nhóm ưu tiên '{code}' không hợp lệ (1–10 ký tự)",
                f"priority group code '{code}' is not valid (1-10 characters)",
            )


def ward_of_selection(
    session: Session, actor: Actor, vs: VaccinationSession, sel: Selection
) -> str:
    """The ward invited from: the selection's, else the session's site's; within the
    caller's area (a site: its own ward only)."""
    site = session.get(Site, vs.site_id)
    assert site is not None
    ward = (sel.ward_code or site.ward_code).strip()
    province = session.scalar(
        select(AdminUnit.province_code).where(
            AdminUnit.code == ward, AdminUnit.level == "ward", AdminUnit.scheme == "2021"
        )
    )
    if province is None:
        raise rule_error(
            "ward_code",
            "unknown_ward",
            f"Không có phường/xã mã {ward}",
            f"no ward with code {ward}",
        )
    allowed = (
        ward == site.ward_code if actor.role is Role.SITE else actor.covers_area(province, ward)
    )
    if not allowed:
        raise rule_error(
            "ward_code",
            "outside_area",
            f"Phường/xã {ward} ngoài địa bàn của bạn",
            f"ward {ward} is outside your area",
            status=403,
        )
    return ward


_LIVE = "('invited', 'confirmed', 'waitlisted')"


def _sql(dialect: str, sel: Selection, *, count: bool) -> str:
    in_pool = (
        "d.person_pk IN (SELECT p2.id FROM persons p2 WHERE p2.ward_code = :ward "
        "UNION SELECT r2.person_id FROM registrations r2 "
        "WHERE r2.ward_code = :ward AND r2.person_id IS NOT NULL)"
    )
    where = [
        "(p.ward_code = :ward OR r.ward_code = :ward)",
        f"""NOT EXISTS (SELECT 1 FROM invitations i WHERE i.person_id = p.id
            AND i.session_date >= :today AND i.status IN {_LIVE})""",
        "NOT EXISTS (SELECT 1 FROM invitations i2 WHERE i2.session_id = :sid "
        "AND i2.person_id = p.id)",
    ]
    if sel.due_by is not None:
        where.append("due.due_date <= :due_by")
    else:
        where.append(
            "(due.due_date <= :day OR NOT EXISTS (SELECT 1 FROM doses d3 "
            "WHERE d3.person_pk = p.id AND d3.status <> 'duplicate'))"
        )
    if sel.groups:
        where.append("r.priority_group IN :groups")
    if sel.min_age is not None:
        where.append("CAST(substr(p.dob, 1, 4) AS INTEGER) <= :year - :min_age")
    if sel.max_age is not None:
        where.append("CAST(substr(p.dob, 1, 4) AS INTEGER) >= :year - :max_age")
    if sel.organisation_id is not None:
        where.append(
            "EXISTS (SELECT 1 FROM registration_sources s WHERE s.registration_id = r.id "
            "AND s.organisation_id = :org AND s.withdrawn_at IS NULL)"
        )
    phone = "COALESCE(NULLIF(r.phone, ''), NULLIF(p.phone, ''))"
    if count:
        head = f"SELECT COUNT(*) AS n, COUNT({phone}) AS with_phone"
        tail = ""
    else:
        head = f"""SELECT p.id AS person_id, r.id AS registration_id, {phone} AS phone,
            p.ward_code, p.province_code"""
        where.append(f"{phone} IS NOT NULL")
        tail = """ORDER BY CASE WHEN g.sort IS NULL THEN 1 ELSE 0 END, g.sort,
            CASE WHEN due.due_date IS NULL THEN 1 ELSE 0 END, due.due_date, p.dob, p.id
            LIMIT :limit"""
    return f"""
        WITH due AS ({next_due_sql(dialect, in_pool)})
        {head}
        FROM persons p
        LEFT JOIN registrations r ON r.person_id = p.id AND r.status = 'active'
        LEFT JOIN priority_groups g ON g.code = r.priority_group
        LEFT JOIN due ON due.person_pk = p.id
        WHERE {" AND ".join(where)}
        {tail}
    """


def _params(
    vs: VaccinationSession, sel: Selection, ward: str, limit: int, today: date
) -> dict[str, Any]:
    return {
        "today": today,
        "ward": ward,
        "day": vs.session_date,
        "sid": vs.id,
        "due_by": sel.due_by,
        "groups": [g.strip() for g in sel.groups],
        "year": vs.session_date.year,
        "min_age": sel.min_age,
        "max_age": sel.max_age,
        "org": sel.organisation_id,
        "limit": limit,
    }


def _statement(dialect: str, sel: Selection, *, count: bool) -> Any:
    sql = _sql(dialect, sel, count=count)
    types: dict[str, Any] = {"ward": String, "sid": Integer, "day": Date, "today": Date}
    types["due_by"] = Date
    binds = [bindparam(k, type_=t) for k, t in types.items() if f":{k}" in sql]
    if sel.groups:
        binds.append(bindparam("groups", expanding=True))
    return text(sql).bindparams(*binds)


def _used(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if f":{k}" in sql}


def count_eligible(
    session: Session, vs: VaccinationSession, sel: Selection, ward: str, today: date
) -> tuple[int, int]:
    """(eligible, of whom with a phone number) for the preview."""
    dialect = session.get_bind().dialect.name
    stmt = _statement(dialect, sel, count=True)
    row = session.execute(stmt, _used(stmt.text, _params(vs, sel, ward, 0, today))).one()
    return int(row.n), int(row.with_phone)


def candidates(
    session: Session,
    vs: VaccinationSession,
    sel: Selection,
    ward: str,
    limit: int,
    today: date,
) -> list[Any]:
    """The first ``limit`` eligible people with a phone, in invitation order."""
    dialect = session.get_bind().dialect.name
    stmt = _statement(dialect, sel, count=False)
    return list(session.execute(stmt, _used(stmt.text, _params(vs, sel, ward, limit, today))).all())
