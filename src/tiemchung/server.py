"""The whole server as one ASGI app: the API, the pages, their error answers, and the
platform's start and stop.

This module sits above both ``api`` and ``web`` (which never import each other): it is the
only place that knows both are served from one process, on one
:class:`~tiemchung.core.Platform`, sharing one sign-in throttle. ``tiemchung serve`` runs
``tiemchung.server:create_app``; tests build it with their own platform.

Order matters: the API's problem handlers are installed first, then the pages' error handling
wraps them (a browser route gets a page, ``/api/`` still gets ``application/problem+json``),
then the guard's own handlers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from tiemchung import logmask
from tiemchung.api.app import create_api
from tiemchung.api.routes import metrics as metrics_route
from tiemchung.config import get_settings
from tiemchung.core import Platform
from tiemchung.fhir.export_runner import runner_for as export_runner_for
from tiemchung.registry.imports.runner import runner_for
from tiemchung.serving import requestid
from tiemchung.serving.metrics import RequestMetrics
from tiemchung.web import site


def create_app(platform: Platform | None = None) -> FastAPI:
    """Build the app; the platform is created from settings when not given, and then also
    closed with the app (a platform passed in belongs to the caller, who closes it)."""
    owned = platform is None
    if owned:  # a served process (each ``serve --workers`` worker): its logs masked, its format
        # (tests pass their own platform and keep pytest's logging)
        settings = get_settings()
        logmask.install(settings.log_level, settings.log_format)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        core: Platform = app.state.platform
        core.start()
        # the uploaded imports left queued or running by the last process run again now
        await run_in_threadpool(runner_for(core).start)
        # and the bulk exports (``$export``) likewise; the thread also deletes expired ones
        await run_in_threadpool(export_runner_for(core).start)
        try:
            yield
        finally:  # a shutdown that raises or is cancelled still closes what the app owns
            if owned:
                core.close()

    app = create_api(lifespan)
    app.state.platform = platform or Platform()
    # one sign-in throttle per process for both doors that take a password (the token
    # endpoint, the sign-in page), made on first use by auth.throttle.signin_throttle: a
    # failure at either counts at both, and every worker shares its count (in the database or
    # Redis: tiemchung.auth.throttlestore). Not made here: building the app reads no settings.
    site.install(app)  # the pages at /, over the same services
    # Prometheus: every request counted by route template; /metrics for the monitoring only
    app.add_middleware(RequestMetrics)
    app.include_router(metrics_route.router)
    requestid.install(app)  # outermost: every answer and log line of a request has its id
    return app
