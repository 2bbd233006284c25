"""Request and response of ``POST /api/v1/verify`` (verification at the desk).

Separate from ``api/schemas.py`` so the verification contract can change without touching the
dose and person schemas; mirrors the dataclasses of ``tiemchung.registry.doses.verify``.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from tiemchung.registry.doses.verify import VerifyRecord

# Invented people only: the QR layout is the chip card's, the values are made up.
_QR_EXAMPLE: JsonDict = {
    "qr": "001085123456||Nguyễn Văn An|12041985|Nam|Thôn 1, Xã Giả, Hà Nội|20042021"
}
_FIELDS_EXAMPLE: JsonDict = {
    "national_id": "001 085 123 456",
    "full_name": "NGUYỄN VĂN AN",
    "dob": "12/04/1985",
    "sex": "Nam",
    "ward_code": "00004",
}
_NAME_DOB_EXAMPLE: JsonDict = {"full_name": "Trần Thị Bình", "dob": "02/11/1990"}


class DeskVerifyRequest(BaseModel):
    """Either the chip card's QR payload as the scanner typed it, or the fields the desk typed
    (any subset, but at least an ID number, or a full name with a date of birth)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [_QR_EXAMPLE, _FIELDS_EXAMPLE, _NAME_DOB_EXAMPLE]},
    )

    qr: str | None = Field(
        None,
        max_length=2000,
        description="CCCD QR payload: ID|old ID|name|ddmmyyyy|Nam/Nữ|address|issue date[|…]",
    )
    national_id: str | None = Field(None, max_length=30, description="CCCD, CMND or passport")
    full_name: str | None = Field(None, max_length=200)
    dob: str | None = Field(None, max_length=40, description="dd/mm/yyyy, yyyy-mm-dd, yyyy…")
    sex: str | None = Field(None, max_length=10, description="Nam/Nữ or M/F")
    ward_code: str | None = Field(
        None,
        pattern=r"^\d{5}$",
        description="2021 GSO ward code; compared, never decisive; tells namesakes apart",
    )

    def to_record(self) -> VerifyRecord:
        return VerifyRecord(**self.model_dump())


class VerifyPerson(BaseModel):
    """A register person as the caller may see them: ``view`` ``desk`` masks the IDs and has
    no phone or address; ``full`` is the whole record (central; commune/province in area)."""

    person_id: str = Field(description="Send it as the dose's person_id when no ID is typed")
    national_id: str | None = Field(description="Masked (0010******56) in the desk view")
    old_id: str | None
    full_name: str
    dob: str | None = Field(description="ISO, as precise as the register: 1990-03-05, 1990")
    sex: str | None
    ward_code: str | None
    province_code: str | None
    view: str = Field(description="desk | full")
    address: str | None = Field(None, description="full view only (absent in the desk view)")
    phone: str | None = Field(None, description="full view only (absent in the desk view)")


class VerifyMismatch(BaseModel):
    field: str = Field(description="national_id | full_name | dob | sex | ward_code")
    kind: str = Field(description="different | diacritics | day_month_swapped | register_has_none")
    typed: str | None = Field(description="What was typed or scanned, in standard form")
    in_register: str | None = Field(description="The register's value (masked IDs in desk view)")
    decisive: bool = Field(description="False for the ward: reported, never blocks verification")
    message_vi: str
    message_en: str


class VerifyIdConflict(BaseModel):
    code: str = Field(description="century | birth_year | sex | unknown_province")
    source: str = Field(description="typed (typed ID vs typed fields) | register")
    message_vi: str
    message_en: str


class VerifyDose(BaseModel):
    dose_number: int
    dose_date: date
    product_code: str
    site_id: str
    status: str


class VerifyNextDose(BaseModel):
    dose_number: int
    kind: str = Field(description="primary | booster")
    product_code: str | None = Field(description="The series' product; null for a first dose")
    earliest_date: date | None = Field(description="null: from today")
    message_vi: str
    message_en: str


class VerifyTyped(BaseModel):
    """The record as compared: cleaned of formatting (digits, NFC name, ISO date, M/F)."""

    national_id: str | None
    id_kind: str | None = Field(description="cccd | cmnd | null (not a Vietnamese ID)")
    old_id: str | None
    full_name: str | None
    dob: str | None
    sex: str | None
    ward_code: str | None
    source: str = Field(description="qr | fields")


_RESPONSE_EXAMPLE: JsonDict = {
    "status": "mismatch",
    "matched_on": "national_id",
    "view": "desk",
    "typed": {
        "national_id": "001085123456",
        "id_kind": "cccd",
        "old_id": None,
        "full_name": "Nguyen Van An",
        "dob": "1985-04-12",
        "sex": "M",
        "ward_code": None,
        "source": "fields",
    },
    "person": {
        "person_id": "P-AN",
        "national_id": "0010******56",
        "old_id": None,
        "full_name": "Nguyễn Văn An",
        "dob": "1985-04-12",
        "sex": "M",
        "ward_code": "00004",
        "province_code": "01",
        "view": "desk",
    },
    "mismatches": [
        {
            "field": "full_name",
            "kind": "diacritics",
            "typed": "Nguyen Van An",
            "in_register": "Nguyễn Văn An",
            "decisive": True,
            "message_vi": "Họ tên khác dấu (thiếu hoặc sai dấu) so với sổ dân cư",
            "message_en": "the name differs in diacritics (missing or wrong)",
        }
    ],
    "id_conflicts": [],
    "candidates": [],
    "more_candidates": False,
    "doses": [
        {
            "dose_number": 1,
            "dose_date": "2021-10-01",
            "product_code": "PFIZER",
            "site_id": "S-A1",
            "status": "verified",
        }
    ],
    "unlinked_doses": [],
    "next_dose": {
        "dose_number": 2,
        "kind": "primary",
        "product_code": "PFIZER",
        "earliest_date": "2021-10-22",
        "message_vi": "Tiếp theo: mũi 2, PFIZER, từ ngày 22/10/2021",
        "message_en": "next: dose 2, PFIZER, from 2021-10-22",
    },
    "notes": [],
}


class DeskVerifyResponse(BaseModel):
    """``status``: ``verified`` (a dose with these fields is saved verified), ``mismatch`` (one
    register person, fields differ: see ``mismatches``), ``ambiguous`` (several fit: see
    ``candidates``), ``not_found``."""

    model_config = ConfigDict(json_schema_extra={"examples": [_RESPONSE_EXAMPLE]})

    status: str = Field(description="verified | mismatch | ambiguous | not_found")
    matched_on: str | None = Field(description="national_id | old_id | name_dob")
    view: str = Field(description="desk | full")
    typed: VerifyTyped
    person: VerifyPerson | None = None
    mismatches: list[VerifyMismatch] = []
    id_conflicts: list[VerifyIdConflict] = []
    candidates: list[VerifyPerson] = Field([], description="When ambiguous (at most 20)")
    more_candidates: bool = False
    doses: list[VerifyDose] = Field([], description="The register person's recorded doses")
    unlinked_doses: list[VerifyDose] = Field(
        [], description="Doses typed with this ID and linked to no register person yet"
    )
    next_dose: VerifyNextDose | None = None
    notes: list[str] = []
