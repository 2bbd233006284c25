"""The lots page: the lots held in the user's area with what is left at each site, the form
to receive a delivery at a site and, per lot, to transfer doses to another site — thin over
``registry/catalog/lots.py`` (``POST /api/v1/lots``, ``:transfer`` and ``tiemchung lots`` call
the same functions: an expired lot, another expiry for a known lot, a closed site or more
than is on hand is refused there, and its words are shown here). Linked from the stock page.

Writes run on the writer (``Platform.write``) as the API's do, so a transfer's check of what
is on hand and a dose's are never interleaved."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from tiemchung.registry.catalog import lots as svc
from tiemchung.registry.catalog import reference
from tiemchung.registry.catalog.products import list_products
from tiemchung.registry.catalog.stock import STAFF
from tiemchung.registry.errors import FieldProblem, ServiceError
from tiemchung.registry.scope import Actor
from tiemchung.serving.types import SmallRowId
from tiemchung.store.db import DbSession as Session
from tiemchung.web import forms, pages
from tiemchung.web.guard import Csrf, WebActor, platform_of, require_role

router = APIRouter(include_in_schema=False)


async def _page(
    request: Request,
    actor: Actor,
    *,
    failed: str = "",
    typed: dict[str, str] | None = None,
    problems: list[FieldProblem] | None = None,
    status: int = 200,
) -> Response:
    platform = platform_of(request)

    def read() -> dict[str, Any]:
        with platform.sessions() as s:
            sites, _ = reference.list_sites(s, actor, ward_code=None, limit=1000, offset=0)
            return {
                "lots": svc.list_lots(s, actor),
                "sites": [(x.site_id, x.name) for x in sites if x.active],
                "products": [(p.code, p.name) for p in list_products(s) if p.active],
            }

    ctx = await run_in_threadpool(read)
    forms = {"receive"} if ctx["sites"] and ctx["products"] else set()
    forms |= {f"transfer-{x.id}" for x in ctx["lots"] if any(v > 0 for v in x.sites.values())}
    ctx |= {
        # a refusal whose form is not on the page (a lot not held in the area): said on top
        "stray": bool(failed) and failed not in forms,
        "today": platform.today(),
        "failed": failed,
        "typed": typed or {},
        "problems": problems or [],
        "done": request.query_params.get("done", ""),
        "said": {k: request.query_params.get(k, "")[:40] for k in ("lot", "n", "a", "b")},
    }
    return pages.render(request, "lots/page.html", ctx, actor=actor, status=status)


def _done(what: str, **said: str) -> RedirectResponse:
    return RedirectResponse("/lots?" + urlencode({"done": what} | said), 303)


@router.get("/lots")
async def lots_page(request: Request, actor: WebActor) -> Response:
    require_role(actor, *STAFF)
    return await _page(request, actor)


@router.post("/lots", dependencies=[Csrf])
async def receive(
    request: Request,
    actor: WebActor,
    site_id: str = Form("", max_length=40),
    product_code: str = Form("", max_length=40),
    lot_number: str = Form("", max_length=80),
    expiry: str = Form("", max_length=20),
    doses: str = Form("", max_length=20),
    note: str = Form("", max_length=400),
) -> Response:
    require_role(actor, *STAFF)
    typed = {
        "site_id": site_id,
        "product_code": product_code,
        "lot_number": lot_number,
        "expiry": expiry,
        "doses": doses,
        "note": note,
    }
    platform = platform_of(request)
    today = platform.today()
    try:
        receipt = svc.LotReceipt(
            product_code=product_code.strip(),
            lot_number=lot_number,
            expiry=forms.iso_day(expiry, "expiry", "Hạn dùng", "expiry"),
            site_id=site_id.strip(),
            doses=forms.count(doses, "doses", "Số liều", "number of doses"),
            note=note.strip() or None,
        )

        def job(s: Session) -> str:
            lot, _move = svc.receive_lot(s, actor, receipt, today=today)
            return lot.lot_number

        number = await platform.write(job)
    except ServiceError as exc:
        return await _page(
            request, actor, failed="receive", typed=typed, problems=exc.problems, status=exc.status
        )
    return _done("received", lot=number, n=str(receipt.doses), a=receipt.site_id)


@router.post("/lots/{lot_id}/transfer", dependencies=[Csrf])
async def transfer(
    request: Request,
    actor: WebActor,
    lot_id: SmallRowId,
    from_site: str = Form("", max_length=40),
    to_site: str = Form("", max_length=40),
    doses: str = Form("", max_length=20),
) -> Response:
    require_role(actor, *STAFF)
    typed = {"from_site": from_site, "to_site": to_site, "doses": doses}
    platform = platform_of(request)
    try:
        count = forms.count(doses, "doses", "Số liều", "number of doses")

        def job(s: Session) -> None:
            svc.transfer_lot(s, actor, lot_id, from_site.strip(), to_site.strip(), count)

        await platform.write(job)
    except ServiceError as exc:
        return await _page(
            request,
            actor,
            failed=f"transfer-{lot_id}",
            typed=typed,
            problems=exc.problems,
            status=exc.status,
        )
    return _done(
        "transferred", lot=str(lot_id), n=str(count), a=from_site.strip(), b=to_site.strip()
    )
