"""Sites, products (with lots) and sessions, scoped to the caller's area."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func, select

from tiemchung.api.deps import CurrentActor, ReadSession, require_roles
from tiemchung.api.problems import ERROR_RESPONSES as _ERRORS
from tiemchung.api.schemas import LotPublic, Page, ProductPublic, SessionPublic, SitePublic
from tiemchung.registry.errors import not_found
from tiemchung.registry.models import Lot, Product, Site, VaccinationSession
from tiemchung.registry.scope import Role
from tiemchung.serving.types import Offset

router = APIRouter(tags=["reference"])
_STAFF = (Role.CENTRAL, Role.PROVINCE, Role.COMMUNE, Role.SITE)


@router.get("/sites", response_model=Page[SitePublic], responses=_ERRORS)
def list_sites(
    actor: CurrentActor,
    session: ReadSession,
    ward_code: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> Page[SitePublic]:
    require_roles(actor, *_STAFF)
    stmt = select(Site).where(actor.site_filter())
    if ward_code:
        stmt = stmt.where(Site.ward_code == ward_code)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Site.site_id).limit(limit).offset(offset)).all()
    return Page[SitePublic](
        items=[SitePublic.model_validate(r) for r in rows], total=total, limit=limit, offset=offset
    )


@router.get("/sites/{site_id}", response_model=SitePublic, responses=_ERRORS)
def read_site(site_id: str, actor: CurrentActor, session: ReadSession) -> SitePublic:
    require_roles(actor, *_STAFF)
    site = session.scalar(select(Site).where(Site.site_id == site_id, actor.site_filter()))
    if site is None:
        raise not_found("site_id", "điểm tiêm", "site")
    return SitePublic.model_validate(site)


@router.get("/products", response_model=list[ProductPublic], responses=_ERRORS)
def list_products(actor: CurrentActor, session: ReadSession) -> list[ProductPublic]:
    """Vaccine products with their EU DCC codes and lots: reference data every role may read."""
    lots: dict[str, list[LotPublic]] = {}
    for lot in session.scalars(select(Lot).order_by(Lot.expiry)):
        lots.setdefault(lot.product_code, []).append(LotPublic.model_validate(lot))
    return [
        ProductPublic.model_validate(p).model_copy(update={"lots": lots.get(p.code, [])})
        for p in session.scalars(select(Product).order_by(Product.code))
    ]


@router.get("/sessions", response_model=Page[SessionPublic], responses=_ERRORS)
def list_sessions(
    actor: CurrentActor,
    session: ReadSession,
    site_id: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> Page[SessionPublic]:
    """Planned sessions at the sites of the caller's area."""
    require_roles(actor, *_STAFF)
    stmt = select(VaccinationSession).where(actor.session_filter())
    if site_id:
        stmt = stmt.where(VaccinationSession.site_id == site_id)
    if date_from:
        stmt = stmt.where(VaccinationSession.session_date >= date_from)
    if date_to:
        stmt = stmt.where(VaccinationSession.session_date <= date_to)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(VaccinationSession.session_date, VaccinationSession.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return Page[SessionPublic](
        items=[SessionPublic.model_validate(r) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
    )
