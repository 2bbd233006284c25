"""Session planning: plan, open, close, cancel — thin over
:mod:`tiemchung.registry.catalog.sessions` (``GET /sessions`` lists them in
``api/routes/reference.py``; wastage against a session is ``api/routes/stock.py``'s)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from tiemchung.api.deps import CurrentActor, PlatformDep
from tiemchung.api.problems import ERROR_RESPONSES as _ERRORS
from tiemchung.api.sessions_schemas import (
    SessionClose,
    SessionCreate,
    SessionDetail,
    SessionOpen,
)
from tiemchung.registry.catalog import sessions as svc
from tiemchung.serving.types import SmallRowId

router = APIRouter(tags=["sessions"])


@router.post("/sessions", status_code=201, response_model=SessionDetail, responses=_ERRORS)
async def plan_session(body: SessionCreate, actor: CurrentActor, platform: PlatformDep) -> Any:
    """Plan a session at a site of the caller's area (a site user: its own site)."""
    plan = svc.SessionPlan(
        site_id=body.site_id,
        session_date=body.session_date,
        products=body.products,
        lot_numbers=body.lot_numbers,
        time_slots=[svc.TimeSlot(s.start, s.end, s.capacity) for s in body.time_slots],
        capacity=body.capacity,
        groups=body.groups,
        team=[svc.TeamMember(m.name, m.role) for m in body.team],
        allow_parallel=body.allow_parallel,
    )
    today = platform.today()
    return await platform.write(
        lambda s: svc.session_detail(svc.plan_session(s, actor, plan, today))
    )


@router.post("/sessions/{session_id}:open", response_model=SessionDetail, responses=_ERRORS)
async def open_session(
    session_id: SmallRowId,
    actor: CurrentActor,
    platform: PlatformDep,
    body: SessionOpen | None = None,
) -> Any:
    """Open a planned session on its day: the desk and ``POST /doses`` record in it."""
    today, parallel = platform.today(), bool(body and body.parallel)
    return await platform.write(
        lambda s: svc.session_detail(
            svc.open_session(s, actor, session_id, today, parallel=parallel)
        )
    )


@router.post("/sessions/{session_id}:close", response_model=SessionDetail, responses=_ERRORS)
async def close_session(
    session_id: SmallRowId,
    actor: CurrentActor,
    platform: PlatformDep,
    body: SessionClose | None = None,
) -> Any:
    """Close an open session and reconcile it: doses recorded, opened and wasted, and the
    difference (stored with the session and in the audit log)."""
    opened = body.opened if body else None
    return await platform.write(
        lambda s: svc.session_detail(svc.close_session(s, actor, session_id, opened=opened)[0])
    )


@router.post("/sessions/{session_id}:cancel", response_model=SessionDetail, responses=_ERRORS)
async def cancel_session(session_id: SmallRowId, actor: CurrentActor, platform: PlatformDep) -> Any:
    """Cancel a planned session (an open one is closed instead)."""
    return await platform.write(
        lambda s: svc.session_detail(svc.cancel_session(s, actor, session_id))
    )
