"""Vaccination sites: create, edit and close, for the CLI, the API and the web alike.

A site is where doses are given and stock is held. Its ward must be a 2021-scheme ward of the
administrative units (the codes the doses and the register carry), and its province is the
ward's: nobody types it twice. A site is closed, never deleted: its doses and stock movements
keep naming it, and a closed site refuses new doses (registry/doses/record.py) and new stock.

Who may: central anywhere, a province inside its province, a commune inside its ward; a site
user may not create or change sites. Every write is audited in the same transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tiemchung.registry.errors import (
    ServiceError,
    forbidden,
    not_found,
    role_not_allowed,
    rule_error,
)
from tiemchung.registry.models import AdminUnit, Site
from tiemchung.registry.scope import Actor, Role
from tiemchung.store.audit import audit

#: the kinds of site, with their words (the API's enum, the CLI's choices, the web's labels)
SITE_KINDS: dict[str, tuple[str, str]] = {
    "commune_health_station": ("Trạm y tế xã/phường", "commune health station"),
    "hospital": ("Bệnh viện", "hospital"),
    "mobile_team": ("Đội tiêm lưu động", "mobile team"),
    "workplace": ("Điểm tiêm tại nơi làm việc", "workplace"),
}
_SITE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,19}")
#: who may create, edit and close sites (the pages show their forms to these roles only)
MANAGERS = (Role.CENTRAL, Role.PROVINCE, Role.COMMUNE)


@dataclass(frozen=True)
class SiteChanges:
    """What an edit may change (None: leave as is). The ward moves the province with it."""

    name: str | None = None
    ward_code: str | None = None
    kind: str | None = None


def _may_manage(actor: Actor) -> None:
    if actor.role not in MANAGERS:
        raise role_not_allowed(
            "Chỉ cấp trung ương, tỉnh hoặc xã được quản lý điểm tiêm",
            "only central, province or commune users may manage sites",
        )


def _ward(session: Session, actor: Actor, ward_code: str) -> AdminUnit:
    unit = session.get(AdminUnit, ("2021", ward_code.strip()))
    if unit is None or unit.level != "ward":
        raise rule_error(
            "ward_code",
            "unknown_ward",
            f"Mã phường/xã '{ward_code}' không tồn tại (mã GSO 2021)",
            f"no ward with code '{ward_code}' (2021 GSO codes)",
        )
    if not actor.covers_area(unit.province_code, unit.code):
        raise forbidden(
            "ward_code", "Phường/xã nằm ngoài địa bàn của bạn", "this ward is outside your area"
        )
    return unit


def _kind(kind: str) -> str:
    if kind not in SITE_KINDS:
        raise rule_error(
            "kind",
            "unknown_kind",
            f"Loại điểm tiêm '{kind}' không hợp lệ; chọn một trong: {', '.join(SITE_KINDS)}",
            f"unknown site kind '{kind}'; one of: {', '.join(SITE_KINDS)}",
        )
    return kind


def _name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > 200:
        raise rule_error(
            "name",
            "invalid_name",
            "Tên điểm tiêm phải có từ 1 đến 200 ký tự",
            "the site name must have 1 to 200 characters",
        )
    return cleaned


def create_site(
    session: Session, actor: Actor, site_id: str, name: str, ward_code: str, kind: str
) -> Site:
    """A new active site in a ward of the caller's area; the caller commits."""
    _may_manage(actor)
    site_id = site_id.strip()
    if not _SITE_ID.fullmatch(site_id):
        raise rule_error(
            "site_id",
            "invalid_site_id",
            "Mã điểm tiêm gồm 1–20 chữ cái, chữ số, '.', '_' hoặc '-'",
            "a site ID has 1-20 letters, digits, '.', '_' or '-'",
        )
    problems: list[ServiceError] = []
    clean_name, unit, clean_kind = None, None, None
    for check in ("name", "ward", "kind"):
        try:
            if check == "name":
                clean_name = _name(name)
            elif check == "ward":
                unit = _ward(session, actor, ward_code)
            else:
                clean_kind = _kind(kind)
        except ServiceError as exc:
            problems.append(exc)
    if problems:
        first = problems[0]
        if len(problems) > 1 and all(p.status == 422 for p in problems):
            raise ServiceError(422, first.title, [x for p in problems for x in p.problems])
        raise first
    assert clean_name is not None and unit is not None and clean_kind is not None
    if session.get(Site, site_id) is not None:
        raise rule_error(
            "site_id",
            "site_exists",
            f"Đã có điểm tiêm mã {site_id}",
            f"a site with ID {site_id} already exists",
            status=409,
        )
    site = Site(
        site_id=site_id,
        name=clean_name,
        ward_code=unit.code,
        province_code=unit.province_code,
        kind=clean_kind,
        active=True,
    )
    session.add(site)
    session.flush()
    audit(session, actor, "site.create", "site", site_id, _detail(site))
    return site


