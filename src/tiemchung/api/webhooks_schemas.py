"""Models of ``/webhooks`` (``api/routes/webhooks.py``), with the examples the OpenAPI page
shows. A subscription's secret appears in one answer only: the ``POST`` that created it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tiemchung.serving.types import API_INT_MAX

_SUB: dict[str, Any] = {
    "id": 3,
    "client_id": "sobaosuckhoe",
    "url": "https://partner.example.vn/tiemchung/hook",
    "resources": ["Immunization"],
    "status": "active",
    "paused_reason": None,
    "cursor": 120456,
    "attempts": 0,
    "next_attempt_at": None,
    "last_error": None,
    "dead_in_row": 0,
    "dead_total": 1,
    "delivered_events": 120400,
    "last_delivered_at": "2026-12-07T10:15:02Z",
    "created_at": "2026-12-01T08:00:00Z",
}
_DEAD: dict[str, Any] = {
    "id": 9,
    "subscription_id": 3,
    "first_seq": 1001,
    "last_seq": 1100,
    "count": 100,
    "attempts": 8,
    "last_error": "HTTP 503: Service Unavailable",
    "status": "dead",
    "created_at": "2026-12-05T02:00:00Z",
    "replayed_at": None,
}


class WebhookBody(BaseModel):
    """A new subscription: the partner client, its URL, the resources it wants (none: all),
    and where in the change log it starts (0: from the beginning)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "client_id": "sobaosuckhoe",
                    "url": "https://partner.example.vn/tiemchung/hook",
                    "resources": ["Immunization"],
                }
            ]
        },
    )

    client_id: str = Field(min_length=1, max_length=64)
    url: str = Field(min_length=1, max_length=500)
    resources: list[str] | None = Field(default=None, max_length=10)
    from_seq: int = Field(default=0, ge=0, le=API_INT_MAX)


class PauseBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "bảo trì"}]}
    )

    reason: str | None = Field(default=None, max_length=500)


class WebhookPublic(BaseModel):
    """A subscription, its cursor (the last ``changes.seq`` acknowledged) and its counters;
    never its secret."""

    model_config = ConfigDict(json_schema_extra={"examples": [_SUB]})

    id: int
    client_id: str
    url: str
    resources: list[str] | None
    status: str
    paused_reason: str | None
    cursor: int
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    dead_in_row: int
    dead_total: int
    delivered_events: int
    last_delivered_at: datetime | None
    created_at: datetime


class WebhookCreated(BaseModel):
    """The new subscription and its signing secret (``whsec_…``), shown this once."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"subscription": _SUB, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}]
        }
    )

    subscription: WebhookPublic
    secret: str


class WebhookList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_SUB]}]})

    items: list[WebhookPublic]


class DeadLetterPublic(BaseModel):
    """A batch given up on after its last attempt (``dead``), asked to be sent again
    (``replay``) or acknowledged on replay (``replayed``)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_DEAD]})

    id: int
    subscription_id: int
    first_seq: int
    last_seq: int
    count: int
    attempts: int
    last_error: str | None
    status: str
    created_at: datetime
    replayed_at: datetime | None


class DeadLetterList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_DEAD]}]})

    items: list[DeadLetterPublic]
