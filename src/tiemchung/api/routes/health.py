"""Liveness and readiness: the database answers and its schema is current."""

from __future__ import annotations

from fastapi import APIRouter

import tiemchung
from tiemchung.api.deps import PlatformDep
from tiemchung.api.schemas import Health
from tiemchung.store import migrate

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(platform: PlatformDep) -> Health:
    """`ok` when the database answers and migrations are at head; `degraded` otherwise."""
    head = migrate.head_revision()
    try:
        current, database = migrate.recorded_revision(platform.engine), "ok"
    except Exception as exc:  # health must answer even when the database does not
        current, database = None, f"error: {type(exc).__name__}"
    status = "ok" if database == "ok" and current == head else "degraded"
    return Health(
        status=status,
        database=database,
        migration=current,
        migration_head=head,
        version=tiemchung.__version__,
    )
