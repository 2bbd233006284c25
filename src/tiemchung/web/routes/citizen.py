"""A citizen's own record: their register data, their doses and their certificate.

Read through the same services as the API's ``GET /persons/{id}`` (``get_person`` scoped by
the actor: a citizen sees only their own person) and audited the same way.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from tiemchung.registry.models import Person, Product, Site
from tiemchung.registry.persons import get_person, person_doses
from tiemchung.registry.scope import Role
from tiemchung.web import pages
from tiemchung.web.guard import Csrf, WebActor, platform_of, require_role
from tiemchung.web.printing import certificate_pdf

router = APIRouter(include_in_schema=False)


@router.get("/me")
async def my_record(request: Request, actor: WebActor) -> Response:
    require_role(actor, Role.CITIZEN)
    platform = platform_of(request)

    def read() -> dict[str, Any] | None:
        with platform.sessions() as session:
            pid = session.scalar(select(Person.person_id).where(Person.id == actor.person_pk))
            person = get_person(session, actor, pid or "")
            if person is None:
                return None
            doses = person_doses(session, person)
            products = {p.code: p.name for p in session.scalars(select(Product))}
            sites = {
                s.site_id: s.name
                for s in session.scalars(
                    select(Site).where(Site.site_id.in_({d.site_id for d in doses}))
                )
            }
            session.expunge_all()
            return {"person": person, "doses": doses, "products": products, "sites": sites}

    data = await run_in_threadpool(read)
    if data is not None:
        await platform.audit_read(actor, "person.read", "person", [data["person"].person_id])
    return pages.render(request, "citizen/me.html", {"data": data}, actor=actor)


@router.post("/me/certificate", dependencies=[Csrf])
async def my_certificate(request: Request, actor: WebActor) -> Response:
    """The citizen's own certificate PDF (issued now if none attests the latest dose)."""
    require_role(actor, Role.CITIZEN)
    platform = platform_of(request)

    def pid() -> str:
        with platform.sessions() as session:
            found = session.scalar(select(Person.person_id).where(Person.id == actor.person_pk))
            return found or ""

    return await certificate_pdf(request, actor, await run_in_threadpool(pid))
