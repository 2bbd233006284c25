"""Reminders N days before the next dose is due, and the overdue (defaulter) list.

Both read ``due.next_due_sql`` (the next dose due for everyone, set-based) narrowed to an area
first, so a commune's list reads its own people's doses, and the reminder run is one query
however many are due. A reminder's ``dedupe_key`` is ``reminder:<person>:<dose number>``:
a re-run (the same day, the next day, after a crash) never texts anyone twice about the same
dose, and the run skips those already queued in SQL rather than asking the outbox one by one.

The window of a reminder run: due from ``GRACE_DAYS`` ago (a run missed for a few days still
reminds) to ``days`` ahead (``Settings.reminder_days``). Who is overdue for longer is on the
overdue list, for the commune to call: the list carries the phone number and the last contact
made (the newest message to the person, whatever its kind, and what became of it).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import Date, String, bindparam, select, text
from sqlalchemy.orm import Session

from tiemchung.registry.errors import role_not_allowed, rule_error
from tiemchung.registry.invitations.due import as_date, next_due_sql
from tiemchung.registry.invitations.texts import reminder_text
from tiemchung.registry.messages.outbox import Text, enqueue_many
from tiemchung.registry.messages.templates import current
from tiemchung.registry.models import AdminUnit
from tiemchung.registry.scope import Actor, Role
from tiemchung.store.audit import audit

GRACE_DAYS = 7
#: the most rows a page of the overdue list, and its XLSX, hold
MAX_PAGE = 1_000
MAX_EXPORT = 50_000
_PHONE = "COALESCE(NULLIF(r.phone, ''), NULLIF(p.phone, ''))"


@dataclass(frozen=True)
class Area:
    """An area as SQL over ``persons`` (``p``): a ward, a province, or the country."""

    ward_code: str | None = None
    province_code: str | None = None

    def where(self, alias: str) -> str:
        if self.ward_code is not None:
            return f"{alias}.ward_code = :ward"
        if self.province_code is not None:
            return f"{alias}.province_code = :province"
        return "1 = 1"

    def params(self) -> dict[str, Any]:
        return {"ward": self.ward_code, "province": self.province_code}


def area_for(session: Session, actor: Actor, ward_code: str | None) -> Area:
    """The area a list covers: the ward asked for, inside the caller's area; a commune's own
    ward when it asks for none, a province's province; never a site or a citizen."""
    if actor.role in (Role.SITE, Role.CITIZEN):
        raise role_not_allowed(
            "Chỉ xã/phường, tỉnh và trung ương xem danh sách quá hạn",
            "only a commune, a province or central may see the overdue list",
        )
    if not ward_code:
        if actor.role is Role.COMMUNE:
            return Area(ward_code=actor.ward_code)
        if actor.role is Role.PROVINCE:
            return Area(province_code=actor.province_code)
        return Area()
    province = session.scalar(
        select(AdminUnit.province_code).where(
            AdminUnit.code == ward_code, AdminUnit.level == "ward", AdminUnit.scheme == "2021"
        )
    )
    if province is None:
        raise rule_error(
            "ward_code", "unknown_ward", f"Không có phường/xã mã {ward_code}",
            f"no ward with code {ward_code}",
        )  # fmt: skip
    if not actor.covers_area(province, ward_code):
        raise rule_error(
            "ward_code", "outside_area", f"Phường/xã {ward_code} ngoài địa bàn của bạn",
            f"ward {ward_code} is outside your area", status=403,
        )  # fmt: skip
    return Area(ward_code=ward_code)


def _due_in(session: Session, area: Area) -> str:
    dialect = session.get_bind().dialect.name
    return next_due_sql(
        dialect, f"d.person_pk IN (SELECT a.id FROM persons a WHERE {area.where('a')})"
    )


def _bound(sql: str, **types: Any) -> Any:
    return text(sql).bindparams(
        *(bindparam(k, type_=t) for k, t in types.items() if f":{k}" in sql)
    )


