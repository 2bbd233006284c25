"""OAuth2 password flow: a username and password for a signed bearer token.

Failed attempts are throttled exactly as the web sign-in's are, with the same counters (one
:class:`~tiemchung.web.throttle.SignInThrottle` per server process, shared with the sign-in
page): 5 failures per user name or 30 per client address in 15 minutes, then 429 with
``Retry-After`` until the window has passed. Sharing the counters means a password guesser
gets five tries per account in all, not five on each door.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm
from starlette.concurrency import run_in_threadpool

from tiemchung.api.deps import PlatformDep
from tiemchung.api.problems import ERROR_RESPONSES, MEDIA_TYPE, _error, service_error_body
from tiemchung.api.schemas import Token
from tiemchung.api.security import create_token
from tiemchung.registry.audit import audit
from tiemchung.registry.errors import FieldProblem, ServiceError
from tiemchung.registry.models import User
from tiemchung.registry.scope import Actor
from tiemchung.registry.users import actor_for, authenticate
from tiemchung.web.throttle import SignInThrottle

router = APIRouter(tags=["auth"])


def throttle_of(request: Request) -> SignInThrottle:
    """The process's sign-in throttle: the web pages' one when they are installed (so both
    doors count the same failures), else one made for the API alone."""
    state = request.app.state
    found = getattr(state, "web_throttle", None)
    if found is None:
        found = state.web_throttle = SignInThrottle()
    return found  # type: ignore[no-any-return]


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def throttled(wait: int, instance: str) -> JSONResponse:
    minutes = -(-wait // 60)
    exc = ServiceError(
        429,
        "Too many attempts / Quá nhiều lần thử",
        [
            FieldProblem(
                "password",
                "too_many_attempts",
                f"Sai mật khẩu quá nhiều lần: thử lại sau {minutes} phút",
                f"too many failed attempts: try again in {minutes} minute(s)",
            )
        ],
    )
    return JSONResponse(
        service_error_body(exc, instance),
        status_code=429,
        media_type=MEDIA_TYPE,
        headers={"Retry-After": str(wait)},
    )


@router.post(
    "/auth/token",
    response_model=Token,
    responses={
        401: ERROR_RESPONSES[401] | {"description": "Wrong username or password"},
        422: ERROR_RESPONSES[422],
        429: _error("Too many failed attempts for this user name or client (see Retry-After)"),
    },
)
async def token(
    request: Request,
    platform: PlatformDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> Token | JSONResponse:
    """Exchange a username and password for a bearer token (expires after a work shift)."""
    throttle = throttle_of(request)
    client = _client(request)
    wait = throttle.wait_seconds(form.username, client)
    if wait:
        return throttled(wait, request.url.path)

    def check() -> User | None:
        with platform.sessions() as session:
            return authenticate(session, form.username, form.password)

    user = await run_in_threadpool(check)  # argon2 is deliberately slow: keep it off the loop
    if user is None:
        throttle.failed(form.username, client)
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
    throttle.succeeded(form.username)
    actor = actor_for(user)
    await platform.write(lambda s: audit(s, actor, "auth.login", "user", user.id))
    tok, ttl = create_token(
        platform.settings.token_secret(), user, platform.settings.token_ttl_minutes
    )
    return Token(access_token=tok, expires_in=ttl, role=user.role)