def _visible_site(session: Session, actor: Actor, site_id: str) -> Site:
    site = session.scalar(select(Site).where(Site.site_id == site_id, actor.site_filter()))
    if site is None:
        raise not_found("site_id", f"điểm tiêm {site_id}", f"site {site_id}")
    return site


def update_site(session: Session, actor: Actor, site_id: str, changes: SiteChanges) -> Site:
    """Change a site's name, ward or kind (a closed site too: its record may need fixing)."""
    _may_manage(actor)
    site = _visible_site(session, actor, site_id)
    before = _detail(site)
    if changes.name is not None:
        site.name = _name(changes.name)
    if changes.kind is not None:
        site.kind = _kind(changes.kind)
    if changes.ward_code is not None:
        unit = _ward(session, actor, changes.ward_code)
        site.ward_code, site.province_code = unit.code, unit.province_code
    after = _detail(site)
    if after != before:
        session.flush()
        changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
        audit(session, actor, "site.update", "site", site_id, changed)
    return site


def close_site(session: Session, actor: Actor, site_id: str) -> Site:
    """Close a site: no new doses or stock there; its records stay. Closing twice is no-op."""
    _may_manage(actor)
    site = _visible_site(session, actor, site_id)
    if site.active:
        site.active = False
        session.flush()
        audit(session, actor, "site.close", "site", site_id, None)
    return site


def _detail(site: Site) -> dict[str, str | bool]:
    return {
        "name": site.name,
        "ward_code": site.ward_code,
        "province_code": site.province_code,
        "kind": site.kind,
        "active": bool(site.active),
    }


@dataclass(frozen=True)
class WardChoice:
    """A ward a site may be placed in, as a form offers it: code, name and its district's
    name (ward names repeat across districts: "Phường 1" is in many)."""

    code: str
    name: str
    district: str


def area_wards(
    session: Session, actor: Actor, province_code: str | None = None
) -> list[WardChoice]:
    """The 2021 wards a caller may place a site in, by district then name: a commune its
    ward, a province its province's, central one province's when asked (all ten thousand
    would be no choice at all: central types a code or picks a province first). Nobody
    else manages sites, so nobody else is offered a ward."""
    if actor.role is Role.COMMUNE:
        where = AdminUnit.code == (actor.ward_code or "")
    elif actor.role is Role.PROVINCE:
        where = AdminUnit.province_code == (actor.province_code or "")
    elif actor.role is Role.CENTRAL and province_code:
        where = AdminUnit.province_code == province_code
    else:
        return []
    wards = list(
        session.scalars(
            select(AdminUnit).where(AdminUnit.scheme == "2021", AdminUnit.level == "ward", where)
        )
    )
    parents = {w.parent_code for w in wards if w.parent_code}
    districts = (
        {
            u.code: u.name
            for u in session.scalars(
                select(AdminUnit).where(AdminUnit.scheme == "2021", AdminUnit.code.in_(parents))
            )
        }
        if parents
        else {}
    )
    found = [WardChoice(w.code, w.name, districts.get(w.parent_code or "", "")) for w in wards]
    return sorted(found, key=lambda w: (w.district, w.name, w.code))


@dataclass(frozen=True)
class SiteRow:
    """A site as the sites page lists it, with its ward's name."""

    site_id: str
    name: str
    kind: str
    ward_code: str
    ward_name: str
    province_code: str
    active: bool


def site_rows(session: Session, actor: Actor) -> list[SiteRow]:
    """The sites of the caller's area (open and closed), by site ID, with their wards'
    names: what the sites page lists (a site user its own site)."""
    rows = session.execute(
        select(Site, AdminUnit.name)
        .outerjoin(AdminUnit, (AdminUnit.scheme == "2021") & (AdminUnit.code == Site.ward_code))
        .where(actor.site_filter())
        .order_by(Site.site_id)
    ).all()
    return [
        SiteRow(
            x.site_id,
            x.name,
            x.kind,
            x.ward_code,
            ward or "",
            x.province_code,
            bool(x.active),
        )
        for x, ward in rows
    ]
