"""The ASGI application: routers, problem handlers, and the platform core on app.state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import tiemchung
from tiemchung import web
from tiemchung.api import problems
from tiemchung.api.inputs import NoNul
from tiemchung.api.routes import (
    auth,
    certificates,
    doses,
    health,
    persons,
    reference,
    stats,
    tickets,
    verify,
    worklists,
)
from tiemchung.core import Platform

DESCRIPTION = """
API of **tiemchung**, the vaccination data platform rooted in the population register.

Authenticate with `POST /api/v1/auth/token` (OAuth2 password flow) and send the token as
`Authorization: Bearer …`. Every query is scoped to the caller's area (central, province,
commune/ward, site, citizen). Errors are RFC 9457 `application/problem+json` documents whose
`errors[]` name the field and the rule broken, in Vietnamese and English.
"""


def create_app(platform: Platform | None = None) -> FastAPI:
    """Build the app; the platform is created from settings when not given."""
    owned = platform is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        core: Platform = app.state.platform
        core.start()
        yield
        if owned:
            core.close()

    app = FastAPI(
        title="tiemchung API",
        version=tiemchung.__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.state.platform = platform or Platform()
    problems.install(app)
    for module in (
        health,
        auth,
        doses,
        persons,
        reference,
        certificates,
        verify,
        worklists,
        tickets,
        stats,
    ):
        app.include_router(module.router, prefix="/api/v1", dependencies=[NoNul])
    web.install(app)  # the pages at /, over the same services
    return app
