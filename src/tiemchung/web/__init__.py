"""tiemchung.web: the server-rendered pages (Jinja2 + htmx) for every role.

:func:`install` adds them to the API's FastAPI app at ``/``: the pages call the same services
with the same :class:`~tiemchung.registry.scope.Actor` as the API routes, in the same process,
over the same writer. Static assets (htmx, the stylesheet, the desk's script) are served by the
app itself from ``web/static``: sites may be offline from the internet, so nothing comes from a
CDN.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    from tiemchung.auth.throttle import SignInThrottle
    from tiemchung.web import errors, guard, i18n
    from tiemchung.web.routes import auth, citizen, dashboard, desk, shell, worklist

    i18n.load_all()  # a broken catalogue stops the start-up, not a request
    app.state.web_throttle = SignInThrottle()
    # first: it wraps every handler installed so far (the API's) for browser routes; the
    # guard's own handlers (sign-in, role, CSRF pages) come after and stay as they are
    errors.install(app)  # browser routes: an HTML page; /api/: problem+json as before
    guard.install(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (shell, auth, desk, worklist, citizen, dashboard):
        app.include_router(module.router)
