"""Session planning: a site plans, opens, closes (or cancels) its vaccination sessions.

One service for the CLI (``tiemchung sessions``), the API (``/sessions``) and the pages, so
the rules live here once:

- who may: a site user for its own site, a commune or province for the sites of its area,
  central anywhere (``Actor.session_filter``); a session outside the area is not found;
- a plan names the day (today or later), the products (each known), the lots (of those
  products, not expired on the day, with stock at the site when the lot is tracked), time
  slots (``HH:MM-HH:MM`` with a capacity each, not overlapping), the total capacity (the
  slots' sum when both are given), the groups invited (free codes until the registration
  issue defines priority groups) and the team (names and roles);
- statuses: planned → open → closed, and planned → cancelled; a session opens on its day
  only, and one session per site per day is open unless the site allowed a parallel one;
- closing reconciles: the doses recorded in the session, the doses drawn from opened vials
  (the closer's count), the wastage recorded against it (``stock.record_wastage``) and the
  difference; the figures are stored on the session and written in the audit event.

The dose path refuses a session that is not open (``registry/doses/record.py``) and the desk
offers only today's open sessions (``reference.todays_sessions``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tiemchung.registry.catalog.stock import STAFF, WASTED, on_hand
from tiemchung.registry.errors import (
    ServiceError,
    not_found,
    role_not_allowed,
    rule_error,
)
from tiemchung.registry.models import Dose, Lot, Product, Site, StockMovement, VaccinationSession
from tiemchung.registry.scope import Actor
from tiemchung.store.audit import audit

PLANNED, OPEN, CLOSED, CANCELLED = "planned", "open", "closed", "cancelled"
STATUSES = (PLANNED, OPEN, CLOSED, CANCELLED)
#: the words of each status (CLI, API descriptions, pages)
STATUS_WORDS: dict[str, tuple[str, str]] = {
    PLANNED: ("Đã lên kế hoạch", "planned"),
    OPEN: ("Đang mở", "open"),
    CLOSED: ("Đã đóng", "closed"),
    CANCELLED: ("Đã huỷ", "cancelled"),
}
_SLOT = re.compile(r"^\s*([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-3]):([0-5]\d)\s*$")
_GROUP = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
#: the most people one session may plan for (a typo of zeros too many is refused)
MAX_CAPACITY = 100_000
_NOT_A_DOSE_GIVEN = "duplicate"


@dataclass(frozen=True)
class TimeSlot:
    """One slot of a session: ``start``-``end`` (HH:MM) and how many people it takes."""

    start: str
    end: str
    capacity: int

    def as_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "capacity": self.capacity}


@dataclass(frozen=True)
class TeamMember:
    """Someone of the vaccinating team: a name and a role (free words: nurse, doctor...)."""

    name: str
    role: str = ""


@dataclass(frozen=True)
class SessionPlan:
    """What a site plans; ``capacity`` may be left out when slots are given (their sum)."""

    site_id: str
    session_date: date
    products: list[str]
    lot_numbers: list[str] = field(default_factory=list)
    time_slots: list[TimeSlot] = field(default_factory=list)
    capacity: int | None = None
    groups: list[str] = field(default_factory=list)
    team: list[TeamMember] = field(default_factory=list)
    allow_parallel: bool = False


def parse_slot(text: str, capacity: int) -> TimeSlot:
    """A slot typed ``07:30-11:00`` with its capacity (the CLI's ``07:30-11:00=60``)."""
    m = _SLOT.match(text)
    if m is None:
        raise rule_error(
            "time_slots",
            "invalid_slot",
            f"Khung giờ '{text}' phải có dạng GG:PP-GG:PP, ví dụ 07:30-11:00",
            f"time slot '{text}' must look like HH:MM-HH:MM, e.g. 07:30-11:00",
        )
    return TimeSlot(f"{m[1]}:{m[2]}", f"{m[3]}:{m[4]}", capacity)


def parse_slot_spec(text: str) -> TimeSlot:
    """A slot as the CLI and the planning page take it: ``07:30-11:00=60``."""
    hours, _, capacity = text.partition("=")
    if not capacity.strip().isdigit():
        raise rule_error(
            "time_slots",
            "invalid_slot",
            f"Khung giờ '{text}' cần số người, ví dụ 07:30-11:00=60",
            f"time slot '{text}' needs its capacity, e.g. 07:30-11:00=60",
        )
    return parse_slot(hours, int(capacity))


def parse_member(text: str) -> TeamMember:
    """A team member as typed: ``Name:role`` (the role may be left out)."""
    name, _, role = text.partition(":")
    return TeamMember(name.strip(), role.strip())


def _may_plan(actor: Actor) -> None:
    if actor.role not in STAFF:
        raise role_not_allowed(
            "Chỉ cán bộ y tế được lập kế hoạch buổi tiêm",
            "only health staff may plan sessions",
        )


def _check_slots(slots: list[TimeSlot]) -> None:
    seen: list[TimeSlot] = []
    for i, slot in enumerate(slots, 1):
        parse_slot(f"{slot.start}-{slot.end}", slot.capacity)
        if slot.start >= slot.end:
            raise rule_error(
                f"time_slots[{i}]",
                "slot_order",
                f"Khung giờ {i} ({slot.start}-{slot.end}): giờ bắt đầu phải trước giờ kết thúc",
                f"time slot {i} ({slot.start}-{slot.end}): the start must be before the end",
            )
        if not 1 <= slot.capacity <= MAX_CAPACITY:
            raise rule_error(
                f"time_slots[{i}]",
                "out_of_range",
                f"Khung giờ {i}: số người phải từ 1 đến {MAX_CAPACITY}",
                f"time slot {i}: the capacity must be 1 to {MAX_CAPACITY}",
            )
        for other in seen:
            if slot.start < other.end and other.start < slot.end:
                raise rule_error(
                    f"time_slots[{i}]",
                    "slot_overlap",
                    f"Khung giờ {slot.start}-{slot.end} trùng với {other.start}-{other.end}",
                    f"time slot {slot.start}-{slot.end} overlaps {other.start}-{other.end}",
                )
        seen.append(slot)


def _capacity(plan: SessionPlan) -> int:
    total = sum(s.capacity for s in plan.time_slots)
    if plan.capacity is None:
        if not plan.time_slots:
            raise rule_error(
                "capacity",
                "capacity_missing",
                "Cần số người dự kiến của buổi tiêm hoặc các khung giờ kèm số người",
                "give the session's capacity or time slots with their capacity",
            )
        return total
    if not 1 <= plan.capacity <= MAX_CAPACITY:
        raise rule_error(
            "capacity",
            "out_of_range",
            f"Số người dự kiến phải từ 1 đến {MAX_CAPACITY}",
            f"the capacity must be 1 to {MAX_CAPACITY}",
        )
    if plan.time_slots and plan.capacity != total:
        raise rule_error(
            "capacity",
            "capacity_mismatch",
            f"Số người dự kiến ({plan.capacity}) khác tổng các khung giờ ({total})",
            f"the capacity ({plan.capacity}) differs from the time slots' total ({total})",
        )
    return plan.capacity


def _products(session: Session, codes: list[str]) -> list[str]:
    wanted = list(dict.fromkeys(c.strip().upper() for c in codes if c.strip()))
    if not wanted:
        raise rule_error(
            "products",
            "products_missing",
            "Buổi tiêm cần ít nhất một loại vắc xin",
            "a session needs at least one product",
        )
    known = set(session.scalars(select(Product.code).where(Product.code.in_(wanted))))
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise rule_error(
            "products",
            "unknown_product",
            f"Không có loại vắc xin mã {', '.join(unknown)} trong danh mục",
            f"no product with code {', '.join(unknown)} in the catalogue",
        )
    return wanted


def _lots(session: Session, plan: SessionPlan, products: list[str]) -> list[str]:
    numbers = list(dict.fromkeys(n.strip() for n in plan.lot_numbers if n.strip()))
    for number in numbers:
        lot = session.scalar(
            select(Lot)
            .where(Lot.lot_number == number, Lot.product_code.in_(products))
            .order_by(Lot.expiry.desc())
        )
        if lot is None:
            raise rule_error(
                "lot_numbers",
                "unknown_lot",
                f"Lô {number} không phải lô của vắc xin đã chọn ({', '.join(products)})",
                f"lot {number} is not a lot of the products chosen ({', '.join(products)})",
            )
        if lot.expiry < plan.session_date:
            raise rule_error(
                "lot_numbers",
                "lot_expired",
                f"Lô {number} hết hạn ngày {lot.expiry:%d/%m/%Y}, trước ngày tiêm",
                f"lot {number} expires on {lot.expiry:%Y-%m-%d}, before the session's day",
            )
        left = on_hand(session, lot.id, plan.site_id)
        if left is not None and left <= 0:
            raise rule_error(
                "lot_numbers",
                "no_stock",
                f"Lô {number} không còn liều nào tại điểm tiêm {plan.site_id}",
                f"lot {number} has no doses left at site {plan.site_id}",
                status=409,
            )
    return numbers


def _groups(codes: list[str]) -> list[str]:
    cleaned = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
    for code in cleaned:
        if not _GROUP.fullmatch(code):
            raise rule_error(
                "groups",
                "invalid_group",
                f"Mã nhóm '{code}' chỉ gồm 1–40 chữ cái, chữ số, '.', '_' hoặc '-'",
                f"group code '{code}' must be 1-40 letters, digits, '.', '_' or '-'",
            )
    return cleaned


def _team(members: list[TeamMember]) -> list[dict[str, str]]:
    team = []
    for i, m in enumerate(members, 1):
        name, role = " ".join(m.name.split()), " ".join(m.role.split())
        if not name or len(name) > 200 or len(role) > 100:
            raise rule_error(
                f"team[{i}]",
                "invalid_member",
                f"Thành viên {i} của đội tiêm cần tên (1–200 ký tự), vai trò tối đa 100 ký tự",
                f"team member {i} needs a name (1-200 characters), a role of at most 100",
            )
        team.append({"name": name, "role": role})
    return team


def plan_session(
    session: Session, actor: Actor, plan: SessionPlan, today: date
) -> VaccinationSession:
    """A new planned session at a site of the caller's area; the caller commits; audited."""
    _may_plan(actor)
    site = session.scalar(select(Site).where(Site.site_id == plan.site_id, actor.site_filter()))
    if site is None or (actor.site_id is not None and site.site_id != actor.site_id):
        raise not_found("site_id", f"điểm tiêm {plan.site_id}", f"site {plan.site_id}")
    if not site.active:
        raise rule_error(
            "site_id",
            "site_closed",
            f"Điểm tiêm {site.site_id} đã đóng, không lập kế hoạch được",
            f"site {site.site_id} is closed: no session can be planned there",
            status=409,
        )
    if plan.session_date < today:
        raise rule_error(
            "session_date",
            "date_in_past",
            f"Ngày tiêm {plan.session_date:%d/%m/%Y} đã qua",
            f"the session's day {plan.session_date:%Y-%m-%d} is in the past",
        )
    products = _products(session, plan.products)
    _check_slots(plan.time_slots)
    capacity = _capacity(plan)
    lots = _lots(session, plan, products)
    vs = VaccinationSession(
        site_id=site.site_id,
        session_date=plan.session_date,
        product_code=products[0],
        planned_count=capacity,
        status=PLANNED,
        products=products,
        lot_numbers=lots,
        time_slots=[s.as_dict() for s in plan.time_slots],
        groups=_groups(plan.groups),
        team=_team(plan.team),
        allow_parallel=plan.allow_parallel,
    )
    session.add(vs)
    session.flush()
    audit(session, actor, "session.plan", "session", vs.id, session_detail(vs))
    return vs


def _visible(session: Session, actor: Actor, session_id: int) -> VaccinationSession:
    vs = session.scalar(
        select(VaccinationSession).where(
            VaccinationSession.id == session_id, actor.session_filter()
        )
    )
    if vs is None:
        raise not_found("session_id", f"buổi tiêm {session_id}", f"session {session_id}")
    return vs


def _wrong_status(
    vs: VaccinationSession, wanted: str, doing_vi: str, doing_en: str
) -> ServiceError:
    vi, en = STATUS_WORDS.get(vs.status, (vs.status, vs.status))
    want_vi, want_en = STATUS_WORDS[wanted]
    return rule_error(
        "status",
        "wrong_status",
        f"Buổi tiêm {vs.id} đang ở trạng thái '{vi}': chỉ {doing_vi} buổi tiêm '{want_vi}'",
        f"session {vs.id} is {en}: only a {want_en} session can be {doing_en}",
        status=409,
    )


def open_session(
    session: Session, actor: Actor, session_id: int, today: date, *, parallel: bool = False
) -> VaccinationSession:
    """Open a planned session on its day; a second open one at the site that day is refused
    unless the site allows it (``parallel`` now, or ``allow_parallel`` in the plan)."""
    _may_plan(actor)
    vs = _visible(session, actor, session_id)
    if vs.status != PLANNED:
        raise _wrong_status(vs, PLANNED, "mở được", "opened")
    if vs.session_date != today:
        raise rule_error(
            "session_date",
            "not_today",
            f"Buổi tiêm {vs.id} là ngày {vs.session_date:%d/%m/%Y}: chỉ mở được vào đúng ngày",
            f"session {vs.id} is on {vs.session_date:%Y-%m-%d}: it opens on its day only",
            status=409,
        )
    if not (parallel or vs.allow_parallel):
        other = session.scalar(
            select(VaccinationSession.id).where(
                VaccinationSession.site_id == vs.site_id,
                VaccinationSession.session_date == vs.session_date,
                VaccinationSession.status == OPEN,
            )
        )
        if other is not None:
            raise rule_error(
                "status",
                "already_open",
                f"Điểm tiêm {vs.site_id} đã có buổi tiêm {other} đang mở hôm nay; "
                "đóng buổi đó hoặc cho phép mở song song",
                f"site {vs.site_id} already has session {other} open today; close it "
                "or allow a parallel session",
                status=409,
            )
    if parallel:
        vs.allow_parallel = True
    vs.status = OPEN
    vs.opened_at = datetime.now(UTC)
    session.flush()
    audit(session, actor, "session.open", "session", vs.id, {"site_id": vs.site_id})
    return vs


def cancel_session(session: Session, actor: Actor, session_id: int) -> VaccinationSession:
    """Cancel a planned session (one already open is closed instead: doses may name it)."""
    _may_plan(actor)
    vs = _visible(session, actor, session_id)
    if vs.status != PLANNED:
        raise _wrong_status(vs, PLANNED, "huỷ được", "cancelled")
    vs.status = CANCELLED
    session.flush()
    audit(session, actor, "session.cancel", "session", vs.id, {"site_id": vs.site_id})
    return vs


@dataclass(frozen=True)
class Reconciliation:
    """A session's figures at closing; ``difference`` = opened − recorded − wasted (None
    when the closer did not count the doses opened)."""

    recorded: int
    wasted: int
    opened: int | None
    by_lot: dict[str, dict[str, int]]

    @property
    def difference(self) -> int | None:
        return None if self.opened is None else self.opened - self.recorded - self.wasted

    def as_dict(self) -> dict[str, Any]:
        return {
            "recorded": self.recorded,
            "wasted": self.wasted,
            "opened": self.opened,
            "difference": self.difference,
            "by_lot": self.by_lot,
        }


def reconciliation(session: Session, vs: VaccinationSession, opened: int | None) -> Reconciliation:
    """The doses recorded in the session and wasted against it, per lot number."""
    by_lot: dict[str, dict[str, int]] = {}
    recorded = session.execute(
        select(Lot.lot_number, func.count())
        .select_from(Dose)
        .outerjoin(Lot, Lot.id == Dose.lot_id)
        .where(Dose.session_id == vs.id, Dose.status != _NOT_A_DOSE_GIVEN)
        .group_by(Lot.lot_number)
    ).all()
    for number, count in recorded:
        by_lot.setdefault(number or "", {"recorded": 0, "wasted": 0})["recorded"] = int(count)
    wasted = session.execute(
        select(Lot.lot_number, func.sum(StockMovement.quantity))
        .join(Lot, Lot.id == StockMovement.lot_id)
        .where(StockMovement.session_id == vs.id, StockMovement.kind == WASTED)
        .group_by(Lot.lot_number)
    ).all()
    for number, quantity in wasted:
        by_lot.setdefault(number, {"recorded": 0, "wasted": 0})["wasted"] = int(quantity or 0)
    return Reconciliation(
        recorded=sum(v["recorded"] for v in by_lot.values()),
        wasted=sum(v["wasted"] for v in by_lot.values()),
        opened=opened,
        by_lot=dict(sorted(by_lot.items())),
    )


def close_session(
    session: Session, actor: Actor, session_id: int, *, opened: int | None = None
) -> tuple[VaccinationSession, Reconciliation]:
    """Close an open session and reconcile it: the figures are stored and audited."""
    _may_plan(actor)
    vs = _visible(session, actor, session_id)
    if vs.status != OPEN:
        raise _wrong_status(vs, OPEN, "đóng được", "closed")
    if opened is not None and not 0 <= opened <= MAX_CAPACITY * 10:
        raise rule_error(
            "opened",
            "out_of_range",
            "Số liều đã mở phải là số không âm",
            "the doses opened must be a number of at least 0",
        )
    rec = reconciliation(session, vs, opened)
    vs.status = CLOSED
    vs.closed_at = datetime.now(UTC)
    vs.closing = rec.as_dict()
    session.flush()
    audit(
        session, actor, "session.close", "session", vs.id, {"site_id": vs.site_id, **rec.as_dict()}
    )
    return vs, rec


def session_detail(vs: VaccinationSession) -> dict[str, Any]:
    """A session as the API, the CLI and the audit log show it."""
    return {
        "id": vs.id,
        "site_id": vs.site_id,
        "session_date": vs.session_date.isoformat(),
        "status": vs.status,
        "products": list(vs.products or [vs.product_code]),
        "lot_numbers": list(vs.lot_numbers or []),
        "time_slots": list(vs.time_slots or []),
        "capacity": vs.planned_count,
        "groups": list(vs.groups or []),
        "team": list(vs.team or []),
        "allow_parallel": bool(vs.allow_parallel),
        "closing": vs.closing,
    }


def get_session(session: Session, actor: Actor, session_id: int) -> VaccinationSession:
    """One session of the caller's area (404 outside it, as for none)."""
    return _visible(session, actor, session_id)
