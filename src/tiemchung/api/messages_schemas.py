"""Answer models of ``GET /messages`` (``api/routes/messages.py``), with the example the
OpenAPI page shows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

_EXAMPLE: dict[str, Any] = {
    "id": 4211,
    "message_id": "0b6f1f2e-8d0c-4a53-9b3c-2f8d2b8b1a07",
    "phone": "0912345678",
    "kind": "invitation",
    "status": "delivered",
    "body": "Moi anh/chi den tiem mui 2 tai Tram Y te phuong Ben Nghe ngay 08/12 luc 8h.",
    "ref_type": "invitation",
    "ref_id": "812",
    "ward_code": "26734",
    "province_code": "79",
    "attempts": 1,
    "segments": 1,
    "gateway": "smpp:10.0.0.5:2775",
    "gateway_message_id": "00000a1f3c",
    "last_error": None,
    "created_at": "2026-12-07T08:00:00+07:00",
    "sent_at": "2026-12-07T08:00:02+07:00",
    "delivered_at": "2026-12-07T08:00:05+07:00",
}


class MessagePublic(BaseModel):
    """One text to one number and what became of it (``invalid``: never sent, the reason in
    ``last_error``)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    id: int
    message_id: str
    phone: str
    kind: str
    status: str
    body: str
    ref_type: str | None
    ref_id: str | None
    ward_code: str | None
    province_code: str | None
    attempts: int
    segments: int | None
    gateway: str | None
    gateway_message_id: str | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None


class MessagePage(BaseModel):
    """Messages newest first; ask again with ``before=next_before`` for older ones."""

    items: list[MessagePublic]
    next_before: int | None
