"""The vaccine catalogue page: every product with its EU DCC codes and schedule for any
staff, and for central users the form to edit one — thin over
``registry/catalog/products.py`` (``PATCH /api/v1/products/{code}`` and ``tiemchung products
edit`` call the same :func:`update_product`, which decides that only central edits)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from tiemchung.registry.catalog import products as svc
from tiemchung.registry.catalog.stock import STAFF
from tiemchung.registry.errors import FieldProblem, ServiceError
from tiemchung.registry.scope import Actor, Role
from tiemchung.web import pages
from tiemchung.web.guard import Csrf, WebActor, platform_of, require_role

router = APIRouter(include_in_schema=False)
Code = Annotated[str, Path(max_length=40)]


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

    def read() -> list[Any]:
        with platform.sessions() as s:
            return svc.list_products(s)

    products = await run_in_threadpool(read)
    edits = actor.role is Role.CENTRAL
    forms = {f"edit-{p.code}" for p in products} if edits else set()
    ctx = {
        "products": products,
        "edits": edits,
        # a refusal whose form is not on the page (not central, no such product): said on top
        "stray": bool(failed) and failed not in forms,
        "failed": failed,
        "typed": typed or {},
        "problems": problems or [],
        "done": request.query_params.get("done", ""),
        "who": request.query_params.get("who", "")[:40],
    }
    return pages.render(request, "products/page.html", ctx, actor=actor, status=status)


@router.get("/products")
async def products_page(request: Request, actor: WebActor) -> Response:
    require_role(actor, *STAFF)
    return await _page(request, actor)


@router.post("/products/{code}", dependencies=[Csrf])
async def edit(
    request: Request,
    actor: WebActor,
    code: Code,
    name: str = Form("", max_length=400),
    mp: str = Form("", max_length=200),
    ma: str = Form("", max_length=200),
    vp: str = Form("", max_length=200),
    active: str = Form("", max_length=5),
) -> Response:
    """The whole form is sent: a field left empty is refused by the service (a product
    keeps a name and its codes), and an unticked box takes the product out of use."""
    require_role(actor, *STAFF)
    changes = svc.ProductChanges(name=name, mp=mp, ma=ma, vp=vp, active=bool(active))
    platform = platform_of(request)
    try:
        await platform.write(lambda s: svc.update_product(s, actor, code, changes).code)
    except ServiceError as exc:
        typed = {"name": name, "mp": mp, "ma": ma, "vp": vp, "active": active}
        return await _page(
            request,
            actor,
            failed=f"edit-{code}",
            typed=typed,
            problems=exc.problems,
            status=exc.status,
        )
    platform.catalog.reload()  # the desk's names and an inactive product's lots at once
    return RedirectResponse("/products?" + urlencode({"done": "edited", "who": code}), 303)
