"""The dashboard (province and central roles).

A placeholder until the statistics pages land: the dashboard's own helper owns this module
and its templates (templates/dashboard/).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tiemchung.registry.scope import Role
from tiemchung.web import pages
from tiemchung.web.guard import WebActor, require_role

router = APIRouter(include_in_schema=False)


@router.get("/dashboard")
async def dashboard(request: Request, actor: WebActor) -> Response:
    require_role(actor, Role.PROVINCE, Role.CENTRAL)
    return pages.render(request, "placeholder.html", {"page": "dashboard"}, actor=actor)
