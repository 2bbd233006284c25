"""Session planning: plan, open, close, cancel — thin over
:mod:`tiemchung.registry.catalog.sessions` (``GET /sessions`` lists them in
``api/routes/reference.py``; wastage against a session is ``api/routes/stock.py``'s)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter

from tiemchung.api.deps import CurrentActor, PlatformDep, ReadSession
from tiemchung.api.problems import ERROR_RESPONSES as _ERRORS
from tiemchung.api.sessions_schemas import (
    CapacityPage,
    SessionClose,
    SessionCreate,
    SessionDetail,
    SessionOpen,
)
from tiemchung.registry.catalog import sessions as svc
from tiemchung.registry.invitations.cancel import cancel_with_invitations
from tiemchung.serving.types import SmallRowId
from tiemchung.stats import capacity as capacity_service

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
    """Cancel a planned session (an open one is closed instead), and with it its live
    invitations: texts not yet sent are withdrawn, people already texted are told."""
    return await platform.write(
        lambda s: svc.session_detail(cancel_with_invitations(s, actor, session_id).session)
    )


@router.get("/sessions/capacity", response_model=CapacityPage, responses=_ERRORS)
def capacity(
    actor: CurrentActor,
    platform: PlatformDep,
    session: ReadSession,
    date_from: date,
    date_to: date,
    province_code: str | None = None,
) -> Any:
    """Per commune of a province: the sessions' planned capacity in the range against the
    population due (register persons not fully vaccinated, from the statistics' coverage).
    Province (its own) and central."""
    province, rows, fresh = capacity_service.capacity_vs_due(
        platform, session, actor, province_code, date_from, date_to, platform.today()
    )
    return {
        "province_code": province,
        "date_from": date_from,
        "date_to": date_to,
        "items": [r.as_dict() for r in rows],
        "source": capacity_service.SOURCE,
        "snapshot": fresh,
    }
