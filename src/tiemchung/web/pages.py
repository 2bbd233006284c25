"""Rendering pages: one Jinja2 environment per language, the context every page gets, and the
security headers every page is sent with.

An environment per language (rather than swapping translations per request) keeps rendering
free of shared mutable state: two requests in two languages can render at the same time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, pass_context, select_autoescape
from jinja2.runtime import Context

import tiemchung
from tiemchung.auth.session import CSRF_COOKIE, csrf_token, new_csrf_seed
from tiemchung.localtime import DATE_TIME, DEFAULT_ZONE, format_local
from tiemchung.registry.scope import Actor
from tiemchung.stats.numbers import fmt_pct
from tiemchung.web import i18n

#: No inline scripts or styles, nothing from another origin: the desk may be offline from
#: the internet, and a page with personal data must not be framed or leak its address.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _date(value: date | str | None) -> str:
    """dd/mm/yyyy, the way dates are written in Vietnam (partial dates kept partial)."""
    if value is None or value == "":
        return ""
    if isinstance(value, date):
        return f"{value:%d/%m/%Y}"
    parts = str(value).split("-")
    return "/".join(reversed(parts))


@pass_context
def _localtime(ctx: Context, value: datetime | str | None, fmt: str = DATE_TIME) -> str:
    """A stored moment (UTC) as the platform's wall-clock time: ``{{ x|localtime }}``.

    The zone comes from the page's context (``tz``, set by :func:`render` from the settings),
    so one cached environment serves every configured zone."""
    return format_local(value, ctx.get("tz") or DEFAULT_ZONE, fmt)


@lru_cache(maxsize=len(i18n.LANGUAGES))
def environment(lang: str) -> Environment:
    env = Environment(
        loader=PackageLoader("tiemchung.web", "templates"),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.gettext_for(lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters["ddmmyyyy"] = _date
    env.filters["localtime"] = _localtime
    # a share (0..1) as a percentage in the page's number format: 99,6% (vi), 99.6% (en)
    env.filters["percent"] = lambda share: fmt_pct(None if share is None else share * 100, lang)
    env.globals["version"] = tiemchung.__version__
    return env


def csrf_seed(request: Request) -> str:
    """The visitor's CSRF seed: the cookie's, or a new one set on the response."""
    seed = getattr(request.state, "csrf_seed", None)
    if seed is None:
        seed = request.cookies.get(CSRF_COOKIE) or new_csrf_seed()
        request.state.csrf_seed = seed
    return seed  # type: ignore[no-any-return]


def lang_of(request: Request) -> str:
    return i18n.request_lang(request)


def here(request: Request) -> str:
    """The current path and query (without ``lang``), for links back to this page."""
    query = "&".join(
        f"{quote(k)}={quote(v)}" for k, v in request.query_params.multi_items() if k != "lang"
    )
    return request.url.path + (f"?{query}" if query else "")


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    actor: Actor | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render ``template`` in the request's language with the common context."""
    lang = lang_of(request)
    platform = request.app.state.platform
    seed = csrf_seed(request)
    ctx: dict[str, Any] = {
        "request": request,
        "lang": lang,
        "other_lang": "en" if lang == "vi" else "vi",
        "actor": actor,
        "csrf": csrf_token(platform.token_secret, seed),
        "here": here(request),
        "static": lambda path: f"/static/{path}?v={tiemchung.__version__}",
        "say": lambda vi, en: en if lang == "en" else vi,
        "fragment": False,
        "tz": getattr(platform, "tz", None),
    }
    ctx.update(context or {})
    body = environment(lang).get_template(template).render(ctx)
    response = HTMLResponse(
        body, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})}
    )
    if request.cookies.get(CSRF_COOKIE) != seed:
        response.set_cookie(
            CSRF_COOKIE, seed, httponly=True, samesite="strict", secure=_secure(request)
        )
    asked = i18n.pick(request.query_params.get("lang"))
    if asked and request.cookies.get(i18n.COOKIE) != asked:
        set_lang_cookie(response, request, asked)
    return response


def set_lang_cookie(response: Any, request: Request, lang: str) -> None:
    response.set_cookie(
        i18n.COOKIE, lang, max_age=365 * 86400, samesite="lax", secure=_secure(request)
    )


def _secure(request: Request) -> bool:
    """Secure cookies when served over HTTPS (behind a TLS proxy that says so)."""
    proto = request.headers.get("x-forwarded-proto", request.url.scheme)
    return proto == "https"
