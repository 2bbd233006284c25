"""Dependencies routes declare: the platform, a read session, the authenticated actor."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from starlette.concurrency import run_in_threadpool

from tiemchung.auth.clientgate import client_gate
from tiemchung.auth.clients import is_client_token
from tiemchung.auth.security import token_actor
from tiemchung.auth.tokens import TokenError, TokenExpiredError
from tiemchung.auth.users import Refusal, refusal
from tiemchung.core import Platform
from tiemchung.registry.errors import FieldProblem, ServiceError, role_not_allowed
from tiemchung.registry.scope import Actor, Role
from tiemchung.store.db import DbSession

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def get_platform(request: Request) -> Platform:
    return request.app.state.platform  # type: ignore[no-any-return]


PlatformDep = Annotated[Platform, Depends(get_platform)]


def read_session(platform: PlatformDep) -> Iterator[DbSession]:
    with platform.sessions() as session:
        yield session


ReadSession = Annotated[DbSession, Depends(read_session)]


def _unauthorized(rule: str, vi: str, en: str) -> ServiceError:
    return ServiceError(
        401, "Not authenticated / Chưa đăng nhập", [FieldProblem("Authorization", rule, vi, en)]
    )


async def current_actor(
    platform: PlatformDep, token: Annotated[str | None, Depends(oauth2)]
) -> Actor:
    """The caller, from a bearer token. Async so that FastAPI does not hop to a thread for
    it on every request (checking a token takes microseconds)."""
    if not token:
        raise _unauthorized("missing_token", "Cần đăng nhập", "a bearer token is required")
    try:
        actor, version = token_actor(platform.token_secret, token)
    except TokenExpiredError as exc:
        raise _unauthorized(
            "token_expired", "Phiên đăng nhập đã hết hạn", "the token has expired"
        ) from exc
    except TokenError as exc:
        raise _unauthorized("invalid_token", "Token không hợp lệ", "invalid token") from exc
    if actor.user_id is None:
        raise _unauthorized("inactive_user", "Tài khoản đã bị khoá", "the user is disabled")
    why = refusal(platform.user_state(actor.user_id), version)
    if why is Refusal.MUST_CHANGE:
        # signed in, but the administrator's password must be replaced first: 403, not 401
        raise ServiceError(
            403,
            "Password change required / Cần đổi mật khẩu",
            [FieldProblem("Authorization", why.value, *why.message)],
        )
    if why is not None:
        raise _unauthorized(why.value, *why.message)
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


def require_roles(actor: Actor, *roles: Role) -> None:
    if actor.role not in roles:
        raise role_not_allowed(
            f"Vai trò {actor.role.value} không được phép",
            f"role {actor.role.value} may not do this",
        )


def require_scope(
    *needed: str, with_param: dict[str, str] | None = None
) -> Callable[..., Awaitable[Actor]]:
    """A dependency giving the caller as an :class:`Actor`, for a route a partner client may
    call: a client token must carry every scope of ``needed`` (else 403 naming the missing
    ones), still hold (401 once disabled or rotated) and be within its rate (429); a staff
    token works as :func:`current_actor`, its role and area deciding as today. One line per
    route: ``actor: Annotated[Actor, Depends(require_scope("changes.read"))]``.
    ``with_param`` adds a scope when a query parameter is sent (``_include`` of the patient
    needs ``system/Patient.read`` too)."""
    extra = dict(with_param or {})

    async def scoped(
        request: Request,
        platform: PlatformDep,
        token: Annotated[str | None, Depends(oauth2)],
    ) -> Actor:
        if token and is_client_token(token):
            gate = client_gate(request.app.state, platform.settings)
            wanted = needed + tuple(s for p, s in extra.items() if p in request.query_params)
            return await run_in_threadpool(
                gate.admit, platform.sessions, platform.token_secret, token, wanted
            )
        return await current_actor(platform, token)

    return scoped
