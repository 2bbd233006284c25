"""The pages as one piece the server adds to its app: error pages, the sign-in guard's
answers, the static files and every page router.

Kept out of ``web/__init__.py`` so that importing any page module does not import all the
others (the routes import ``tiemchung.web`` for :data:`~tiemchung.web.STATIC_DIR`).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from tiemchung.web import STATIC_DIR, errors, guard, i18n
from tiemchung.web.routes import (
    account,
    aefi,
    audit_log,
    auth,
    citizen,
    dashboard,
    desk,
    imports,
    invitations,
    lots,
    products,
    registration,
    sessions,
    shell,
    sites,
    sms,
    sms_templates,
    stock,
    users,
    worklist,
)

#: The page routers, in the order they are matched.
ROUTERS = (
    shell,
    auth,
    account,
    desk,
    worklist,
    citizen,
    dashboard,
    stock,
    sessions,
    invitations,
    users,
    sites,
    lots,
    products,
    sms_templates,
    audit_log,
    aefi,
    imports,
    sms,
    registration,
)


def install(app: FastAPI) -> None:
    """Add the pages to ``app``, whose own error handlers (the API's) are installed already."""
    i18n.load_all()  # a broken catalogue stops the start-up, not a request
    # first: it wraps every handler installed so far (the API's) for browser routes; the
    # guard's own handlers (sign-in, role, CSRF pages) come after and stay as they are
    errors.install(app)  # browser routes: an HTML page; /api/: problem+json as before
    guard.install(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in ROUTERS:
        app.include_router(module.router)
