"""What the worklist and ticket endpoints accept and return (kept apart from schemas.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tiemchung.serving.types import RowId, UtcDateTime

_ITEM_EXAMPLE: dict[str, Any] = {
    "id": 42,
    "dose_id": 1017,
    "kind": "review",
    "status": "open",
    "reason": "plausible match",
    "ward_code": "00004",
    "province_code": "01",
    "full_name": "Nguyễn Văn An",
    "national_id": "001085123457",
    "dob": "1985-04-12",
    "dose_date": "2021-10-01",
    "dose_number": 1,
    "person_id": "P-0001",
    "candidate_name": "Nguyễn Văn An",
    "match_probability": 0.97,
    "mismatches": ["national_id"],
    "summary_vi": "Khác: Số định danh",
    "summary_en": "differs: ID number",
    "created_at": "2025-07-01T08:00:00Z",
    "decided_at": None,
}


class WorklistItem(BaseModel):
    """One row of a worklist: the record, its best candidate, what differs."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ITEM_EXAMPLE]})

    id: int
    dose_id: int
    kind: str = Field(
        description="review | not_found | unverified | ticket | dose_check (a dose-sequence "
        "warning: enter the missing dose from the card, check the date, remove a double entry)"
    )
    status: str = Field(description="open | accepted | rejected | edited | superseded")
    reason: str | None
    ward_code: str | None
    province_code: str | None
    full_name: str
    national_id: str | None
    dob: str | None
    dose_date: date
    dose_number: int
    person_id: str | None = Field(description="best register candidate")
    candidate_name: str | None
    match_probability: float | None
    mismatches: list[str]
    summary_vi: str
    summary_en: str
    created_at: UtcDateTime | None
    decided_at: UtcDateTime | None


class WorklistPage(BaseModel):
    items: list[WorklistItem]
    total: int
    counts: dict[str, int] = Field(
        description="items per status under the other filters: the progress counter",
        examples=[{"open": 12, "accepted": 30, "rejected": 2, "edited": 1, "superseded": 0}],
    )
    limit: int
    offset: int


class FieldCompare(BaseModel):
    field: str
    label_vi: str
    label_en: str
    record: Any
    # "register" would shadow BaseModel.register; the JSON name stays "register"
    register_value: Any = Field(validation_alias="register", serialization_alias="register")
    state: str = Field(
        description="same | differs | missing_record | missing_register | missing | no_candidate"
    )
    differs: bool


class Candidate(BaseModel):
    person_id: str | None
    in_register: bool
    match_probability: float | None
    mismatches: list[str]
    corrections: dict[str, Any] = Field(description="register values that win on accept")
    fields: list[FieldCompare]
    differing: list[str]


class ExplanationLine(BaseModel):
    code: str
    vi: str
    en: str
    weight: float | None
    known: bool = Field(description="false: kept as the run wrote it")


class WorklistItemDetail(WorklistItem):
    record: dict[str, Any]
    candidates: list[Candidate]
    explanation: list[ExplanationLine]
    explanation_raw: str | None
    decided_by: str | None
    decision: dict[str, Any] | None
    decision_reason: str | None


class AcceptRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}]})
    person_id: str | None = Field(None, max_length=40, description="another candidate")
    reason: str | None = Field(None, max_length=1000)


class RejectRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "Người khác cùng tên / another person"}]},
    )
    reason: str | None = Field(None, max_length=1000)
    person_id: str | None = Field(
        None, max_length=40, description="the candidate it really is; none: not in the register"
    )


class EditRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "fields": {"dob": "12/04/1985", "phone": "0912000001"},
                    "reason": "Đối chiếu CCCD bản gốc / checked the ID card",
                    "person_id": "P-0001",
                }
            ]
        },
    )
    fields: dict[str, str | None] = Field(default_factory=dict)
    reason: str | None = Field(None, max_length=1000, description="required")
    person_id: str | None = Field(None, max_length=40)
    recheck: bool = Field(
        False,
        description="without person_id: check the corrected record against the register again "
        "and link the one person it verifies against (the desk's rule); else it stays unverified",
    )


class ReopenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=1000, description="required")


class BulkAcceptRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"ids": [1, 2]}]})
    ids: list[RowId] = Field(min_length=1, max_length=500)
    reason: str | None = Field(None, max_length=1000)


class Change(BaseModel):
    field: str
    old: str | None
    new: str | None


class DecisionResult(BaseModel):
    id: int
    status: str
    dose_id: int
    dose_status: str | None
    person_id: str | None
    changes: list[Change]
    decided_at: UtcDateTime | None
    decision_reason: str | None
    ticket: dict[str, Any] | None = None


class BulkItem(BaseModel):
    id: int
    status: int
    result: DecisionResult | None
    problem: dict[str, Any] | None


class BulkResult(BaseModel):
    accepted: int
    failed: int
    results: list[BulkItem]


class ImportRow(BaseModel):
    row: int
    item_id: int | None
    outcome: str = Field(description="applied | failed | skipped")
    decision: str | None
    status: int | None
    rule: str | None
    message: str | None = Field(description="Vietnamese / English, in one line")
    message_vi: str | None = None
    message_en: str | None = None


class ImportReportOut(BaseModel):
    applied: int
    failed: int
    skipped: int
    rows: list[ImportRow]


class TicketCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "dose_id": 1017,
                    "field": "dob",
                    "proposed_value": "12/04/1985",
                    "message": "Ngày sinh trên chứng nhận bị sai / wrong date of birth",
                }
            ]
        },
    )
    field: str = Field(max_length=40)
    proposed_value: str | None = Field(None, max_length=500)
    message: str | None = Field(None, max_length=2000)
    dose_id: RowId | None = Field(None, description="none: the report is about register data")
    channel: str = Field("api", pattern="^(api|web|sms)$")


class TicketPublic(BaseModel):
    id: int
    person_id: str | None
    dose_id: int | None
    about: str = Field(description="dose | register")
    field: str
    current_value: str | None
    proposed_value: str | None
    message: str | None
    status: str = Field(description="open | in_review | accepted | rejected")
    ward_code: str | None
    deadline: date | None
    overdue: bool
    channel: str | None
    created_at: UtcDateTime | None
    decided_at: UtcDateTime | None
    decision: str | None
    outcome: str | None = Field(
        None,
        description="once decided: corrected (a dose record, changed) | forwarded (register "
        "data: sent to the register authority, not changed here) | rejected",
    )
    review_item_id: int | None
    changes: list[Change] | None = None


class TicketPage(BaseModel):
    items: list[TicketPublic]
    total: int
    limit: int
    offset: int


class TicketDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=1000, description="required to reject")
