"""The sites page: the sites of the user's area, and for central, province and commune users
the forms to create one (its kind, a ward picked from their area), edit and close it — thin
over ``registry/catalog/sites.py`` (``POST/PATCH /api/v1/sites``, ``:close`` and
``tiemchung sites`` call the same functions, so who may do what and the audit are theirs).

A refused form comes back with what was typed and the service's words in the page's
language inside the form that was sent; a done action redirects with a notice
(post/redirect/get, so a reload never repeats it)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from tiemchung.registry.catalog import sites as svc
from tiemchung.registry.catalog.stock import STAFF
from tiemchung.registry.errors import FieldProblem, ServiceError
from tiemchung.registry.scope import Actor, Role
from tiemchung.store.db import DbSession as Session
from tiemchung.web import pages
from tiemchung.web.guard import Csrf, WebActor, platform_of, require_role

router = APIRouter(include_in_schema=False)
SiteId = Annotated[str, Path(max_length=20)]


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
    asked = request.query_params.get("province", "").strip()[:8]
    province = asked if actor.role is Role.CENTRAL else None

    def read() -> dict[str, Any]:
        with platform.sessions() as s:
            return {
                "sites": svc.site_rows(s, actor),
                "wards": svc.area_wards(s, actor, province),
            }

    ctx = await run_in_threadpool(read)
    manages = actor.role in svc.MANAGERS
    forms = {"create"} | {f"edit-{x.site_id}" for x in ctx["sites"]} if manages else set()
    ctx |= {
        "manages": manages,
        # a refusal whose form is not on the page (a site outside the area): said on top
        "stray": bool(failed) and failed not in forms,
        "kinds": svc.SITE_KINDS,
        "province": province or "",
        "failed": failed,
        "typed": typed or {},
        "problems": problems or [],
        "done": request.query_params.get("done", ""),
        "who": request.query_params.get("who", "")[:20],
    }
    return pages.render(request, "sites/page.html", ctx, actor=actor, status=status)


def _done(what: str, site_id: str) -> RedirectResponse:
    return RedirectResponse("/sites?" + urlencode({"done": what, "who": site_id}), 303)


@router.get("/sites")
async def sites_page(request: Request, actor: WebActor) -> Response:
    require_role(actor, *STAFF)
    return await _page(request, actor)


@router.post("/sites", dependencies=[Csrf])
async def create(
    request: Request,
    actor: WebActor,
    site_id: str = Form("", max_length=40),
    name: str = Form("", max_length=400),
    ward_code: str = Form("", max_length=20),
    kind: str = Form("", max_length=40),
) -> Response:
    require_role(actor, *svc.MANAGERS)
    typed = {"site_id": site_id, "name": name, "ward_code": ward_code, "kind": kind}

    def job(s: Session) -> str:
        return svc.create_site(s, actor, site_id, name, ward_code, kind).site_id

    try:
        made = await platform_of(request).write(job)
    except ServiceError as exc:
        return await _page(
            request,
            actor,
            failed="create",
            typed=typed,
            problems=exc.problems,
            status=exc.status,
        )
    return _done("created", made)


@router.post("/sites/{site_id}", dependencies=[Csrf])
async def edit(
    request: Request,
    actor: WebActor,
    site_id: SiteId,
    name: str = Form("", max_length=400),
    ward_code: str = Form("", max_length=20),
    kind: str = Form("", max_length=40),
) -> Response:
    """Change what was typed differently (an empty field: left as it is)."""
    require_role(actor, *svc.MANAGERS)
    changes = svc.SiteChanges(
        name=name if name.strip() else None,
        ward_code=ward_code.strip() or None,
        kind=kind.strip() or None,
    )
    platform = platform_of(request)
    try:
        await platform.write(lambda s: svc.update_site(s, actor, site_id, changes).site_id)
    except ServiceError as exc:
        typed = {"name": name, "ward_code": ward_code, "kind": kind}
        return await _page(
            request,
            actor,
            failed=f"edit-{site_id}",
            typed=typed,
            problems=exc.problems,
            status=exc.status,
        )
    platform.catalog.reload()  # the dose path's cache: the site's ward and province now
    return _done("edited", site_id)


@router.post("/sites/{site_id}/close", dependencies=[Csrf])
async def close(request: Request, actor: WebActor, site_id: SiteId) -> Response:
    require_role(actor, *svc.MANAGERS)
    platform = platform_of(request)
    try:
        await platform.write(lambda s: svc.close_site(s, actor, site_id).site_id)
    except ServiceError as exc:
        return await _page(
            request, actor, failed=f"edit-{site_id}", problems=exc.problems, status=exc.status
        )
    platform.catalog.reload()  # a closed site refuses doses at once
    return _done("closed", site_id)
