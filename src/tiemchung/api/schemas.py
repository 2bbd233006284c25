"""What the API accepts (``…Create``) and returns (``…Public``): separate from what is stored."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Generic, Literal, NotRequired, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, with_config
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from tiemchung.registry.doses.record import DoseSubmission
from tiemchung.registry.doses.rules import MAX_DOSE_NUMBER, MIN_DOSE_NUMBER
from tiemchung.serving.types import SmallRowId

T = TypeVar("T")

_DOSE_EXAMPLE: dict[str, Any] = {
    "client_uuid": "3f1c2a9e-7b4d-4f0a-9c11-2b7e5d8a6c01",
    "full_name": "Trần Thị Mai",
    "national_id": "040190123456",
    "dob": "12/05/1990",
    "sex": "Nữ",
    "phone": "0912345678",
    "ward_code": "16681",
    "address": "Xóm 3",
    "product_code": "PFIZER",
    "lot_number": "FK1234",
    "dose_number": 1,
    "dose_date": "2021-10-05",
    "site_id": "S0001",
}


class DoseCreate(BaseModel):
    """One dose as a site records it. ``client_uuid`` makes retries safe."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_DOSE_EXAMPLE]})

    client_uuid: uuid.UUID = Field(description="Chosen by the client; a retry reuses it.")
    full_name: str = Field(min_length=1, max_length=200)
    national_id: str | None = Field(None, max_length=30, description="CCCD, CMND or passport")
    dob: str | None = Field(None, max_length=40, description="dd/mm/yyyy, yyyy-mm-dd, yyyy…")
    sex: str | None = Field(None, max_length=10, description="Nam/Nữ or M/F")
    phone: str | None = Field(None, max_length=20)
    ward_code: str | None = Field(None, pattern=r"^\d{5}$", description="2021 GSO ward code")
    address: str | None = Field(None, max_length=500)
    product_code: str = Field(min_length=1, max_length=20)
    lot_number: str = Field(min_length=1, max_length=40)
    dose_number: int = Field(ge=MIN_DOSE_NUMBER, le=MAX_DOSE_NUMBER)
    dose_date: date
    site_id: str = Field(min_length=1, max_length=20)
    person_id: str | None = Field(None, max_length=40, description="Register person, if known")
    session_id: SmallRowId | None = None
    record_id: str | None = Field(None, max_length=40)

    def to_submission(self) -> DoseSubmission:
        return DoseSubmission(**self.model_dump())


class DosePublic(BaseModel):
    id: int
    client_uuid: uuid.UUID
    status: str = Field(description="verified | unverified")
    person_id: str | None = Field(None, description="The linked register person, if verified")
    full_name: str
    national_id: str | None
    dob: str | None
    sex: str | None
    phone: str | None
    ward_code: str | None
    address: str | None
    product_code: str
    lot_id: int | None
    dose_number: int
    dose_date: date
    site_id: str
    session_id: int | None
    record_id: str | None


class DoseWarning(BaseModel):
    """A dose-sequence rule the dose broke; the dose was stored all the same and a worklist
    item was opened in the person's commune."""

    code: str = Field(description="previous_dose_missing | min_interval | dose_recorded_twice")
    field: str = Field(description="The field it is about: dose_number | dose_date")
    message_vi: str
    message_en: str


_RECORDED_EXAMPLE: dict[str, Any] = {
    "id": 1042,
    "client_uuid": _DOSE_EXAMPLE["client_uuid"],
    "status": "verified",
    "person_id": "P-000123",
    "full_name": "Trần Thị Mai",
    "national_id": "040190123456",
    "dob": "1990-05-12",
    "sex": "F",
    "phone": "0912345678",
    "ward_code": "16681",
    "address": "Xóm 3",
    "product_code": "PFIZER",
    "lot_id": 7,
    "dose_number": 3,
    "dose_date": "2021-10-05",
    "site_id": "S0001",
    "session_id": None,
    "record_id": None,
    "warnings": [
        {
            "code": "previous_dose_missing",
            "field": "dose_number",
            "message_vi": "Chưa có mũi 2 trong hệ thống — hãy nhập từ phiếu/thẻ tiêm",
            "message_en": "dose 2 missing from the system — enter it from the vaccination card",
        }
    ],
}


