"""A province's planned session capacity against the population due, per commune.

*Population due* is what the statistics service already counts: the register persons of the
ward (``registered``, the coverage denominator) less those who completed the primary series
(``full``), read from the coverage table of the current snapshot
(``stats.reads.read_table(..., "coverage")``) rather than counted again here. The snapshot may
be a few minutes old; its freshness is returned beside the rows. *Planned capacity* is the
sum of the capacities of the sessions planned, open or closed (not cancelled) at the ward's
sites between the two days.

Who may: province (its own) and central. Refused here, by role: the statistics service now
also serves communes and sites (each pinned to its own ward), and a commune's view of one
ward is no province's plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tiemchung.registry.catalog.sessions import CANCELLED
from tiemchung.registry.errors import role_not_allowed, rule_error
from tiemchung.registry.models import Site, VaccinationSession
from tiemchung.registry.scope import Actor, Role
from tiemchung.stats.filters import Filters
from tiemchung.stats.reads import read_table

#: what "population due" is made of, said beside the figures
SOURCE = (
    "statistics coverage (current snapshot): register persons − persons with the full "
    "primary series / thống kê độ bao phủ: người trong sổ dân cư − người đủ liều cơ bản"
)
#: the longest range one question may span (a year of sessions per commune)
MAX_DAYS = 366


@dataclass(frozen=True)
class CommuneCapacity:
    """One commune (ward): its sessions and capacity in the range, and its population due."""

    ward_code: str
    ward_name: str | None
    sessions: int
    capacity: int
    registered: int
    fully_vaccinated: int

    @property
    def due(self) -> int:
        return max(self.registered - self.fully_vaccinated, 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ward_code": self.ward_code,
            "ward_name": self.ward_name,
            "sessions": self.sessions,
            "capacity": self.capacity,
            "registered": self.registered,
            "fully_vaccinated": self.fully_vaccinated,
            "due": self.due,
            "capacity_minus_due": self.capacity - self.due,
        }


def planned_capacity(
    session: Session, actor: Actor, province_code: str, date_from: date, date_to: date
) -> dict[str, tuple[int, int]]:
    """(sessions, capacity) per ward of the province's sites in the range (not cancelled)."""
    rows = session.execute(
        select(Site.ward_code, func.count(), func.sum(VaccinationSession.planned_count))
        .join(Site, Site.site_id == VaccinationSession.site_id)
        .where(
            actor.session_filter(),
            Site.province_code == province_code,
            VaccinationSession.session_date >= date_from,
            VaccinationSession.session_date <= date_to,
            VaccinationSession.status != CANCELLED,
        )
        .group_by(Site.ward_code)
    ).all()
    return {ward: (int(n), int(cap or 0)) for ward, n, cap in rows}


def capacity_vs_due(
    platform: Any,
    session: Session,
    actor: Actor,
    province_code: str | None,
    date_from: date,
    date_to: date,
    today: date,
) -> tuple[str, list[CommuneCapacity], dict[str, Any]]:
    """The province (a province user's own when not given), its communes' rows (every ward
    with register persons or sessions, by code) and the snapshot's freshness."""
    if actor.role not in (Role.PROVINCE, Role.CENTRAL):
        raise role_not_allowed(
            "Chỉ cấp tỉnh và trung ương xem công suất so với số người cần tiêm",
            "only a province or central user sees capacity against the population due",
        )
    if date_from > date_to:
        raise rule_error(
            "date_from",
            "range",
            "Ngày bắt đầu sau ngày kết thúc",
            "the start date is after the end date",
        )
    if (date_to - date_from).days >= MAX_DAYS:
        raise rule_error(
            "date_to",
            "range_too_long",
            f"Khoảng ngày tối đa {MAX_DAYS} ngày",
            f"the range may span at most {MAX_DAYS} days",
        )
    if province_code is None and actor.province_code is None:
        raise rule_error(
            "province_code",
            "missing",
            "Cần mã tỉnh (province_code)",
            "give the province's code (province_code)",
        )
    table, fresh, applied = read_table(
        platform, actor, "coverage", Filters(province=province_code or actor.province_code), today
    )
    province = str(applied.province)
    planned = planned_capacity(session, actor, province, date_from, date_to)
    rows: dict[str, CommuneCapacity] = {}
    for r in table.rows:
        if not r.get("code"):  # persons of no known ward: no commune to plan for
            continue
        n, cap = planned.get(r["code"], (0, 0))
        rows[r["code"]] = CommuneCapacity(
            r["code"], r.get("name"), n, cap, int(r["registered"]), int(r["full"])
        )
    for ward, (n, cap) in planned.items():
        if ward not in rows:
            rows[ward] = CommuneCapacity(ward, None, n, cap, 0, 0)
    return province, [rows[k] for k in sorted(rows)], fresh
