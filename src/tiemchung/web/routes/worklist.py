"""The commune worklist (commune role; province and central may look too).

A placeholder until the worklist pages are built on ``registry/worklists.py``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tiemchung.registry.scope import Role
from tiemchung.web import pages
from tiemchung.web.guard import WebActor, require_role

router = APIRouter(include_in_schema=False)


@router.get("/worklist")
async def worklist(request: Request, actor: WebActor) -> Response:
    require_role(actor, Role.COMMUNE, Role.PROVINCE, Role.CENTRAL)
    return pages.render(request, "placeholder.html", {"page": "worklist"}, actor=actor)
