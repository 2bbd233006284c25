"""OAuth2 password flow: a username and password for a signed bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm
from starlette.concurrency import run_in_threadpool

from tiemchung.api.deps import PlatformDep
from tiemchung.api.problems import ERROR_RESPONSES
from tiemchung.api.schemas import Token
from tiemchung.api.security import create_token
from tiemchung.registry.audit import audit
from tiemchung.registry.errors import FieldProblem, ServiceError
from tiemchung.registry.models import User
from tiemchung.registry.scope import Actor
from tiemchung.registry.users import actor_for, authenticate

router = APIRouter(tags=["auth"])


@router.post(
    "/auth/token",
    response_model=Token,
    responses={
        401: ERROR_RESPONSES[401] | {"description": "Wrong username or password"},
        422: ERROR_RESPONSES[422],
    },
)
async def token(
    platform: PlatformDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> Token:
    """Exchange a username and password for a bearer token (expires after a work shift)."""

    def check() -> User | None:
        with platform.sessions() as session:
            return authenticate(session, form.username, form.password)

    user = await run_in_threadpool(check)  # argon2 is deliberately slow: keep it off the loop
    if user is None:
        name = form.username[:80]
        await platform.write(lambda s: audit(s, Actor.anonymous(name), "auth.failed", "user", name))
        raise ServiceError(
            401,
            "Not authenticated / Chưa đăng nhập",
            [
                FieldProblem(
                    "password",
                    "bad_credentials",
                    "Sai tên đăng nhập hoặc mật khẩu",
                    "wrong username or password",
                )
            ],
        )
    actor = actor_for(user)
    await platform.write(lambda s: audit(s, actor, "auth.login", "user", user.id))
    tok, ttl = create_token(
        platform.settings.token_secret(), user, platform.settings.token_ttl_minutes
    )
    return Token(access_token=tok, expires_in=ttl, role=user.role)
