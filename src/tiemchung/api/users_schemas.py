"""Request and answer models of ``/users``, ``/auth/password`` and ``/audit`` (issue 17)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tiemchung.serving.types import RowId, SmallRowId, UtcDateTime

RoleName = Literal["central", "province", "commune", "site", "citizen"]

_USER_EXAMPLE: dict[str, Any] = {
    "id": 12,
    "username": "tram_xa_16681",
    "role": "commune",
    "province_code": "40",
    "ward_code": "16681",
    "site_id": None,
    "person_id": None,
    "active": True,
    "must_change_password": True,
    "created_at": "2026-12-07T03:15:00Z",
}


class UserCreate(BaseModel):
    """A new user: the role and the one key of its area (a ward for a commune user, a site
    for a site user, a province for a province user, a register person for a citizen)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "username": "tram_xa_16681",
                    "password": "Hoa-sen-no-giua-dam-7",
                    "role": "commune",
                    "ward_code": "16681",
                }
            ]
        },
    )

    username: str = Field(min_length=1, max_length=80)
    password: str = Field(
        min_length=1,
        max_length=200,
        description="At least 10 characters, not the username, not a common password; "
        "the user must change it at the first sign-in",
    )
    role: RoleName
    province_code: str | None = Field(None, max_length=8)
    ward_code: str | None = Field(None, max_length=8)
    site_id: str | None = Field(None, max_length=20)
    person_id: str | None = Field(None, max_length=40)


class UserPatch(BaseModel):
    """What to change; a field left out stays as it is. A new role needs its area's key."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"disabled": True}, {"role": "site", "site_id": "S-16681-01"}]
        },
    )

    role: RoleName | None = None
    province_code: str | None = Field(None, max_length=8)
    ward_code: str | None = Field(None, max_length=8)
    site_id: str | None = Field(None, max_length=20)
    person_id: str | None = Field(None, max_length=40)
    disabled: bool | None = None


class PasswordReset(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"password": "Cau-vong-sau-mua-42"}]}
    )

    password: str = Field(min_length=1, max_length=200, description="The temporary password")


class PasswordChange(BaseModel):
    """A user replaces their own password (needed before a token is issued when an
    administrator set it)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "username": "tram_xa_16681",
                    "old_password": "Cau-vong-sau-mua-42",
                    "new_password": "Sen-hong-giua-ho-19",
                }
            ]
        },
    )

    username: str = Field(min_length=1, max_length=80)
    old_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=200)


class UserPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_USER_EXAMPLE]})

    id: int
    username: str
    role: RoleName
    province_code: str | None
    ward_code: str | None
    site_id: str | None
    person_id: str | None
    active: bool
    must_change_password: bool
    created_at: UtcDateTime | None


class UserPage(BaseModel):
    """Users by id; ask again with ``after=next_after`` for the next page (none: the last)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_USER_EXAMPLE], "next_after": None}]}
    )

    items: list[UserPublic]
    next_after: SmallRowId | None


_EVENT_EXAMPLE: dict[str, Any] = {
    "id": 90412,
    "at": "2026-12-07T03:16:02Z",
    "username": "prov_40",
    "user_id": 3,
    "action": "user.disable",
    "entity": "user",
    "entity_id": "12",
    "detail": {"active": False},
}


class AuditEventPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_EVENT_EXAMPLE]})

    id: int
    at: UtcDateTime
    username: str | None
    user_id: int | None
    action: str
    entity: str
    entity_id: str | None
    detail: dict[str, Any] | None


class AuditPage(BaseModel):
    """Events newest first; ask again with ``before=next_before`` for older ones."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_EVENT_EXAMPLE], "next_before": 90311}]}
    )

    items: list[AuditEventPublic]
    next_before: RowId | None
