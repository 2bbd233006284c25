"""The invitation pages: a session's invitations (select, preview the counts, send; the list
with statuses and the no-shows), the short link's page for the invitee (no sign-in: the
signed token is the capability for one invitation), and the commune's overdue list with its
spreadsheet — thin over ``registry/invitations/`` (the API and ``tiemchung invitations`` /
``reminders`` call the same)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from tiemchung.auth import invitelinks
from tiemchung.registry.catalog.stock import STAFF
from tiemchung.registry.errors import FieldProblem, ServiceError
from tiemchung.registry.invitations import answer as answers
from tiemchung.registry.invitations import attendance, reminders
from tiemchung.registry.invitations import send as svc
from tiemchung.registry.invitations.select import Selection
from tiemchung.registry.scope import Actor, Role
from tiemchung.serving.downloads import file_response
from tiemchung.serving.types import SmallRowId
from tiemchung.web import pages
from tiemchung.web.guard import Csrf, WebActor, platform_of, require_role

router = APIRouter(include_in_schema=False)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FIELDS = ("groups", "min_age", "max_age", "ward_code", "organisation_id", "due_by", "wait_list")


def _invalid(field: str, vi: str, en: str) -> ServiceError:
    return ServiceError(422, "Invalid / Không hợp lệ", [FieldProblem(field, "invalid", vi, en)])


def _number(typed: dict[str, str], name: str, vi: str, en: str) -> int | None:
    text = typed.get(name, "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 9:
        raise _invalid(name, f"{vi} '{text}' phải là số", f"{en} '{text}' must be a number")
    return int(text)


def _selection(typed: dict[str, str]) -> tuple[Selection, int | None]:
    """The form's fields as a selection (a field that is not a number or a day: 422 naming it)."""
    due_text = typed.get("due_by", "").strip()
    try:
        due_by = date.fromisoformat(due_text) if due_text else None
    except ValueError:
        raise _invalid(
            "due_by", f"Ngày '{due_text}' không hợp lệ", f"'{due_text}' is not a date"
        ) from None
    sel = Selection(
        groups=[g.strip() for g in typed.get("groups", "").split(",") if g.strip()],
        min_age=_number(typed, "min_age", "Tuổi từ", "the lowest age"),
        max_age=_number(typed, "max_age", "Tuổi đến", "the highest age"),
        ward_code=typed.get("ward_code", "").strip() or None,
        organisation_id=_number(typed, "organisation_id", "Mã tổ chức", "the organisation id"),
        due_by=due_by,
    )
    return sel, _number(typed, "wait_list", "Danh sách chờ", "the wait list")


async def _session_page(
    request: Request,
    actor: Actor,
    session_id: int,
    *,
    typed: dict[str, str],
    preview: dict[str, Any] | None = None,
    sent: dict[str, Any] | None = None,
    problems: list[FieldProblem] | None = None,
    status: int = 200,
) -> Response:
    platform = platform_of(request)

    def read() -> dict[str, Any]:
        with platform.sessions() as s:
            return {
                "listed": attendance.list_invitations(s, actor, session_id),
                "no_shows": attendance.no_shows(s, actor, session_id),
            }

    found = await run_in_threadpool(read)
    ctx = {
        "session_id": session_id,
        "typed": typed,
        "preview": preview,
        "sent": sent,
        "problems": problems or [],
        "past": found["listed"]["session_date"] < platform.today().isoformat(),
        **found,
    }
    return pages.render(request, "invite/session.html", ctx, actor=actor, status=status)


@router.get("/sessions/{session_id}/invitations")
async def session_invitations(
    request: Request, actor: WebActor, session_id: SmallRowId
) -> Response:
    """The list with statuses; with ``preview=1`` and the selection's fields, the counts."""
    require_role(actor, *STAFF)
    q = request.query_params
    typed = {k: q.get(k, "")[:200] for k in FIELDS}
    preview = None
    if q.get("preview"):
        platform = platform_of(request)
        today = platform.today()
        try:
            sel, wait = _selection(typed)

            def count() -> dict[str, Any]:
                with platform.sessions() as s:
                    return svc.preview(s, actor, session_id, sel, today, wait_list=wait).as_dict()

            preview = await run_in_threadpool(count)
        except ServiceError as exc:
            return await _session_page(
                request, actor, session_id, typed=typed, problems=exc.problems, status=exc.status
            )
    return await _session_page(request, actor, session_id, typed=typed, preview=preview)


