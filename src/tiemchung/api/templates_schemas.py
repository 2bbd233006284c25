"""Models of ``/message-templates`` (``api/routes/templates.py``), with the examples the
OpenAPI page shows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_BUDGET: dict[str, Any] = {
    "text": "TiemChung: Buoi tiem ngay 31/12 tai Tram Y te phuong Nguyen Thai Binh Quan 1 da huy."
    " Xin loi ban.",
    "encoding": "gsm7",
    "characters": 98,
    "segments": 1,
    "left": 62,
    "single_limit": 160,
    "segment_limit": 153,
    "site_cut": 0,
    "warnings": [],
}
_TEMPLATE: dict[str, Any] = {
    "key": "cancelled",
    "name_vi": "Buổi tiêm bị hủy",
    "name_en": "Session cancelled",
    "body": "TiemChung: Buoi tiem ngay {day} tai {site} da huy. Xin loi ban.",
    "keep_accents": False,
    "is_default": True,
    "default_body": "TiemChung: Buoi tiem ngay {day} tai {site} da huy. Xin loi ban.",
    "allowed": ["day", "site"],
    "required": [],
    "updated_by": None,
    "updated_at": None,
    "budget": _BUDGET,
}


class BudgetWarning(BaseModel):
    message_vi: str
    message_en: str


class TemplateBudgetPublic(BaseModel):
    """What a body costs at worst: rendered with the longest plausible values (a 40-character
    site name, the real link), its alphabet (``gsm7`` unaccented, ``ucs2`` with accents), its
    characters, segments (160/153 or 70/67) and the room left in the last one."""

    model_config = ConfigDict(json_schema_extra={"examples": [_BUDGET]})

    text: str
    encoding: str
    characters: int
    segments: int
    left: int
    single_limit: int
    segment_limit: int
    site_cut: int
    warnings: list[BudgetWarning]


class TemplatePublic(BaseModel):
    """One SMS template: its body (``is_default``: the built-in text), the placeholders it
    may and must name, and its budget."""

    model_config = ConfigDict(json_schema_extra={"examples": [_TEMPLATE]})

    key: str
    name_vi: str
    name_en: str
    body: str
    keep_accents: bool
    is_default: bool
    default_body: str
    allowed: list[str]
    required: list[str]
    updated_by: str | None
    updated_at: datetime | None
    budget: TemplateBudgetPublic


class TemplateList(BaseModel):
    items: list[TemplatePublic]


class TemplateBody(BaseModel):
    """A new body (``PUT``) or one to price without saving (``:preview``)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"body": "Hen tiem {day} {slot} tai {site}: {link}", "keep_accents": False}
            ]
        },
    )

    body: str = Field(max_length=1000)
    keep_accents: bool = False