class DoseRecorded(DosePublic):
    """The stored dose as ``POST /doses`` (and each item of a batch) answers it, with the
    sequence rules it broke. Those rules never refuse a dose that was given: it is stored,
    the warnings say what is unusual, and they reach the person's commune on the dose's one
    worklist item (an unverified dose's ``unverified`` item carries them; a verified dose gets
    a ``dose_check`` item). A retry (200) repeats the warnings the dose was stored with."""

    model_config = ConfigDict(json_schema_extra={"examples": [_RECORDED_EXAMPLE]})

    warnings: list[DoseWarning] = Field(
        default_factory=list,
        description="Sequence rules broken (missing earlier dose, too early, recorded twice)",
    )


class DoseBatchCreate(BaseModel):
    """Up to 1,000 doses; each is checked on its own and answered on its own."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"doses": [_DOSE_EXAMPLE]}]}
    )

    doses: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=1000,
        description="Each item has the fields of DoseCreate and is validated separately.",
    )


def _typed_dict_of(model: type[BaseModel], name: str) -> Any:
    """A TypedDict with ``model``'s fields and constraints, built from the model itself.

    Validating a 1,000-dose batch into plain dicts in one pydantic-core call (from the
    request bytes) costs half of building a model object per item; deriving the TypedDict
    from :class:`DoseCreate` keeps one definition of what a dose may contain.
    """
    fields: dict[str, Any] = {}
    for field_name, info in model.model_fields.items():
        annotated = (
            Annotated[(info.annotation, *info.metadata)]  # type: ignore[valid-type]
            if info.metadata
            else info.annotation
        )
        fields[field_name] = annotated if info.is_required() else NotRequired[annotated]
    typed = TypedDict(name, fields)  # type: ignore[misc]
    typed.__pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[attr-defined]
    return typed


DoseItem = _typed_dict_of(DoseCreate, "DoseItem")


@with_config(ConfigDict(extra="forbid"))
class _BatchBody(TypedDict):
    doses: Annotated[list[DoseItem], Field(min_length=1, max_length=1000)]  # type: ignore[valid-type]


#: The whole batch body, validated from bytes in one pass (the fast path, every item valid).
BATCH_BODY: TypeAdapter[Any] = TypeAdapter(_BatchBody)
#: The batch body with items left unvalidated: the slow path answers each item on its own.
BATCH_ENVELOPE: TypeAdapter[Any] = TypeAdapter(DoseBatchCreate)
#: One dose: the items of a batch that failed the fast path, validated one by one.
DOSE_ITEM: TypeAdapter[Any] = TypeAdapter(DoseItem)


def submission_of(item: dict[str, Any]) -> DoseSubmission:
    """The registry's submission from a validated item (missing optional fields default)."""
    return DoseSubmission(**item)


class DoseBatchItem(BaseModel):
    index: int
    status: int = Field(
        description="201 created (its dose lists any warnings), 200 already recorded, 4xx refused"
    )
    dose: DoseRecorded | None = None
    problem: dict[str, Any] | None = None


class DoseBatchResult(BaseModel):
    created: int
    existing: int
    failed: int
    results: list[DoseBatchItem]


