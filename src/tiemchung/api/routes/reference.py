"""Sites, products (with lots) and sessions, scoped to the caller's area: thin over
:mod:`tiemchung.registry.catalog.reference` (the desk reads its sessions there too)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from tiemchung.api.deps import CurrentActor, ReadSession, require_roles
from tiemchung.api.problems import ERROR_RESPONSES as _ERRORS
from tiemchung.api.schemas import LotPublic, Page, ProductPublic, SessionPublic, SitePublic
from tiemchung.registry.catalog import reference as ref
from tiemchung.registry.errors import not_found
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
    rows, total = ref.list_sites(session, actor, ward_code=ward_code, limit=limit, offset=offset)
    return Page[SitePublic](
        items=[SitePublic.model_validate(r) for r in rows], total=total, limit=limit, offset=offset
    )


@router.get("/sites/{site_id}", response_model=SitePublic, responses=_ERRORS)
def read_site(site_id: str, actor: CurrentActor, session: ReadSession) -> SitePublic:
    require_roles(actor, *_STAFF)
    site = ref.get_site(session, actor, site_id)
    if site is None:
        raise not_found("site_id", "điểm tiêm", "site")
    return SitePublic.model_validate(site)


@router.get("/products", response_model=list[ProductPublic], responses=_ERRORS)
def list_products(actor: CurrentActor, session: ReadSession) -> list[ProductPublic]:
    """Vaccine products with their EU DCC codes and lots: reference data every role may read."""
    return [
        ProductPublic.model_validate(p).model_copy(
            update={"lots": [LotPublic.model_validate(lot) for lot in lots]}
        )
        for p, lots in ref.products_with_lots(session)
    ]


@router.get("/sessions", response_model=Page[SessionPublic], responses=_ERRORS)
def list_sessions(
    actor: CurrentActor,
    session: ReadSession,
    site_id: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    status: Annotated[str | None, Query(pattern="^(planned|open|closed|cancelled)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> Page[SessionPublic]:
    """Sessions at the sites of the caller's area (planned, open, closed, cancelled)."""
    require_roles(actor, *_STAFF)
    rows, total = ref.list_sessions(
        session,
        actor,
        site_id=site_id,
        date_from=date_from,
        date_to=date_to,
        status=status,
        limit=limit,
        offset=offset,
    )
    return Page[SessionPublic](
        items=[SessionPublic.model_validate(r) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
    )
