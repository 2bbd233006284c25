"""The users page (province and central): list, create, change the role or area, disable or
enable, reset a password.

The same services as ``/api/v1/users`` and ``tiemchung users`` (:mod:`tiemchung.auth.admin`),
so the grant rule (within one's own area and below), the password policy and the audit are
theirs. A refused form comes back with what was typed (the password aside) and each problem
in the page's language; a done action redirects to the list with a notice (post/redirect/get,
so a reload never repeats it).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from tiemchung.auth import admin
from tiemchung.auth.passwords import MIN_LENGTH
from tiemchung.auth.users import create_user
from tiemchung.registry.errors import FieldProblem, ServiceError
from tiemchung.registry.scope import Actor, Role
from tiemchung.serving.types import SmallRowId
from tiemchung.store.db import DbSession as Session
from tiemchung.web import pages
from tiemchung.web.guard import Csrf, WebActor, platform_of, require_role

router = APIRouter(include_in_schema=False)
FORM_KEYS = ("username", "role", "province_code", "ward_code", "site_id", "person_id")
#: an organisation's user is given from its organisation's page (auth/orgusers.py), not here
ROLES = [r.value for r in Role if r is not Role.ORGANISATION]
PAGE = 100


def _roles_for(actor: Actor) -> list[str]:
    """The roles the form offers: a province never grants the central role."""
    return [r for r in ROLES if actor.role is Role.CENTRAL or r != Role.CENTRAL.value]


def _listing(request: Request, actor: Actor) -> dict[str, Any]:
    q = request.query_params.get("q", "").strip()[:80]
    after_text = request.query_params.get("after", "")
    after = int(after_text) if after_text.isdigit() and len(after_text) < 10 else None
    with platform_of(request).sessions() as s:
        items, next_after = admin.list_users(s, actor, search=q or None, after=after, limit=PAGE)
    more = urlencode({"q": q, "after": next_after}) if next_after else None
    return {"users": items, "q": q, "more": more}


async def _page(
    request: Request,
    actor: Actor,
    *,
    typed: dict[str, str] | None = None,
    problems: list[FieldProblem] | None = None,
    edit: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    """The list and the forms; ``edit`` is a refused change of one user (its id, what was
    typed and the problems), shown in place in that user's row, or above the list when the
    row is not on this page."""
    ctx = await run_in_threadpool(_listing, request, actor)
    problems = list(problems or [])
    if edit is not None and all(u["id"] != edit["id"] for u in ctx["users"]):
        problems += edit["problems"]
        edit = None
    ctx |= {
        "typed": typed or {},
        "problems": problems,
        "edit": edit or {},
        "roles": _roles_for(actor),
        "min_length": MIN_LENGTH,
        "done": request.query_params.get("done", ""),
        "who": request.query_params.get("who", "")[:80],
    }
    return pages.render(request, "admin/users.html", ctx, actor=actor, status=status)


def _done(what: str, who: str) -> RedirectResponse:
    return RedirectResponse("/users?" + urlencode({"done": what, "who": who}), status_code=303)


@router.get("/users")
async def users_page(request: Request, actor: WebActor) -> Response:
    require_role(actor, *admin.ADMIN_ROLES)
    return await _page(request, actor)


@router.post("/users", dependencies=[Csrf])
async def create(
    request: Request,
    actor: WebActor,
    username: str = Form("", max_length=200),
    password: str = Form("", max_length=1000),
    role: str = Form("", max_length=20),
    province_code: str = Form("", max_length=20),
    ward_code: str = Form("", max_length=20),
    site_id: str = Form("", max_length=40),
    person_id: str = Form("", max_length=60),
) -> Response:
    require_role(actor, *admin.ADMIN_ROLES)
    typed = {
        "username": username,
        "role": role,
        "province_code": province_code,
        "ward_code": ward_code,
        "site_id": site_id,
        "person_id": person_id,
    }
    if role not in ROLES:
        problem = FieldProblem("role", "unknown_role", "Hãy chọn vai trò", "choose a role")
        return await _page(request, actor, typed=typed, problems=[problem], status=422)

    def job(s: Session) -> str:
        user = create_user(
            s,
            actor,
            username,
            password,
            Role(role),
            province_code=province_code.strip() or None,
            ward_code=ward_code.strip() or None,
            site_id=site_id.strip() or None,
            person_id=person_id.strip() or None,
        )
        return user.username

    try:
        name = await run_in_threadpool(platform_of(request).in_transaction, job)
    except ServiceError as exc:
        return await _page(request, actor, typed=typed, problems=exc.problems, status=exc.status)
    return _done("created", name)


async def _act(
    request: Request, actor: Actor, user_id: SmallRowId, job: Any, what: str
) -> Response:
    require_role(actor, *admin.ADMIN_ROLES)
    platform = platform_of(request)
    try:
        view = await run_in_threadpool(platform.in_transaction, job)
    except ServiceError as exc:
        return await _page(request, actor, problems=exc.problems, status=exc.status)
    platform.forget_user(user_id)
    return _done(what, str(view["username"]))


@router.post("/users/{user_id}/active", dependencies=[Csrf])
async def set_active(
    request: Request, actor: WebActor, user_id: SmallRowId, active: int = Form(0)
) -> Response:
    """Disable (``active=0``) or enable again (``active=1``)."""
    change = admin.UserChange(disabled=not active)
    return await _act(
        request,
        actor,
        user_id,
        lambda s: admin.update_user(s, actor, user_id, change),
        "enabled" if active else "disabled",
    )


@router.post("/users/{user_id}/change", dependencies=[Csrf])
async def change(
    request: Request,
    actor: WebActor,
    user_id: SmallRowId,
    role: str = Form("", max_length=20),
    province_code: str = Form("", max_length=20),
    ward_code: str = Form("", max_length=20),
    site_id: str = Form("", max_length=40),
    person_id: str = Form("", max_length=60),
) -> Response:
    """Change a user's role or area (``admin.update_user``: the grant rule, the audit and
    the end of the user's sessions are the service's). The role's own key is read (a
    commune's ward, a site's site...); the form comes filled with the user's present ones."""
    require_role(actor, *admin.ADMIN_ROLES)
    typed = {
        "role": role,
        "province_code": province_code,
        "ward_code": ward_code,
        "site_id": site_id,
        "person_id": person_id,
    }
    if role not in ROLES:
        problem = FieldProblem("role", "unknown_role", "Hãy chọn vai trò", "choose a role")
        edit = {"id": user_id, "typed": typed, "problems": [problem]}
        return await _page(request, actor, edit=edit, status=422)
    change = admin.UserChange(
        role=Role(role),
        province_code=province_code.strip() or None,
        ward_code=ward_code.strip() or None,
        site_id=site_id.strip() or None,
        person_id=person_id.strip() or None,
    )

    def job(s: Session) -> tuple[str, bool]:
        version = admin.get_user(s, actor, user_id).token_version
        view = admin.update_user(s, actor, user_id, change)
        # the service moves the token version on only when the role or area changed
        return str(view["username"]), admin.get_user(s, actor, user_id).token_version != version

    platform = platform_of(request)
    try:
        name, changed = await run_in_threadpool(platform.in_transaction, job)
    except ServiceError as exc:
        edit = {"id": user_id, "typed": typed, "problems": exc.problems}
        return await _page(request, actor, edit=edit, status=exc.status)
    platform.forget_user(user_id)
    return _done("changed" if changed else "unchanged", name)


@router.post("/users/{user_id}/reset", dependencies=[Csrf])
async def reset(
    request: Request,
    actor: WebActor,
    user_id: SmallRowId,
    password: str = Form("", max_length=1000),
) -> Response:
    return await _act(
        request,
        actor,
        user_id,
        lambda s: admin.reset_password(s, actor, user_id, password),
        "reset",
    )