class PersonPublic(BaseModel):
    """A register person as the caller may see them (``registry/people/persons.py``,
    ``person_view``): ``view`` ``full`` is the whole record (central; a province or commune
    for persons of its area; a citizen for itself); ``desk`` (a site) masks the ID numbers
    and has no ``phone`` or ``address`` keys at all."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "person_id": "P0000123",
                    "national_id": "040190123456",
                    "old_id": "186123456",
                    "full_name": "Trần Thị Mai",
                    "dob": "1990-05-12",
                    "sex": "F",
                    "ward_code": "16681",
                    "province_code": "40",
                    "view": "full",
                    "address": "Xóm 3",
                    "phone": "0912345678",
                },
                {
                    "person_id": "P0000123",
                    "national_id": "0401******56",
                    "old_id": "1861***56",
                    "full_name": "Trần Thị Mai",
                    "dob": "1990-05-12",
                    "sex": "F",
                    "ward_code": "16681",
                    "province_code": "40",
                    "view": "desk",
                },
            ]
        },
    )

    person_id: str
    national_id: str | None = Field(description="Masked (0401******56) in the desk view")
    old_id: str | None = Field(description="Masked in the desk view")
    full_name: str
    dob: str | None
    sex: str | None
    ward_code: str | None
    province_code: str | None
    view: Literal["full", "desk"] = Field(description="full | desk (a site: always desk)")
    address: str | None = Field(None, description="full view only (absent in the desk view)")
    phone: str | None = Field(None, description="full view only (absent in the desk view)")


class PersonDose(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    product_code: str
    dose_number: int
    dose_date: date
    site_id: str
    status: str


class PersonDetail(PersonPublic):
    doses: list[PersonDose]


class SitePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    site_id: str
    name: str
    ward_code: str
    province_code: str
    active: bool
    kind: str = Field(
        "commune_health_station",
        description="commune_health_station, hospital, mobile_team or workplace",
    )


class LotPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    lot_number: str
    expiry: date


class ProductPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    mp: str = Field(description="EU DCC vaccine-medicinal-product code")
    ma: str = Field(description="EU DCC vaccine-mah-manf code")
    vp: str = Field(description="EU DCC vaccine-prophylaxis code")
    primary_doses: int
    min_interval_days: int
    active: bool = Field(True, description="false: no new lots are received")
    lots: list[LotPublic] = []


class SessionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    site_id: str
    session_date: date
    product_code: str
    planned_count: int
    status: str
    # the plan (absent for the sessions seeded before planning existed)
    products: list[str] | None = None
    time_slots: list[dict[str, Any]] | None = None
    groups: list[str] | None = None


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class ProblemItem(BaseModel):
    field: str = Field(description="The field at fault, dotted for nested ones (doses.3.dob)")
    rule: str = Field(description="The rule broken: a stable code to branch on")
    message: str = Field(description="Vietnamese / English, in one line")
    message_vi: str = Field(description="The message in Vietnamese")
    message_en: str = Field(
        description="The message in English (pydantic's own words for the rules the API "
        "does not word itself: then the same text as message_vi)"
    )


_PROBLEM_EXAMPLE: dict[str, Any] = {
    "type": "urn:tiemchung:problem:min_interval",
    "title": "Rule violated / Vi phạm quy tắc",
    "status": 422,
    "detail": "Mũi 2 sớm nhất từ ngày 26/10/2021 / dose 2 may be given from 2021-10-26",
    "instance": "/api/v1/doses",
    "errors": [
        {
            "field": "dose_date",
            "rule": "min_interval",
            "message": "Mũi 2 sớm nhất từ ngày 26/10/2021 / dose 2 may be given from 2021-10-26",
            "message_vi": "Mũi 2 sớm nhất từ ngày 26/10/2021",
            "message_en": "dose 2 may be given from 2021-10-26",
        }
    ],
    "request_id": "4b8f0c2e9d7a4f15a3c6e1b2d9f08a77",
}


class Problem(BaseModel):
    """RFC 9457 problem document (``application/problem+json``), for every error."""

    model_config = ConfigDict(json_schema_extra={"examples": [_PROBLEM_EXAMPLE]})

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[ProblemItem] = []
    request_id: str | None = Field(
        None, description="The request's id (X-Request-ID), as in the server's logs: quote it"
    )


class Token(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJIUzI1NiIs…",
                    "token_type": "bearer",
                    "expires_in": 28800,
                    "role": "site",
                }
            ]
        }
    )

    access_token: str
    token_type: str = "bearer"
    expires_in: int
    role: str


class Health(BaseModel):
    status: str
    database: str
    migration: str | None
    migration_head: str
    version: str
