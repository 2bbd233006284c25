"""OAuth2 password flow: a username and password for a signed bearer token.

Failed attempts are throttled exactly as the web sign-in's are, with the same counters (one
:class:`~tiemchung.auth.throttle.SignInThrottle` per server process, shared with the sign-in
page through :func:`~tiemchung.auth.throttle.signin_throttle`): per user name *and* client
address, 5 failures are free (the 401 says how many are left from the 3rd), then each failure
doubles the wait (30 s, 1 min, 2 min …); an attempt during the wait is answered 429 with
``Retry-After``. Sharing the counters means a password
guesser gets five free tries per account in all, not five on each door; counting per source
means nobody elsewhere can make a nurse wait by failing with her user name.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm
from starlette.concurrency import run_in_threadpool

from tiemchung.api.deps import PlatformDep
from tiemchung.api.problems import ERROR_RESPONSES, MEDIA_TYPE, error_doc, with_request_id
from tiemchung.api.schemas import Token
from tiemchung.auth.security import create_token
from tiemchung.auth.throttle import signin_throttle, wait_words
from tiemchung.auth.users import Refusal, actor_for, authenticate
from tiemchung.registry.errors import FieldProblem, ServiceError
from tiemchung.registry.models import User
from tiemchung.registry.scope import Actor
from tiemchung.store.audit import audit

router = APIRouter(tags=["auth"])


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def throttled(wait: int, instance: str) -> JSONResponse:
    vi, en = wait_words(wait)
    exc = ServiceError(
        429,
        "Too many attempts / Quá nhiều lần thử",
        [
            FieldProblem(
                "password",
                "too_many_attempts",
                f"Sai mật khẩu nhiều lần: thử lại sau {vi}",
                f"too many failed attempts: try again in {en}",
            )
        ],
    )
    return JSONResponse(
        with_request_id(exc.as_problem(instance)),
        status_code=429,
        media_type=MEDIA_TYPE,
        headers={"Retry-After": str(wait)},
    )


@router.post(
    "/auth/token",
    response_model=Token,
    responses={
        401: ERROR_RESPONSES[401] | {"description": "Wrong username or password"},
        403: error_doc(
            "The password was set by an administrator: change it first (POST /auth/password)"
        ),
        422: ERROR_RESPONSES[422],
        429: error_doc(
            "Too many failed attempts for this user name from this client (see Retry-After)"
        ),
    },
)
async def token(
    request: Request,
    platform: PlatformDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> Token | JSONResponse:
    """Exchange a username and password for a bearer token (expires after a work shift)."""
    throttle = signin_throttle(request.app.state)
    client = _client(request)
    wait = await run_in_threadpool(throttle.wait_seconds, form.username, client)
    if wait:
        return throttled(wait, request.url.path)

    def check() -> User | None:
        with platform.sessions() as session:
            return authenticate(session, form.username, form.password)

    user = await run_in_threadpool(check)  # argon2 is deliberately slow: keep it off the loop
    if user is None:
        failure = await run_in_threadpool(throttle.failed, form.username, client)
        name = form.username[:80]
        await platform.write(lambda s: audit(s, Actor.anonymous(name), "auth.failed", "user", name))
        vi, en = "Sai tên đăng nhập hoặc mật khẩu", "wrong username or password"
        if failure.wait:
            wvi, wen = wait_words(failure.wait)
            vi += f"; chờ {wvi} trước lần thử sau (mỗi lần sai tiếp theo gấp đôi)"
            en += f"; wait {wen} before the next attempt (doubling with each further failure)"
        elif failure.warn:
            vi += f"; còn {failure.remaining} lần thử trước khi phải chờ"
            en += f"; {failure.remaining} attempt(s) left before a wait"
        raise ServiceError(
            401,
            "Not authenticated / Chưa đăng nhập",
            [FieldProblem("password", "bad_credentials", vi, en)],
        )
    await run_in_threadpool(throttle.succeeded, form.username, client)
    actor = actor_for(user)
    if user.must_change_password:
        # right password, but one an administrator chose: no token until it is replaced
        why = Refusal.MUST_CHANGE
        raise ServiceError(
            403,
            "Password change required / Cần đổi mật khẩu",
            [FieldProblem("password", why.value, *why.message)],
        )
    await platform.write(lambda s: audit(s, actor, "auth.login", "user", user.id))
    tok, ttl = create_token(
        platform.settings.token_secret(), user, platform.settings.token_ttl_minutes
    )
    return Token(access_token=tok, expires_in=ttl, role=user.role)
