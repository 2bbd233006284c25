"""Liveness, readiness, and the older combined health answer.

``/health/live`` asks nothing but the process (an orchestrator restarts a process that does
not answer it, and restarting never fixes a database); ``/health/ready`` asks everything a
request needs (serving/health.py) and answers 503 with a problem document naming each failed
check, so a balancer sends no traffic to a process that would fail it. ``/health`` keeps its
body for the monitors and scripts that read it, and answers 503 when degraded.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

import tiemchung
from tiemchung.api.deps import PlatformDep
from tiemchung.api.health_schemas import Liveness, ReadinessReport
from tiemchung.api.problems import error_doc
from tiemchung.api.schemas import Health
from tiemchung.registry.errors import ServiceError
from tiemchung.serving.health import readiness
from tiemchung.store import migrate
from tiemchung.store.db import RETRY_AFTER_S

router = APIRouter(tags=["health"])

_DEGRADED: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "Degraded: the database does not answer or is not at head",
        "model": Health,
    }
}


@router.get("/health", response_model=Health, responses=_DEGRADED)
def health(platform: PlatformDep) -> Any:
    """`ok` when the database answers and migrations are at head; `degraded` (503)
    otherwise."""
    head = migrate.head_revision()
    try:
        current = migrate.stored_revision(platform.engine)
        database = "ok"
    except Exception as exc:  # health must answer even when the database does not
        current, database = None, f"error: {type(exc).__name__}"
    status = "ok" if database == "ok" and current == head else "degraded"
    body = Health(
        status=status,
        database=database,
        migration=current,
        migration_head=head,
        version=tiemchung.__version__,
    )
    if status == "ok":
        return body
    # as every 503 of the API: a client (and a load balancer) may retry after this long
    return JSONResponse(
        body.model_dump(mode="json"), status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)}
    )


@router.get("/health/live", response_model=Liveness)
async def live() -> Liveness:
    """The process answers. No database, no thread hop: it cannot be slow for any reason
    but the process itself."""
    return Liveness(status="ok", version=tiemchung.__version__, pid=os.getpid())


@router.get(
    "/health/ready",
    response_model=ReadinessReport,
    responses={503: error_doc("Not ready: each failed check is named in errors[]")},
)
async def ready(platform: PlatformDep) -> ReadinessReport:
    """200 when the database answers (within ``TIEMCHUNG_HEALTH_TIMEOUT_S``), its migrations
    are at head, the signing keys load and the writer thread is alive; otherwise 503."""
    state = await run_in_threadpool(readiness, platform)
    if not state.ready:
        raise ServiceError(503, "Service Unavailable / Chưa sẵn sàng phục vụ", state.problems)
    return ReadinessReport(
        status="ready",
        checks=state.checks,
        migration=state.migration,
        migration_head=state.migration_head,
        version=tiemchung.__version__,
    )


def document(app: FastAPI) -> None:
    """Keep ``/health``'s 503 documented as ``application/json``: it is the same ``Health``
    body as its 200, not a problem document (:mod:`tiemchung.api.problems` rewrites every
    other error answer as one)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = build()
            op = spec.get("paths", {}).get("/api/v1/health", {}).get("get", {})
            content = op.get("responses", {}).get("503", {}).get("content", {})
            if "application/problem+json" in content:
                content["application/json"] = content.pop("application/problem+json")
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
