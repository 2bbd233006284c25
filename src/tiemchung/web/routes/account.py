"""The change-password page: a user replaces their password, and must before anything else
when an administrator chose it (a new user, a reset; :mod:`tiemchung.web.guard` sends every
other page here until it is done). The same service as ``POST /api/v1/auth/password``."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from tiemchung.auth.session import COOKIE, create_cookie
from tiemchung.auth.throttle import signin_throttle
from tiemchung.auth.users import change_own_password
from tiemchung.registry.errors import FieldProblem, ServiceError
from tiemchung.store.db import DbSession as Session
from tiemchung.web import pages
from tiemchung.web.guard import Csrf, PasswordActor, platform_of
from tiemchung.web.routes.auth import HOME

router = APIRouter(include_in_schema=False)


@router.get("/password")
async def password_page(request: Request, actor: PasswordActor) -> Response:
    forced = (
        actor.user_id is not None and platform_of(request).user_state(actor.user_id).must_change
    )
    return pages.render(
        request, "admin/password.html", {"forced": forced, "problems": []}, actor=actor
    )


@router.post("/password", dependencies=[Csrf])
async def change_password(
    request: Request,
    actor: PasswordActor,
    old_password: str = Form("", max_length=1000),
    new_password: str = Form("", max_length=1000),
    confirm: str = Form("", max_length=1000),
) -> Response:
    """Check and store the new password, then a new session cookie (the change ended every
    session of the old one, this one included) and on to the user's home page."""
    platform = platform_of(request)
    forced = actor.user_id is not None and platform.user_state(actor.user_id).must_change
    problems: list[FieldProblem] = []
    if new_password != confirm:
        problems.append(
            FieldProblem(
                "confirm",
                "mismatch",
                "Hai lần nhập mật khẩu mới không khớp",
                "the two new passwords differ",
            )
        )
    ttl = platform.settings.token_ttl_minutes

    def job(s: Session) -> tuple[str, int]:
        user = change_own_password(s, actor.username, old_password, new_password)
        return create_cookie(platform.token_secret, user, ttl)

    throttle = signin_throttle(request.app.state)
    client = request.client.host if request.client else "unknown"
    wait = 0 if problems else await run_in_threadpool(throttle.wait_seconds, actor.username, client)
    if wait:
        problems = [
            FieldProblem(
                "old_password",
                "too_many_attempts",
                "Sai mật khẩu nhiều lần: hãy chờ rồi thử lại",
                "too many failed attempts: wait, then try again",
            )
        ]
    if not problems:
        try:
            value, max_age = await run_in_threadpool(platform.in_transaction, job)
            await run_in_threadpool(throttle.succeeded, actor.username, client)
        except ServiceError as exc:
            if exc.status == 401:  # a wrong current password counts as a failed sign-in
                await run_in_threadpool(throttle.failed, actor.username, client)
            problems = exc.problems
    if problems:
        return pages.render(
            request,
            "admin/password.html",
            {"forced": forced, "problems": problems},
            actor=actor,
            status=422,
        )
    if actor.user_id is not None:
        platform.forget_user(actor.user_id)
    response = RedirectResponse(HOME[actor.role] + "?password=changed", status_code=303)
    response.set_cookie(
        COOKIE,
        value,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=pages._secure(request),
    )
    return response
