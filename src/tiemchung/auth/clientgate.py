"""The door for partner clients (issue 19 point 4): the token endpoint's exchange of client
credentials for a token, and the check of a client token on every request (still enabled,
not rotated, holding the route's scopes, within its rate).

One :class:`ClientGate` per server process, kept on the app's state (:func:`client_gate`):
it caches each client's standing for ``client_cache_s`` seconds (a client disabled or rotated
by the CLI, another process, is refused within that time; one changed by this process at
once, :meth:`ClientGate.forget`), and brakes guessing of a client's secret per client id and
source with the sign-in throttle, in the store every process shares. The rate limit is
counted in the database (:mod:`tiemchung.auth.ratelimit`), so every process shares it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tiemchung.auth import clients, ratelimit
from tiemchung.auth import scopes as scopes_mod
from tiemchung.auth.throttle import SignInThrottle, wait_words
from tiemchung.auth.throttlestore import ThrottleStore, shared_store
from tiemchung.auth.tokens import TokenError, TokenExpiredError
from tiemchung.config import Settings
from tiemchung.registry.errors import FieldProblem, ServiceError
from tiemchung.registry.scope import Actor

Sessions = Callable[[], Any]  # the platform's sessionmaker: ``with sessions() as s``


class RateLimitedError(ServiceError):
    """A client over its requests a minute: 429, ``Retry-After`` the seconds to the next
    minute (the API's problem handler and the FHIR routes both send the header)."""

    def __init__(self, limit: int, retry_after: int) -> None:
        super().__init__(
            429,
            "Too many requests / Quá nhiều yêu cầu",
            [
                FieldProblem(
                    "rate_per_minute",
                    "rate_limited",
                    f"Ứng dụng đã dùng hết {limit} yêu cầu mỗi phút: "
                    f"thử lại sau {retry_after} giây",
                    f"the client used its {limit} requests a minute: retry in {retry_after} s",
                )
            ],
        )
        self.retry_after = retry_after


def _unauthorized(rule: str, vi: str, en: str) -> ServiceError:
    return ServiceError(
        401, "Not authenticated / Chưa đăng nhập", [FieldProblem("Authorization", rule, vi, en)]
    )


@dataclass
class OAuthAnswer:
    """The token endpoint's answer: a status and an RFC 6749 §5.1/§5.2 body."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def oauth_error(status: int, error: str, vi: str, en: str, **headers: str) -> OAuthAnswer:
    """An RFC 6749 §5.2 error; its description says it in both languages."""
    return OAuthAnswer(status, {"error": error, "error_description": f"{vi} / {en}"}, headers)


class ClientGate:
    """Checks of client tokens and credentials for one server process."""

    def __init__(
        self,
        settings: Settings,
        clock: Callable[[], float] = time.time,
        cache_s: float | None = None,
        store: ThrottleStore | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.cache_s = settings.client_cache_s if cache_s is None else cache_s
        self.throttle = SignInThrottle(store=store, name="client")
        self._states: dict[str, tuple[float, clients.ClientState | None]] = {}

    def forget(self, client_id: str) -> None:
        """Drop a client's cached standing after changing it in this process."""
        self._states.pop(client_id, None)

    def _state(self, sessions: Sessions, client_id: str) -> clients.ClientState | None:
        now = time.monotonic()
        hit = self._states.get(client_id)
        if hit is not None and now - hit[0] < self.cache_s:
            return hit[1]
        with sessions() as s:
            state = clients.client_state(s, client_id)
        self._states[client_id] = (now, state)
        return state

    # -- every request with a client token -----------------------------------------------
    def admit(
        self, sessions: Sessions, secret: bytes, token: str, needed: tuple[str, ...]
    ) -> Actor:
        """The reader a client token stands for, if it still holds, carries ``needed`` and
        is within the client's rate; else the 401, 403 or 429 to answer."""
        try:
            grant = clients.verify_token(secret, token)
            if self.clock() >= grant.expires:
                raise TokenExpiredError("Signature has expired")
        except TokenExpiredError as exc:
            raise _unauthorized(
                "token_expired", "Token đã hết hạn", "the token has expired"
            ) from exc
        except TokenError as exc:
            raise _unauthorized("invalid_token", "Token không hợp lệ", "invalid token") from exc
        state = self._state(sessions, grant.client_id)
        if state is None or state.disabled:
            raise _unauthorized(
                "client_disabled", "Ứng dụng đối tác đã bị khoá", "the client is disabled"
            )
        if state.token_version != grant.token_version:
            raise _unauthorized(
                "token_revoked",
                "Token đã bị thu hồi (khoá bí mật đã đổi): hãy lấy token mới",
                "the token was revoked (the secret was rotated): get a new token",
            )
        lacking = scopes_mod.missing(grant.scopes, needed)
        if lacking:
            raise scopes_mod.scope_refused(lacking)
        limit = state.rate_per_minute or self.settings.client_rate_per_minute
        with sessions() as s:
            decision = ratelimit.hit(s, f"client:{grant.client_id}", limit, self.clock())
        if not decision.allowed:
            raise RateLimitedError(limit, decision.retry_after)
        return grant.actor

    # -- the token endpoint -------------------------------------------------------------------
    def exchange(
        self,
        sessions: Sessions,
        secret: bytes,
        form: dict[str, str],
        basic: tuple[str, str] | None,
        source: str,
    ) -> OAuthAnswer:
        """``grant_type=client_credentials`` with the client authenticated by HTTP Basic or
        the form's ``client_id``/``client_secret`` (RFC 6749 §2.3.1, §4.4): a token of the
        granted scopes, or the §5.2 error."""
        if basic is not None and ("client_id" in form or "client_secret" in form):
            return oauth_error(
                400,
                "invalid_request",
                "Chỉ dùng một cách xác thực ứng dụng (Basic hoặc biểu mẫu)",
                "use one client authentication method (Basic or the form), not both",
            )
        client_id, client_secret = basic or (
            form.get("client_id", ""),
            form.get("client_secret", ""),
        )
        if not client_id or not client_secret:
            return oauth_error(
                401,
                "invalid_client",
                "Thiếu client_id hoặc client_secret",
                "client_id and client_secret are required",
                **{"WWW-Authenticate": 'Basic realm="tiemchung"'},
            )
        wait = self.throttle.wait_seconds(client_id, source)
        if wait:
            vi, en = wait_words(wait)
            return oauth_error(
                429,
                "invalid_client",
                f"Quá nhiều lần xác thực sai: thử lại sau {vi}",
                f"too many failed authentications: try again in {en}",
                **{"Retry-After": str(wait)},
            )
        with sessions() as s:
            client = clients.authenticate(s, client_id, client_secret)
            if client is None:
                self.throttle.failed(client_id, source)
                return oauth_error(
                    401,
                    "invalid_client",
                    "Sai client_id hoặc client_secret, hoặc ứng dụng đã bị khoá",
                    "unknown client, wrong secret or disabled client",
                    **{"WWW-Authenticate": 'Basic realm="tiemchung"'},
                )
            self.throttle.succeeded(client_id, source)
            grant_type = form.get("grant_type", "")
            if grant_type != "client_credentials":
                return oauth_error(
                    400,
                    "unsupported_grant_type" if grant_type else "invalid_request",
                    f"grant_type phải là client_credentials (nhận được '{grant_type}')",
                    f"grant_type must be client_credentials (got '{grant_type}')",
                )
            try:
                granted = clients.grant(client, form.get("scope"))
            except ServiceError as exc:
                p = exc.problems[0]
                return oauth_error(400, "invalid_scope", p.message_vi, p.message_en)
            token, expires = clients.create_token(
                secret, client, granted, self.settings.client_token_ttl_minutes
            )
        body = {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": expires,
            "scope": " ".join(granted),
        }
        return OAuthAnswer(200, body, {"Cache-Control": "no-store", "Pragma": "no-cache"})


def client_gate(state: Any, settings: Settings) -> ClientGate:
    """The server process's one gate, kept on the app's ``state`` (made on first use: no
    await in between, so two requests cannot make two)."""
    found = getattr(state, "client_gate", None)
    if found is None:
        found = state.client_gate = ClientGate(settings, store=shared_store(state))
    return found  # type: ignore[no-any-return]


__all__ = ["ClientGate", "OAuthAnswer", "RateLimitedError", "client_gate", "oauth_error"]
