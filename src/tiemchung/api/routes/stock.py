"""Sites, the catalogue, lots, stock and wastage: thin over ``registry/catalog/`` (the
CLI's ``sites``, ``lots``, ``products`` and ``stock`` and the web's stock page call the same
functions). Writes run on the writer (``Platform.write``), so a transfer's or a wastage's
check of what is on hand and a dose's are never interleaved."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from tiemchung.api.deps import CurrentActor, PlatformDep, ReadSession
from tiemchung.api.problems import ERROR_RESPONSES as _ERRORS
from tiemchung.api.schemas import ProductPublic, SitePublic
from tiemchung.api.stock_schemas import (
    LotLinePublic,
    LotReceive,
    LotReceived,
    LotTransfer,
    MovementPublic,
    ProductPatch,
    SiteCreate,
    SitePatch,
    StockLine,
    StockPage,
    TransferDone,
    WastageCreate,
)
from tiemchung.registry.catalog import lots as lots_service
from tiemchung.registry.catalog import products as products_service
from tiemchung.registry.catalog import sites as sites_service
from tiemchung.registry.catalog import stock as stock_service
from tiemchung.serving.downloads import file_response
from tiemchung.serving.types import SmallRowId

router = APIRouter(tags=["stock"])
_FILES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "application/json": {},
            stock_service.CSV_TYPE: {},
            stock_service.XLSX_TYPE: {},
        }
    }
}


@router.post("/sites", status_code=201, response_model=SitePublic, responses=_ERRORS)
async def create_site(body: SiteCreate, actor: CurrentActor, platform: PlatformDep) -> Any:
    """Create a site in a ward of the caller's area (central, province, commune)."""
    return await platform.write(
        lambda s: sites_service.create_site(
            s, actor, body.site_id, body.name, body.ward_code, body.kind
        )
    )


@router.patch("/sites/{site_id}", response_model=SitePublic, responses=_ERRORS)
async def update_site(
    site_id: str, body: SitePatch, actor: CurrentActor, platform: PlatformDep
) -> Any:
    """Change a site's name, ward (its province follows) or kind."""
    changes = sites_service.SiteChanges(name=body.name, ward_code=body.ward_code, kind=body.kind)
    site = await platform.write(lambda s: sites_service.update_site(s, actor, site_id, changes))
    platform.catalog.reload()  # the dose path's cache: the site's ward and province now
    return site


@router.post("/sites/{site_id}:close", response_model=SitePublic, responses=_ERRORS)
async def close_site(site_id: str, actor: CurrentActor, platform: PlatformDep) -> Any:
    """Close a site: no new doses or stock there; its records stay."""
    site = await platform.write(lambda s: sites_service.close_site(s, actor, site_id))
    platform.catalog.reload()  # the dose path's cache: a closed site refuses doses at once
    return site


@router.patch("/products/{code}", response_model=ProductPublic, responses=_ERRORS)
async def update_product(
    code: str, body: ProductPatch, actor: CurrentActor, platform: PlatformDep
) -> Any:
    """Edit a catalogue product's name, EU DCC codes or whether it is in use (central)."""
    changes = products_service.ProductChanges(
        name=body.name, mp=body.mp, ma=body.ma, vp=body.vp, active=body.active
    )
    return await platform.write(lambda s: products_service.update_product(s, actor, code, changes))


@router.post("/lots", status_code=201, response_model=LotReceived, responses=_ERRORS)
async def receive_lot(body: LotReceive, actor: CurrentActor, platform: PlatformDep) -> Any:
    """Record a delivery of a lot at a site; the lot is created on first sight (an expired
    lot, another expiry for a known lot or a closed site is refused)."""
    receipt = lots_service.LotReceipt(
        body.product_code, body.lot_number, body.expiry, body.site_id, body.doses
    )
    today = platform.today()

    def work(s: Any) -> LotReceived:
        lot, move = lots_service.receive_lot(s, actor, receipt, today=today)
        return LotReceived(
            lot_id=lot.id,
            product_code=lot.product_code,
            lot_number=lot.lot_number,
            expiry=lot.expiry,
            movement=MovementPublic.model_validate(move),
        )

    return await platform.write(work)


@router.get("/lots", response_model=list[LotLinePublic], responses=_ERRORS)
def list_lots(
    actor: CurrentActor,
    session: ReadSession,
    site_id: str | None = None,
    product_code: str | None = None,
) -> Any:
    """The lots held at the sites of the caller's area, with what is left at each."""
    lines = lots_service.list_lots(session, actor, product_code=product_code, site_id=site_id)
    return [LotLinePublic.model_validate(x) for x in lines]


@router.post("/lots/{lot_id}:transfer", response_model=TransferDone, responses=_ERRORS)
async def transfer_lot(
    lot_id: SmallRowId, body: LotTransfer, actor: CurrentActor, platform: PlatformDep
) -> Any:
    """Move doses of a lot from a site of the caller's area to another open site (never
    more than is on hand: 409 naming the lot)."""

    def work(s: Any) -> TransferDone:
        out, into = lots_service.transfer_lot(
            s, actor, lot_id, body.from_site, body.to_site, body.doses
        )
        return TransferDone(
            out=MovementPublic.model_validate(out), into=MovementPublic.model_validate(into)
        )

    return await platform.write(work)


@router.post(
    "/sessions/{session_id}/wastage",
    status_code=201,
    response_model=MovementPublic,
    responses=_ERRORS,
)
async def record_wastage(
    session_id: SmallRowId, body: WastageCreate, actor: CurrentActor, platform: PlatformDep
) -> Any:
    """Doses of a lot of the session's product lost at the session (opened vials' unused
    doses): they leave the session's site's stock."""
    return await platform.write(
        lambda s: stock_service.record_wastage(
            s, actor, session_id, body.lot_number, body.doses, body.note
        )
    )


@router.get("/stock", response_model=StockPage, responses={**_ERRORS, **_FILES})
def read_stock(
    actor: CurrentActor,
    session: ReadSession,
    platform: PlatformDep,
    level: Literal["site", "commune", "province"] = "site",
    site_id: str | None = None,
    ward_code: str | None = None,
    province_code: str | None = None,
    format: Annotated[Literal["json", "csv", "xlsx"], Query()] = "json",
) -> Any:
    """Stock on hand per lot at each site, commune or province of the caller's area; as a
    CSV or XLSX file with ``format=``."""
    rows = stock_service.stock_rows(
        session,
        actor,
        level,
        site_id=site_id,
        ward_code=ward_code,
        province_code=province_code,
    )
    today = platform.today()
    if format != "json":
        body, media, name = stock_service.export_stock(rows, format, today)
        response: Response = file_response(body, media, name)
        return response
    return StockPage(level=level, items=[StockLine(**r.as_dict(today)) for r in rows])