@router.post("/sessions/{session_id}/invitations", dependencies=[Csrf])
async def send_invitations(request: Request, actor: WebActor, session_id: SmallRowId) -> Response:
    require_role(actor, *STAFF)
    form = await request.form()
    typed = {k: str(form.get(k) or "")[:200] for k in FIELDS}
    platform = platform_of(request)
    today = platform.today()
    links = invitelinks.link_maker(platform.token_secret, platform.settings.public_url)
    try:
        sel, wait = _selection(typed)
        result = await run_in_threadpool(
            platform.in_transaction,
            lambda s: svc.send_invitations(s, actor, session_id, sel, today, links, wait_list=wait),
        )
    except ServiceError as exc:
        return await _session_page(
            request, actor, session_id, typed=typed, problems=exc.problems, status=exc.status
        )
    return await _session_page(request, actor, session_id, typed=typed, sent=result.as_dict())


# -- the short link ------------------------------------------------------------------------------


def _not_ours(request: Request) -> Response:
    return pages.render(request, "invite/answer.html", {"view": None, "token": ""}, status=404)


@router.get("/i/{token}")
async def invitation_page(request: Request, token: str) -> Response:
    """The invitee's page: the appointment and the three answers (no sign-in)."""
    platform = platform_of(request)
    invitation_id = invitelinks.read(platform.token_secret, token[:80])
    if invitation_id is None:
        return _not_ours(request)
    today = platform.today()

    def read() -> dict[str, Any]:
        with platform.sessions() as s:
            return answers.view(s, invitation_id, today).as_dict()

    try:
        view = await run_in_threadpool(read)
    except ServiceError:
        return _not_ours(request)
    done = request.query_params.get("done", "")
    ctx = {"view": view, "token": token, "done": done if done in answers.ACTIONS else ""}
    return pages.render(request, "invite/answer.html", ctx)


@router.post("/i/{token}", dependencies=[Csrf])
async def answer_invitation(
    request: Request, token: str, action: str = Form("", max_length=20)
) -> Response:
    platform = platform_of(request)
    invitation_id = invitelinks.read(platform.token_secret, token[:80])
    if invitation_id is None:
        return _not_ours(request)
    today = platform.today()
    links = invitelinks.link_maker(platform.token_secret, platform.settings.public_url)
    try:
        await run_in_threadpool(
            platform.in_transaction,
            lambda s: answers.answer(s, invitation_id, action, today, links),
        )
    except ServiceError as exc:

        def read() -> dict[str, Any]:
            with platform.sessions() as s:
                return answers.view(s, invitation_id, today).as_dict()

        view = await run_in_threadpool(read)
        ctx = {"view": view, "token": token, "done": "", "problems": exc.problems}
        return pages.render(request, "invite/answer.html", ctx, status=exc.status)
    return RedirectResponse(f"/i/{token}?done={action}", status_code=303)


# -- the overdue list ----------------------------------------------------------------------------


@router.get("/overdue")
async def overdue_page(request: Request, actor: WebActor) -> Response:
    """A commune's (a province's, central's for a ward) overdue list, a page at a time."""
    require_role(actor, Role.CENTRAL, Role.PROVINCE, Role.COMMUNE)
    platform = platform_of(request)
    q = request.query_params
    ward = (q.get("ward_code") or "").strip()[:8] or None
    page = int(q["page"]) if q.get("page", "").isdigit() and len(q["page"]) < 6 else 1
    size = 100
    today = platform.today()
    problems: list[FieldProblem] = []
    listed: dict[str, Any] = {"total": 0, "items": []}
    try:
        listed = await run_in_threadpool(
            platform.in_transaction,
            lambda s: reminders.overdue(
                s, actor, today, ward_code=ward, limit=size, offset=(page - 1) * size
            ),
        )
    except ServiceError as exc:
        problems = exc.problems
    ctx = {
        "ward_code": ward or "",
        "listed": listed,
        "page": page,
        "pages": max(1, -(-listed["total"] // size)),
        "problems": problems,
    }
    return pages.render(request, "invite/overdue.html", ctx, actor=actor)


@router.get("/overdue.xlsx")
async def overdue_xlsx(request: Request, actor: WebActor) -> Response:
    require_role(actor, Role.CENTRAL, Role.PROVINCE, Role.COMMUNE)
    platform = platform_of(request)
    ward = (request.query_params.get("ward_code") or "").strip()[:8] or None
    today = platform.today()
    data, _n = await run_in_threadpool(
        platform.in_transaction,
        lambda s: reminders.overdue_workbook(s, actor, today, ward_code=ward),
    )
    return file_response(data, XLSX, f"qua-han-{ward or actor.ward_code or 'all'}.xlsx")
