"""Request and answer models of session planning (``api/routes/sessions.py``), with the
examples the OpenAPI page shows."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SlotIn(BaseModel):
    """A time slot: ``start``-``end`` (HH:MM, Vietnam's time) and how many people it takes."""

    model_config = ConfigDict(extra="forbid")

    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["07:30"])
    end: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["11:00"])
    capacity: int = Field(ge=1, le=100_000)


class MemberIn(BaseModel):
    """Someone of the vaccinating team."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    role: str = Field("", max_length=100)


class SessionCreate(BaseModel):
    """A session planned at a site; ``capacity`` may be left out when slots are given."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "site_id": "TYT-16681",
                    "session_date": "2026-12-09",
                    "products": ["PFIZER"],
                    "lot_numbers": ["FK1234"],
                    "time_slots": [
                        {"start": "07:30", "end": "11:00", "capacity": 60},
                        {"start": "13:30", "end": "16:30", "capacity": 40},
                    ],
                    "groups": ["G1", "G5"],
                    "team": [
                        {"name": "Nguyễn Thị Lan", "role": "điều dưỡng"},
                        {"name": "Trần Văn Minh", "role": "bác sĩ khám sàng lọc"},
                    ],
                }
            ]
        },
    )

    site_id: str = Field(min_length=1, max_length=20)
    session_date: date
    products: list[str] = Field(min_length=1, max_length=10)
    lot_numbers: list[str] = Field(default_factory=list, max_length=20)
    time_slots: list[SlotIn] = Field(default_factory=list, max_length=24)
    capacity: int | None = Field(None, ge=1, le=100_000)
    groups: list[str] = Field(default_factory=list, max_length=20)
    team: list[MemberIn] = Field(default_factory=list, max_length=50)
    allow_parallel: bool = False


class SessionOpen(BaseModel):
    """Open a planned session today; ``parallel``: the site allows a second open one."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}]})

    parallel: bool = False


class SessionClose(BaseModel):
    """Close an open session; ``opened``: the doses drawn from the vials opened (counted by
    the team), from which the reconciliation's difference follows."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"opened": 60}]})

    opened: int | None = Field(None, ge=0, le=1_000_000)


class SessionDetail(BaseModel):
    """A session with its plan, its status and (once closed) its reconciliation."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 12,
                    "site_id": "TYT-16681",
                    "session_date": "2026-12-09",
                    "status": "closed",
                    "products": ["PFIZER"],
                    "lot_numbers": ["FK1234"],
                    "time_slots": [{"start": "07:30", "end": "11:00", "capacity": 60}],
                    "capacity": 60,
                    "groups": ["G1"],
                    "team": [{"name": "Nguyễn Thị Lan", "role": "điều dưỡng"}],
                    "allow_parallel": False,
                    "closing": {
                        "recorded": 52,
                        "wasted": 6,
                        "opened": 60,
                        "difference": 2,
                        "by_lot": {"FK1234": {"recorded": 52, "wasted": 6}},
                    },
                }
            ]
        }
    )

    id: int
    site_id: str
    session_date: date
    status: str = Field(description="planned | open | closed | cancelled")
    products: list[str]
    lot_numbers: list[str]
    time_slots: list[dict[str, Any]]
    capacity: int
    groups: list[str]
    team: list[dict[str, str]]
    allow_parallel: bool
    closing: dict[str, Any] | None = Field(
        None,
        description="at closing: recorded, wasted, opened, difference = opened − recorded "
        "− wasted (null when opened was not counted), by_lot",
    )


class CommuneCapacityPublic(BaseModel):
    """One commune: sessions and capacity planned in the range, and its population due."""

    ward_code: str
    ward_name: str | None
    sessions: int
    capacity: int
    registered: int = Field(description="register persons of the ward")
    fully_vaccinated: int = Field(description="of them, with the full primary series")
    due: int = Field(description="registered − fully_vaccinated")
    capacity_minus_due: int


class CapacityPage(BaseModel):
    """A province's planned capacity against the population due, per commune."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "province_code": "40",
                    "date_from": "2026-12-01",
                    "date_to": "2026-12-31",
                    "items": [
                        {
                            "ward_code": "16681",
                            "ward_name": "Xã Nghi Phú",
                            "sessions": 4,
                            "capacity": 400,
                            "registered": 9000,
                            "fully_vaccinated": 8500,
                            "due": 500,
                            "capacity_minus_due": -100,
                        }
                    ],
                    "source": "stats coverage: registered − full",
                    "snapshot": {"built_at": "2026-12-07T08:00:00+00:00", "stale": False},
                }
            ]
        }
    )

    province_code: str
    date_from: date
    date_to: date
    items: list[CommuneCapacityPublic]
    source: str
    snapshot: dict[str, Any]
