"""Response models of the liveness and readiness probes (``api/routes/health.py``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Liveness(BaseModel):
    """The process answers (nothing else is asked: a restart would not fix the database)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "ok", "version": "0.1.0", "pid": 4242}]}
    )

    status: str = Field(description="always `ok`: an answer is the whole check")
    version: str
    pid: int = Field(description="the worker process that answered")


class ReadinessReport(BaseModel):
    """Every readiness check passed; ``checks`` says each one's state."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ready",
                    "checks": {"database": "ok", "migrations": "ok", "keys": "ok", "writer": "ok"},
                    "migration": "0022_clients_more",
                    "migration_head": "0022_clients_more",
                    "version": "0.1.0",
                }
            ]
        }
    )

    status: str = Field(description="`ready`")
    checks: dict[str, str]
    migration: str | None
    migration_head: str
    version: str
