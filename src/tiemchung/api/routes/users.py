"""User administration (province and central) and a user's own password change.

Every route calls :mod:`tiemchung.auth.admin` (or :mod:`tiemchung.auth.users`), the same
services as ``tiemchung users`` and the users page. The writes hash passwords with argon2
(deliberately slow), so they run on a worker thread in their own transaction rather than on
the group-commit writer, whose doses must not wait behind them; each change is audited in
that transaction, and the server forgets the user's cached state at once so a disabled user's
next request is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from tiemchung.api.deps import CurrentActor, PlatformDep
from tiemchung.api.problems import ERROR_RESPONSES, error_doc
from tiemchung.api.routes.auth import throttled
from tiemchung.api.schemas import Token
from tiemchung.api.users_schemas import (
    PasswordChange,
    PasswordReset,
    UserCreate,
    UserPage,
    UserPatch,
    UserPublic,
)
from tiemchung.auth import admin
from tiemchung.auth.security import create_token
from tiemchung.auth.throttle import signin_throttle
from tiemchung.auth.users import change_own_password, create_user
from tiemchung.core import Platform
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.scope import Role
from tiemchung.serving.types import SmallRowId
from tiemchung.store.db import DbSession as Session

router = APIRouter(tags=["users"])
T = TypeVar("T")
_ERRORS = {
    **ERROR_RESPONSES,
    403: error_doc("Not a province or central user, or a role or area beyond the caller's own"),
    404: error_doc("No such user within the caller's area"),
    409: error_doc("The username is taken, or the change would apply to the caller itself"),
    422: error_doc("A field breaks a rule: the password policy, an unknown ward, site …"),
}


async def _write(platform: Platform, job: Callable[[Session], T]) -> T:
    return await run_in_threadpool(platform.in_transaction, job)


@router.post("/users", status_code=201, response_model=UserPublic, responses=_ERRORS)
async def add_user(body: UserCreate, actor: CurrentActor, platform: PlatformDep) -> Any:
    """Create a user within the caller's area and below (a province user never creates a
    central user nor one of another province: 403 ``grant_out_of_area``). The password is
    checked against the policy, and the user must change it at the first sign-in."""
    admin.require_admin(actor)

    def job(s: Session) -> dict[str, Any]:
        user = create_user(
            s,
            actor,
            body.username,
            body.password,
            Role(body.role),
            province_code=body.province_code,
            ward_code=body.ward_code,
            site_id=body.site_id,
            person_id=body.person_id,
        )
        return admin.user_view(user, body.person_id if body.role == "citizen" else None)

    return await _write(platform, job)


@router.get("/users", response_model=UserPage, responses=_ERRORS)
async def list_users(
    actor: CurrentActor,
    platform: PlatformDep,
    role: Annotated[Role | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=80, description="part of the username")] = None,
    active: bool | None = None,
    after: SmallRowId | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:
    """The users the caller administers, by id (keyset pages: ``after``)."""

    def read() -> tuple[list[dict[str, Any]], int | None]:
        with platform.sessions() as s:
            return admin.list_users(
                s, actor, role=role, search=q, active=active, after=after, limit=limit
            )

    items, next_after = await run_in_threadpool(read)
    return UserPage(items=[UserPublic.model_validate(u) for u in items], next_after=next_after)


@router.patch("/users/{user_id}", response_model=UserPublic, responses=_ERRORS)
async def change_user(
    user_id: SmallRowId, body: UserPatch, actor: CurrentActor, platform: PlatformDep
) -> Any:
    """Change the role, the area or ``disabled``. A disabled user cannot sign in and every
    token or session they hold stops working; a new role or area ends them too (a token
    carries the role it was issued with)."""
    change = admin.UserChange(
        role=Role(body.role) if body.role else None,
        province_code=body.province_code,
        ward_code=body.ward_code,
        site_id=body.site_id,
        person_id=body.person_id,
        disabled=body.disabled,
    )
    view = await _write(platform, lambda s: admin.update_user(s, actor, user_id, change))
    platform.forget_user(user_id)
    return view


@router.post("/users/{user_id}:reset-password", response_model=UserPublic, responses=_ERRORS)
async def reset_password(
    user_id: SmallRowId, body: PasswordReset, actor: CurrentActor, platform: PlatformDep
) -> Any:
    """Set a temporary password (checked against the policy): the user's tokens stop working
    and the user must choose a new password before any other request."""
    view = await _write(platform, lambda s: admin.reset_password(s, actor, user_id, body.password))
    platform.forget_user(user_id)
    return view


@router.post(
    "/auth/password",
    response_model=Token,
    tags=["auth"],
    responses={
        400: ERROR_RESPONSES[400],
        401: error_doc("Wrong username or current password"),
        422: error_doc("The new password breaks the policy (named in errors[])"),
        429: error_doc("Too many failed attempts for this user name from this client"),
    },
)
async def change_password(body: PasswordChange, request: Request, platform: PlatformDep) -> Any:
    """Replace one's own password (the old one proves who asks: no token needed, since a
    user whose password an administrator set gets no token before changing it). Every
    earlier token stops working; the answer is a new one. A wrong old password counts as a
    failed sign-in: the same throttle as ``/auth/token`` and the sign-in page, so this door
    gives a password guesser no more tries than the others."""
    throttle = signin_throttle(request.app.state)
    client = request.client.host if request.client else "unknown"
    wait = await run_in_threadpool(throttle.wait_seconds, body.username, client)
    if wait:
        return throttled(wait, request.url.path)
    secret, ttl = platform.settings.token_secret(), platform.settings.token_ttl_minutes

    def job(s: Session) -> tuple[Token, int]:
        user = change_own_password(s, body.username, body.old_password, body.new_password)
        token, expires = create_token(secret, user, ttl)
        return Token(access_token=token, expires_in=expires, role=user.role), user.id

    try:
        answer, uid = await _write(platform, job)
    except ServiceError as exc:
        if exc.status == 401:
            throttle.failed(body.username, client)
        raise
    await run_in_threadpool(throttle.succeeded, body.username, client)
    platform.forget_user(uid)
    return answer
