"""Request and answer models of invitations and the overdue list
(``api/routes/invitations.py``), with the examples the OpenAPI page shows."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class InvitationRequest(BaseModel):
    """Who to invite to the session; empty fields do not narrow. ``ward_code`` defaults to
    the session's site's ward; ``wait_list`` (people beyond capacity) to 20% of capacity."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"groups": ["G1"], "min_age": 50, "wait_list": 20},
                {"due_by": "2026-12-15"},
            ]
        },
    )

    groups: list[str] = Field(default_factory=list, max_length=20)
    min_age: int | None = Field(None, ge=0, le=130)
    max_age: int | None = Field(None, ge=0, le=130)
    ward_code: str | None = Field(None, min_length=1, max_length=8)
    organisation_id: int | None = Field(None, ge=1, le=2**31 - 1)
    due_by: date | None = None
    wait_list: int | None = Field(None, ge=0, le=100_000)


class InvitationPreview(BaseModel):
    """What sending would do."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "session_id": 12,
                    "ward_code": "00004",
                    "eligible": 812,
                    "with_phone": 790,
                    "without_phone": 22,
                    "free_places": 100,
                    "would_invite": 100,
                    "would_wait_list": 20,
                }
            ]
        }
    )

    session_id: int
    ward_code: str
    eligible: int
    with_phone: int
    without_phone: int
    free_places: int
    would_invite: int
    would_wait_list: int


class InvitationSent(BaseModel):
    """What a send did: places given (each texted), wait-listed, texts that will never be
    sent (an invalid number, one that opted out)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "session_id": 12,
                    "invited": 100,
                    "waitlisted": 20,
                    "texts_queued": 98,
                    "texts_not_sendable": 2,
                }
            ]
        }
    )

    session_id: int
    invited: int
    waitlisted: int
    texts_queued: int
    texts_not_sendable: int


class InvitationRow(BaseModel):
    """One invitation of a session."""

    id: int
    person_id: str
    full_name: str
    phone: str | None
    status: str = Field(description="invited, confirmed, waitlisted, declined, cancelled")
    status_vi: str
    status_en: str
    slot: str
    wait_position: int | None
    responded_at: str | None


class InvitationList(BaseModel):
    """A session's invitations (slot, then wait-list order) and the counts by status."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "session_id": 12,
                    "session_date": "2026-12-10",
                    "counts": {"invited": 1, "confirmed": 0, "waitlisted": 0},
                    "items": [
                        {
                            "id": 7,
                            "person_id": "P-0001",
                            "full_name": "Nguyễn Văn An",
                            "phone": "0912000001",
                            "status": "invited",
                            "status_vi": "Đã mời, chờ xác nhận",
                            "status_en": "invited, not yet confirmed",
                            "slot": "07:30-09:00",
                            "wait_position": None,
                            "responded_at": None,
                        }
                    ],
                }
            ]
        }
    )

    session_id: int
    session_date: date
    counts: dict[str, int]
    items: list[InvitationRow]


class LastContact(BaseModel):
    """The newest message to the person and what became of it."""

    at: str
    kind: str
    status: str
    phone: str


class OverdueRow(BaseModel):
    """A person whose next dose is overdue."""

    person_id: str
    full_name: str
    dob: str | None
    ward_code: str | None
    phone: str | None
    next_dose: int
    product: str
    last_dose_date: date
    due_date: date
    days_overdue: int
    last_contact: LastContact | None


class OverduePage(BaseModel):
    """The overdue (defaulter) list of an area, most overdue first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "total": 1,
                    "limit": 200,
                    "offset": 0,
                    "items": [
                        {
                            "person_id": "P-0001",
                            "full_name": "Nguyễn Văn An",
                            "dob": "1985-04-12",
                            "ward_code": "00004",
                            "phone": "0912000001",
                            "next_dose": 2,
                            "product": "PFIZER",
                            "last_dose_date": "2026-10-01",
                            "due_date": "2026-10-22",
                            "days_overdue": 46,
                            "last_contact": {
                                "at": "2026-10-20T01:00:00+00:00",
                                "kind": "reminder",
                                "status": "delivered",
                                "phone": "0912000001",
                            },
                        }
                    ],
                }
            ]
        }
    )

    total: int
    limit: int
    offset: int
    items: list[OverdueRow]
