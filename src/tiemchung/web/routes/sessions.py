"""The sessions pages: a week of the area's sessions per site (status, capacity, plan,
closing figures) with the forms to plan, open, close and cancel, and the province's planned
capacity against the population due — thin over ``registry/catalog/sessions.py`` and
``stats/capacity.py`` (the API's ``/sessions`` routes and ``tiemchung sessions`` call the same)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from tiemchung.registry.catalog import reference
from tiemchung.registry.catalog import sessions as svc
from tiemchung.registry.catalog.stock import STAFF
from tiemchung.registry.errors import FieldProblem, ServiceError
from tiemchung.registry.invitations.cancel import cancel_with_invitations
from tiemchung.registry.scope import Actor, Role
from tiemchung.serving.types import SmallRowId
from tiemchung.stats import capacity as capacity_service
from tiemchung.web import pages
from tiemchung.web.guard import Csrf, WebActor, platform_of, require_role

router = APIRouter(include_in_schema=False)


def _day(text: str | None, default: date) -> date:
    try:
        return date.fromisoformat(text) if text else default
    except ValueError:
        return default


async def _page(
    request: Request,
    actor: Actor,
    *,
    typed: dict[str, str] | None = None,
    problems: list[FieldProblem] | None = None,
    status: int = 200,
) -> Response:
    platform = platform_of(request)
    today = platform.today()
    start = _day(request.query_params.get("week"), today)
    start -= timedelta(days=start.weekday())  # the week's Monday
    end = start + timedelta(days=6)

    def read() -> dict[str, Any]:
        with platform.sessions() as s:
            rows, _ = reference.list_sessions(
                s, actor, date_from=start, date_to=end, limit=1000, offset=0
            )
            sites, _ = reference.list_sites(s, actor, ward_code=None, limit=1000, offset=0)
            return {
                "sessions": [svc.session_detail(r) for r in rows],
                "sites": [(x.site_id, x.name) for x in sites if x.active],
            }

    found = await run_in_threadpool(read)
    days: dict[str, list[dict[str, Any]]] = {
        (start + timedelta(days=i)).isoformat(): [] for i in range(7)
    }
    for detail in found["sessions"]:
        days[detail["session_date"]].append(detail)
    ctx = {
        "days": days,
        "sites": found["sites"],
        "site_names": dict(found["sites"]),
        "today": today.isoformat(),
        "prev_week": (start - timedelta(days=7)).isoformat(),
        "next_week": (start + timedelta(days=7)).isoformat(),
        "week_start": start,
        "typed": typed or {"session_date": today.isoformat()},
        "problems": problems or [],
        "status_words": svc.STATUS_WORDS,
    }
    return pages.render(request, "sessions/page.html", ctx, actor=actor, status=status)


@router.get("/sessions")
async def sessions_page(request: Request, actor: WebActor) -> Response:
    require_role(actor, *STAFF)
    return await _page(request, actor)


def _done(week: str) -> RedirectResponse:
    return RedirectResponse(f"/sessions?week={week}", status_code=303)


@router.post("/sessions", dependencies=[Csrf])
async def plan(
    request: Request,
    actor: WebActor,
    site_id: str = Form("", max_length=40),
    session_date: str = Form("", max_length=20),
    products: str = Form("", max_length=200),
    lot_numbers: str = Form("", max_length=400),
    time_slots: str = Form("", max_length=600),
    capacity: str = Form("", max_length=10),
    groups: str = Form("", max_length=400),
    team: str = Form("", max_length=2000),
    allow_parallel: str = Form("", max_length=5),
) -> Response:
    require_role(actor, *STAFF)
    typed = {
        "site_id": site_id,
        "session_date": session_date,
        "products": products,
        "lot_numbers": lot_numbers,
        "time_slots": time_slots,
        "capacity": capacity,
        "groups": groups,
        "team": team,
        "allow_parallel": allow_parallel,
    }
    platform = platform_of(request)
    today = platform.today()
    try:
        try:
            day = date.fromisoformat(session_date)
        except ValueError:
            raise ServiceError(
                422,
                "Invalid / Không hợp lệ",
                [
                    FieldProblem(
                        "session_date",
                        "invalid_date",
                        f"Ngày tiêm '{session_date}' không hợp lệ",
                        f"the session's day '{session_date}' is not a date",
                    )
                ],
            ) from None
        cap = capacity.strip()
        if cap and not cap.isdigit():
            raise ServiceError(
                422,
                "Invalid / Không hợp lệ",
                [
                    FieldProblem(
                        "capacity",
                        "invalid_number",
                        f"Số người dự kiến '{cap}' phải là số",
                        f"the capacity '{cap}' must be a number",
                    )
                ],
            )
        p = svc.SessionPlan(
            site_id=site_id.strip(),
            session_date=day,
            products=_split(products),
            lot_numbers=_split(lot_numbers),
            time_slots=[svc.parse_slot_spec(x) for x in _split(time_slots, ";")],
            capacity=int(cap) if cap else None,
            groups=_split(groups),
            team=[svc.parse_member(x) for x in _split(team, ";")],
            allow_parallel=bool(allow_parallel),
        )
        await platform.write(lambda s: svc.plan_session(s, actor, p, today))
    except ServiceError as exc:
        return await _page(request, actor, typed=typed, problems=exc.problems, status=exc.status)
    return _done(day.isoformat())


def _split(text: str, sep: str = ",") -> list[str]:
    return [x.strip() for x in text.replace("\n", sep).split(sep) if x.strip()]


async def _act(request: Request, actor: Actor, job: Any) -> Response:
    require_role(actor, *STAFF)
    try:
        detail = await platform_of(request).write(job)
    except ServiceError as exc:
        return await _page(request, actor, problems=exc.problems, status=exc.status)
    return _done(str(detail["session_date"]))


@router.post("/sessions/{session_id}/open", dependencies=[Csrf])
async def open_(request: Request, actor: WebActor, session_id: SmallRowId) -> Response:
    today = platform_of(request).today()
    return await _act(
        request,
        actor,
        lambda s: svc.session_detail(svc.open_session(s, actor, session_id, today)),
    )


@router.post("/sessions/{session_id}/cancel", dependencies=[Csrf])
async def cancel(request: Request, actor: WebActor, session_id: SmallRowId) -> Response:
    return await _act(
        request,
        actor,
        lambda s: svc.session_detail(cancel_with_invitations(s, actor, session_id).session),
    )


@router.post("/sessions/{session_id}/close", dependencies=[Csrf])
async def close(
    request: Request,
    actor: WebActor,
    session_id: SmallRowId,
    opened: str = Form("", max_length=10),
) -> Response:
    count = int(opened) if opened.strip().isdigit() else None
    return await _act(
        request,
        actor,
        lambda s: svc.session_detail(svc.close_session(s, actor, session_id, opened=count)[0]),
    )


@router.get("/sessions/capacity")
async def capacity_page(request: Request, actor: WebActor) -> Response:
    """Province and central: planned capacity against the population due per commune."""
    require_role(actor, Role.CENTRAL, Role.PROVINCE)
    platform = platform_of(request)
    today = platform.today()
    q = request.query_params
    date_from = _day(q.get("from"), today)
    date_to = _day(q.get("to"), today + timedelta(days=30))
    province = (q.get("province") or "").strip() or None

    def read() -> tuple[str, list[dict[str, Any]]]:
        with platform.sessions() as s:
            code, rows, _ = capacity_service.capacity_vs_due(
                platform, s, actor, province, date_from, date_to, today
            )
        return code, [r.as_dict() for r in rows]

    problems: list[FieldProblem] = []
    code, rows = province or "", list[dict[str, Any]]()
    if province or actor.province_code:
        try:
            code, rows = await run_in_threadpool(read)
        except ServiceError as exc:
            problems = exc.problems
    ctx = {
        "province": code,
        "date_from": date_from.isoformat(),
        "date_to": date_to.isoformat(),
        "rows": rows,
        "problems": problems,
        "source": capacity_service.SOURCE,
        "ask_province": actor.role is Role.CENTRAL,
    }
    return pages.render(request, "sessions/capacity.html", ctx, actor=actor)
