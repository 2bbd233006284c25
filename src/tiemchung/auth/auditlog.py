"""Reading the audit log (issue 17): search by user, person, action and date, a page at a
time, and the same search as CSV. One service for ``GET /api/v1/audit`` and the audit page.

It lives in ``auth/`` beside the users it is mostly about: ``store/audit.py`` only appends
(one home for writing an event), and the reading crosses capabilities (users, persons and
their doses), which a shared-serving module above them all may do.

Who may read: province and central users only. An event's area is its author's: a province
reads the events of users of its province; events with no user (the command line, a failed
sign-in under an unknown name) carry no area and only central reads them; a partner client's
reads (``client:<client_id>``, no user) belong to the client's province. Reading the log is
itself audited (``audit.search``, ``audit.export``), since it names persons.

Pages go newest first by keyset (``before``: the smallest id of the page just read), so a
page costs the same however deep it is and rows written meanwhile never shift a page.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, String, and_, cast, false, literal, or_, select, true
from sqlalchemy.orm import Session

from tiemchung.registry.errors import role_not_allowed, rule_error
from tiemchung.registry.models import AuditEvent, Dose, Person, User
from tiemchung.registry.scope import Actor, Role
from tiemchung.registry.tables.changes import ApiClient
from tiemchung.store.audit import audit

MAX_PAGE = 500
CSV_COLUMNS = ("id", "at", "username", "user_id", "action", "entity", "entity_id", "detail")


@dataclass(frozen=True)
class AuditQuery:
    """A search of the log; every field optional. ``action`` matches an action exactly or,
    without a dot, a family (``user`` matches ``user.create``, ``user.disable`` …);
    ``since``/``until`` are days on the platform's clock, both included."""

    username: str | None = None
    person_id: str | None = None
    action: str | None = None
    since: date | None = None
    until: date | None = None

    def __post_init__(self) -> None:
        if self.since and self.until and self.since > self.until:
            raise rule_error(
                "until",
                "range_reversed",
                "Ngày kết thúc trước ngày bắt đầu",
                "the end date is before the start date",
            )


def _reach(actor: Actor) -> ColumnElement[bool]:
    if actor.role is Role.CENTRAL:
        return true()
    if actor.role is Role.PROVINCE and actor.province_code:
        authors = select(User.id).where(User.province_code == actor.province_code)
        # a partner client of the province acts as ``client:<client_id>`` (auth/clients.py)
        partners = select(literal("client:") + ApiClient.client_id).where(
            ApiClient.province_code == actor.province_code
        )
        return or_(AuditEvent.user_id.in_(authors), AuditEvent.username.in_(partners))
    return false()


def _require_reader(actor: Actor) -> None:
    if actor.role not in (Role.CENTRAL, Role.PROVINCE):
        raise role_not_allowed(
            "Chỉ cán bộ tỉnh hoặc trung ương được xem nhật ký",
            "only province and central users read the audit log",
        )


def _day_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tz).astimezone(UTC)


def _conditions(q: AuditQuery, tz: ZoneInfo) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if q.username:
        found.append(AuditEvent.username == q.username)
    if q.action:
        if "." in q.action:
            found.append(AuditEvent.action == q.action)
        else:
            found.append(AuditEvent.action.startswith(q.action + ".", autoescape=True))
    if q.person_id:
        person_pk = select(Person.id).where(Person.person_id == q.person_id).scalar_subquery()
        doses = select(cast(Dose.id, String)).where(Dose.person_pk == person_pk)
        found.append(
            or_(
                and_(AuditEvent.entity == "person", AuditEvent.entity_id == q.person_id),
                and_(AuditEvent.entity == "dose", AuditEvent.entity_id.in_(doses)),
            )
        )
    if q.since:
        found.append(AuditEvent.at >= _day_start(q.since, tz))
    if q.until:
        found.append(AuditEvent.at < _day_start(q.until + timedelta(days=1), tz))
    return found


def _row(e: AuditEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": e.at if e.at.tzinfo else e.at.replace(tzinfo=UTC),
        "username": e.username,
        "user_id": e.user_id,
        "action": e.action,
        "entity": e.entity,
        "entity_id": e.entity_id,
        "detail": e.detail,
    }


def _page(
    session: Session, actor: Actor, q: AuditQuery, tz: ZoneInfo, before: int | None, limit: int
) -> tuple[list[dict[str, Any]], int | None]:
    query = select(AuditEvent).where(_reach(actor), *_conditions(q, tz))
    if before is not None:
        query = query.where(AuditEvent.id < before)
    events = list(session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit + 1)))
    more = len(events) > limit
    events = events[:limit]
    return [_row(e) for e in events], (events[-1].id if more and events else None)


def search_audit(
    session: Session,
    actor: Actor,
    q: AuditQuery,
    *,
    tz: ZoneInfo,
    before: int | None = None,
    limit: int = 100,
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of matching events, newest first, and the ``before`` of the next page (None
    on the last). Audited as ``audit.search`` with the query (in the caller's transaction)."""
    _require_reader(actor)
    items, next_before = _page(session, actor, q, tz, before, max(1, min(limit, MAX_PAGE)))
    audit(session, actor, "audit.search", "audit_log", None, _query_detail(q))
    return items, next_before


def _query_detail(q: AuditQuery) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(q).items() if v}


def start_export(session: Session, actor: Actor, q: AuditQuery) -> None:
    """Check the caller may export and audit the export (``audit.export``): called in a
    write before :func:`export_csv` streams the rows."""
    _require_reader(actor)
    audit(session, actor, "audit.export", "audit_log", None, _query_detail(q))


def export_csv(
    session: Session, actor: Actor, q: AuditQuery, *, tz: ZoneInfo, chunk: int = 2000
) -> Iterator[str]:
    """Every matching event as CSV (a header, then newest first), a chunk of rows at a time
    so that a year of the log never sits in memory. Times in the platform's zone, ISO 8601."""
    _require_reader(actor)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    before: int | None = None
    while True:
        rows, before = _page(session, actor, q, tz, before, chunk)
        for r in rows:
            detail = json.dumps(r["detail"], ensure_ascii=False) if r["detail"] else ""
            at = r["at"].astimezone(tz).isoformat()
            entity = (r["entity"], r["entity_id"], detail)
            writer.writerow((r["id"], at, r["username"], r["user_id"], r["action"], *entity))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if before is None:
            return