# -- the overdue list -----------------------------------------------------------------------------


def overdue(
    session: Session,
    actor: Actor,
    today: date,
    *,
    ward_code: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> dict[str, Any]:
    """The people of the area whose next dose was due before ``today``, most overdue first,
    with their phone number and the last contact made; ``total`` counts them all."""
    if not 1 <= limit <= MAX_EXPORT or offset < 0:
        raise rule_error(
            "limit", "out_of_range", f"Số dòng phải từ 1 đến {MAX_EXPORT}, vị trí không âm",
            f"limit must be 1 to {MAX_EXPORT} and offset at least 0",
        )  # fmt: skip
    area = area_for(session, actor, ward_code)
    base = f"""
        WITH due AS ({_due_in(session, area)})
        SELECT {{what}}
        FROM due JOIN persons p ON p.id = due.person_pk
        LEFT JOIN registrations r ON r.person_id = p.id AND r.status = 'active'
        WHERE due.due_date < :today AND {area.where("p")}
    """
    params = {**area.params(), "today": today, "limit": limit, "offset": offset}
    types = {"today": Date, "ward": String, "province": String}
    count_sql = base.format(what="COUNT(*)")
    total = int(session.execute(_bound(count_sql, **types), _only(count_sql, params)).scalar() or 0)
    rows_sql = (
        base.format(
            what=f"""p.id, p.person_id, p.full_name, p.dob, p.ward_code, {_PHONE} AS phone,
            due.next_number, due.product_code, due.last_date, due.due_date"""
        )
        + " ORDER BY due.due_date, p.id LIMIT :limit OFFSET :offset"
    )
    rows = session.execute(_bound(rows_sql, **types), _only(rows_sql, params)).all()
    contacts = last_contacts(session, [r.id for r in rows])
    items = []
    for r in rows:
        due_date = as_date(r.due_date)
        items.append(
            {
                "person_id": r.person_id,
                "full_name": r.full_name,
                "dob": r.dob,
                "ward_code": r.ward_code,
                "phone": r.phone,
                "next_dose": r.next_number,
                "product": r.product_code,
                "last_dose_date": as_date(r.last_date).isoformat(),
                "due_date": due_date.isoformat(),
                "days_overdue": (today - due_date).days,
                "last_contact": contacts.get(r.id),
            }
        )
    audit(
        session, actor, "overdue.read", "person", None,
        {"ward_code": area.ward_code, "province_code": area.province_code, "rows": len(items)},
    )  # fmt: skip
    return {"total": total, "limit": limit, "offset": offset, "items": items}


def _only(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if f":{k}" in sql}


def last_contacts(session: Session, person_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The newest message to each person: when, what kind, to which number, its status."""
    if not person_ids:
        return {}
    keys = ", ".join(f":p{i}" for i in range(len(person_ids)))
    sql = f"""
        SELECT person_id, created_at, kind, status, phone FROM (
            SELECT m.person_id, m.created_at, m.kind, m.status, m.phone,
                   ROW_NUMBER() OVER (PARTITION BY m.person_id
                                      ORDER BY m.created_at DESC, m.id DESC) AS rn
            FROM messages m WHERE m.person_id IN ({keys})
        ) x WHERE rn = 1
    """
    rows = session.execute(text(sql), {f"p{i}": p for i, p in enumerate(person_ids)}).all()
    return {
        r.person_id: {
            "at": r.created_at if isinstance(r.created_at, str) else r.created_at.isoformat(),
            "kind": r.kind,
            "status": r.status,
            "phone": r.phone,
        }
        for r in rows
    }


#: the overdue list's columns in its XLSX: key and the two-language header
XLSX_COLUMNS = (
    ("person_id", "Mã người / Person id"),
    ("full_name", "Họ tên / Name"),
    ("dob", "Ngày sinh / Date of birth"),
    ("ward_code", "Mã xã / Ward"),
    ("phone", "Điện thoại / Phone"),
    ("next_dose", "Mũi tiếp theo / Next dose"),
    ("product", "Vắc xin / Product"),
    ("last_dose_date", "Mũi gần nhất / Last dose"),
    ("due_date", "Đến hạn / Due"),
    ("days_overdue", "Số ngày quá hạn / Days overdue"),
    ("last_contact_at", "Liên hệ gần nhất / Last contact"),
    ("last_contact_kind", "Loại tin / Kind"),
    ("last_contact_status", "Trạng thái tin / Message status"),
)


def overdue_workbook(
    session: Session, actor: Actor, today: date, *, ward_code: str | None = None
) -> tuple[bytes, int]:
    """The overdue list (up to ``MAX_EXPORT`` rows) as an .xlsx, and how many rows it holds."""
    listed = overdue(session, actor, today, ward_code=ward_code, limit=MAX_EXPORT)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Quá hạn"
    ws.append([h for _, h in XLSX_COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for item in listed["items"]:
        contact = item["last_contact"] or {}
        flat = {
            **item,
            "last_contact_at": contact.get("at"),
            "last_contact_kind": contact.get("kind"),
            "last_contact_status": contact.get("status"),
        }
        ws.append([flat.get(k) for k, _ in XLSX_COLUMNS])
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue(), len(listed["items"])


# -- the reminder run -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReminderRun:
    """What one run queued: texts to send, and those that never will (invalid, opted out)."""

    due: int
    queued: int
    not_sendable: int

    def as_dict(self) -> dict[str, int]:
        return {"due": self.due, "queued": self.queued, "not_sendable": self.not_sendable}


def run_reminders(
    session: Session, actor: Actor, today: date, days: int, *, ward_code: str | None = None
) -> ReminderRun:
    """Queue one reminder for each person of the area whose next dose falls due from
    ``GRACE_DAYS`` ago to ``days`` ahead and who has none queued for that dose yet."""
    if not 0 <= days <= 365:
        raise rule_error(
            "days", "out_of_range", "Số ngày nhắc trước phải từ 0 đến 365",
            "the days before must be 0 to 365",
        )  # fmt: skip
    area = area_for(session, actor, ward_code)
    sql = f"""
        WITH due AS ({_due_in(session, area)})
        SELECT p.id, p.ward_code, p.province_code, {_PHONE} AS phone,
               due.next_number, due.product_code, due.due_date
        FROM due JOIN persons p ON p.id = due.person_pk
        LEFT JOIN registrations r ON r.person_id = p.id AND r.status = 'active'
        WHERE due.due_date >= :since AND due.due_date <= :until AND {area.where("p")}
          AND {_PHONE} IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM messages m
                          WHERE m.dedupe_key = 'reminder:' || p.id || ':' || due.next_number)
        ORDER BY due.due_date, p.id
    """
    params = {
        **area.params(),
        "since": today - timedelta(days=GRACE_DAYS),
        "until": today + timedelta(days=days),
    }
    stmt = _bound(sql, since=Date, until=Date, ward=String, province=String)
    rows = session.execute(stmt, _only(sql, params)).all()
    template = current(session, "reminder")  # once per run, not per text
    texts = [
        Text(
            phone=r.phone,
            body=reminder_text(r.next_number, r.product_code, as_date(r.due_date), template),
            keep_accents=template.keep_accents or None,
            kind="reminder",
            ref_type="person",
            ref_id=r.id,
            dedupe_key=f"reminder:{r.id}:{r.next_number}",
            person_id=r.id,
            ward_code=r.ward_code,
            province_code=r.province_code,
            created_by=actor.user_id,
        )
        for r in rows
    ]
    answers = enqueue_many(session, texts)
    queued = sum(1 for q in answers if q.status == "queued")
    not_sendable = len(answers) - queued
    run = ReminderRun(len(rows), queued, not_sendable)
    audit(
        session, actor, "reminder.run", "messages", None,
        {**run.as_dict(), "days": days, "ward_code": area.ward_code,
         "province_code": area.province_code},
    )  # fmt: skip
    return run
