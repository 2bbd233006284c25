"""Request and answer models of the registration routes (``api/routes/registrations.py``):
organisations, priority groups, registrant rows and their results, with the examples the
OpenAPI page shows. Values are plain strings: the service names a bad one in both languages
(``registry/people/registration/``), so a row is stored with its reasons rather than
refused by the schema (nothing an organisation sends is lost)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tiemchung.serving.types import SmallRowId

_ORG_IN: dict[str, Any] = {
    "name": "Công ty TNHH May Mặc Bình Minh",
    "code": "0312345678",
    "kind": "company",
    "ward_code": "00004",
    "contact_name": "Nguyễn Thị Liên",
    "contact_phone": "0912345678",
    "contact_email": "nhansu@binhminh.example",
}
_ROW: dict[str, Any] = {
    "national_id": "001085123456",
    "full_name": "Nguyễn Văn An",
    "dob": "12/04/1985",
    "sex": "M",
    "phone": "0912 345 678",
    "ward_code": "00004",
    "priority_group": "NQ21-07",
    "underlying_condition": "không",
}
_REASON: dict[str, Any] = {
    "field": "full_name",
    "rule": "diacritics",
    "message_vi": "Họ tên khác dấu (thiếu hoặc sai dấu) so với sổ dân cư",
    "message_en": "the name differs in diacritics (missing or wrong)",
}


class OrganisationApply(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_ORG_IN]})

    name: str = Field(max_length=300)
    code: str = Field(max_length=40, description="tax code (mã số thuế) or agency code")
    kind: str = Field("company", max_length=20, description="company|school|agency|market|other")
    ward_code: str = Field(max_length=8, description="2021 ward code; the province follows")
    contact_name: str | None = Field(None, max_length=200)
    contact_phone: str | None = Field(None, max_length=32)
    contact_email: str | None = Field(None, max_length=200)


class OrganisationPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [_ORG_IN | {"id": 12, "province_code": "01", "status": "applied",
                                    "decision_note": None, "decided_at": None}]
        }
    )  # fmt: skip

    id: int
    name: str
    code: str
    kind: str
    ward_code: str
    province_code: str
    contact_name: str | None
    contact_phone: str | None
    contact_email: str | None
    status: str = Field(description="applied | approved | refused")
    decision_note: str | None
    decided_at: str | None


class Decision(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"note": "Đủ hồ sơ / papers complete"}]}
    )

    note: str | None = Field(None, max_length=2000, description="required to refuse")


class OrganisationUserCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"username": "binhminh-hr", "password": "…"}]},
    )

    username: str = Field(max_length=80)
    password: str = Field(max_length=200)


class OrganisationUserPublic(BaseModel):
    id: int
    username: str
    role: str
    organisation_id: int


class PriorityGroupPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"code": "NQ21-01", "name_vi": "Người làm việc trong các cơ sở y tế, "
                          "ngành y tế", "name_en": "Health workers (public and private)",
                          "sort": 1, "active": True}]
        }
    )  # fmt: skip

    code: str
    name_vi: str
    name_en: str
    sort: int
    active: bool


class PriorityGroupPut(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name_en": "The armed forces", "active": True}]},
    )

    name_vi: str | None = Field(None, max_length=300)
    name_en: str | None = Field(None, max_length=300)
    sort: int | None = Field(None, ge=0, le=10_000)
    active: bool | None = None


class RegistrantRow(BaseModel):
    """One person put forward; any subset of the fields (a row without an ID number, or a
    name with a date of birth, is stored ``rejected`` with the reason)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_ROW]})

    national_id: str | None = Field(None, max_length=40)
    full_name: str | None = Field(None, max_length=200)
    dob: str | None = Field(None, max_length=20, description="dd/mm/yyyy, yyyy-mm-dd or yyyy")
    sex: str | None = Field(None, max_length=10)
    phone: str | None = Field(None, max_length=32)
    ward_code: str | None = Field(None, max_length=8)
    priority_group: str | None = Field(None, max_length=10)
    underlying_condition: str | bool | None = Field(None, description="yes/no, có/không")


class RegistrationOne(RegistrantRow):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [_ROW | {"organisation_id": 12}]}
    )

    organisation_id: SmallRowId


class RegistrationBatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"organisation_id": 12, "rows": [_ROW]}]},
    )

    organisation_id: SmallRowId
    rows: list[RegistrantRow] = Field(description="at most 10,000 rows (more: 413)")


class Reason(BaseModel):
    field: str
    rule: str
    message_vi: str
    message_en: str
    decisive: str | None = Field(None, description="no: reported, does not stop verification")


class RowAnswer(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"row_number": 2, "source_id": 901, "result": "mismatch",
                          "reasons": [_REASON], "registration_id": None}]
        }
    )  # fmt: skip

    row_number: int | None
    source_id: int
    result: str = Field(description="verified | mismatch | not_found | ambiguous | rejected")
    reasons: list[Reason]
    registration_id: int | None


class BatchAnswer(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"batch": "5f0c…", "counts": {"verified": 9812, "mismatch": 150,
                          "not_found": 30, "rejected": 8}, "registrations_new": 9700,
                          "registrations_joined": 112, "rows": []}]
        }
    )  # fmt: skip

    batch: str
    counts: dict[str, int]
    registrations_new: int
    registrations_joined: int
    rows: list[RowAnswer]


class SourceRow(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"source_id": 901, "organisation_id": 12, "batch": "5f0c…",
                          "row_number": 2, "submitted": _ROW, "result": "verified",
                          "reasons": [], "registration_id": 77, "withdrawn": False}]
        }
    )  # fmt: skip

    source_id: int
    organisation_id: int | None
    batch: str | None
    row_number: int | None
    submitted: dict[str, Any]
    result: str
    reasons: list[Reason]
    registration_id: int | None
    withdrawn: bool


class SourcePage(BaseModel):
    items: list[SourceRow]
    counts: dict[str, int] = Field(description="rows per result, withdrawn ones aside")
    next_after: int | None = Field(description="pass as ?after= for the next page")


class RowFix(RegistrantRow):
    """The values to change; the row is checked again as it then reads."""
