"""Answer models of the change feed (``api/routes/changes.py``), with the example the
OpenAPI page shows."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tiemchung.serving.types import UtcDateTime

_EXAMPLE: dict[str, Any] = {
    "changes": [
        {
            "seq": 10418,
            "at": "2026-12-07T02:15:02.118000Z",
            "resource": "Immunization",
            "id": "184233",
            "action": "created",
            "url": "/fhir/R4/Immunization/184233",
        },
        {
            "seq": 10419,
            "at": "2026-12-07T02:15:40.502000Z",
            "resource": "Patient",
            "id": "P-000812",
            "action": "updated",
            "url": "/fhir/R4/Patient/P-000812",
        },
    ],
    "next": 10419,
    "more": False,
}


class ChangePublic(BaseModel):
    """One change: re-read the resource at ``url`` for its state now."""

    seq: int = Field(description="the change's place in commit order: the cursor")
    at: UtcDateTime = Field(description="when the change was written, in UTC")
    resource: Literal["Immunization", "Patient"]
    id: str = Field(description="the FHIR resource's id (a dose id, a register person id)")
    action: Literal["created", "updated", "linked", "corrected", "deleted"]
    url: str = Field(description="the FHIR R4 read URL of the resource, relative to the server")


class ChangePagePublic(BaseModel):
    """Changes after the cursor, in ``seq`` order; send ``next`` as ``after`` next time."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    changes: list[ChangePublic]
    next: int = Field(description="the cursor for the next call (``after`` when nothing new)")
    more: bool = Field(description="more changes wait after ``next``: ask again at once")
