"""The stock page: what is left of each lot per site, commune or province of the user's
area, with its CSV and XLSX export — thin over ``registry/catalog/stock.py`` (the API's
``GET /stock`` and the CLI's ``tiemchung stock`` read the same rows)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from tiemchung.registry.catalog import stock as stock_service
from tiemchung.registry.errors import ServiceError
from tiemchung.serving.downloads import file_response
from tiemchung.web import pages
from tiemchung.web.guard import WebActor, platform_of, require_role

router = APIRouter(include_in_schema=False)


def _level(request: Request) -> str:
    asked = request.query_params.get("level", "site")
    return asked if asked in stock_service.LEVELS else "site"


@router.get("/stock")
async def stock_page(request: Request, actor: WebActor) -> Response:
    require_role(actor, *stock_service.STAFF)
    platform = platform_of(request)
    level = _level(request)
    today = platform.today()

    def rows() -> list[dict[str, object]]:
        with platform.sessions() as s:
            return [r.as_dict(today) for r in stock_service.stock_rows(s, actor, level)]

    found = await run_in_threadpool(rows)
    ctx = {"level": level, "rows": found, "levels": stock_service.LEVELS}
    return pages.render(request, "stock/page.html", ctx, actor=actor)


@router.get("/stock/export.{fmt}")
async def stock_export(request: Request, actor: WebActor, fmt: str) -> Response:
    """The page's rows as a file, every row, at the level shown."""
    require_role(actor, *stock_service.STAFF)
    if fmt not in ("csv", "xlsx"):
        return pages.render(request, "forbidden.html", {}, actor=actor, status=404)
    platform = platform_of(request)
    level = _level(request)
    today = platform.today()

    def make() -> Response:
        with platform.sessions() as s:
            found = stock_service.stock_rows(s, actor, level)
        return file_response(*stock_service.export_stock(found, fmt, today))

    try:
        return await run_in_threadpool(make)
    except ServiceError as exc:
        lang = pages.lang_of(request)
        text = "; ".join(p.message_en if lang == "en" else p.message_vi for p in exc.problems)
        return Response(text, status_code=exc.status, media_type="text/plain; charset=utf-8")
