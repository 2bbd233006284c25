"""Request and answer models of the AEFI routes (``api/routes/aefi.py``), with the examples
the OpenAPI page shows. Codes are plain strings here: the service names an unknown code in
both languages with the list of valid ones (registry/aefi/reports.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tiemchung.serving.types import RowId

Code = Field(max_length=40)
_EXAMPLE_IN: dict[str, Any] = {
    "dose_id": 1842,
    "onset_at": "2026-12-07T10:15:00+07:00",
    "symptoms": ["fever", "local_reaction"],
    "seriousness": [],
    "outcome": "recovering",
    "reporter_name": "Nguyễn Thị Hoa",
    "reporter_role": "Điều dưỡng / nurse",
    "reporter_contact": "0912000000",
    "notes": "Sốt 38,5 °C sau 6 giờ / fever 38.5 °C after 6 hours",
}


class AefiFields(BaseModel):
    """The WHO AEFI reporting form's core fields."""

    onset_at: datetime = Field(description="onset, date and time (Vietnam's time if no zone)")
    symptoms: list[str] = Field(
        max_length=10,
        description="anaphylaxis, fever, local_reaction, seizure, myocarditis, thrombosis, other",
    )
    symptoms_other: str | None = Field(None, max_length=500, description="with 'other'")
    seriousness: list[str] = Field(
        default_factory=list,
        max_length=5,
        description="death, life_threatening, hospitalisation, disability, congenital_anomaly;"
        " none: a non-serious event",
    )
    outcome: str = Field(
        "unknown",
        max_length=16,
        description="recovered, recovering, not_recovered, sequelae, died, unknown",
    )
    death_date: date | None = Field(None, description="required when the outcome is 'died'")
    reporter_name: str = Field(min_length=1, max_length=200)
    reporter_role: str | None = Field(None, max_length=80)
    reporter_contact: str | None = Field(None, max_length=120)
    notes: str | None = Field(None, max_length=4000)


class AefiCreate(AefiFields):
    """A new report against a dose given at the caller's site."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE_IN]})

    dose_id: RowId


class AefiPatch(BaseModel):
    """A correction: the fields to change (absent: as they are). The report is checked whole
    again; the values before stay in the audit log."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"outcome": "recovered", "notes": "Hết sốt sau 2 ngày / no fever"}]
        },
    )

    onset_at: datetime | None = None
    symptoms: list[str] | None = Field(None, max_length=10)
    symptoms_other: str | None = Field(None, max_length=500)
    seriousness: list[str] | None = Field(None, max_length=5)
    outcome: str | None = Field(None, max_length=16)
    death_date: date | None = None
    reporter_name: str | None = Field(None, min_length=1, max_length=200)
    reporter_role: str | None = Field(None, max_length=80)
    reporter_contact: str | None = Field(None, max_length=120)
    notes: str | None = Field(None, max_length=4000)


class AefiPublic(AefiFields):
    """A stored report, with its dose's site, product and lot and the lot's cluster flag."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                _EXAMPLE_IN
                | {
                    "id": 77,
                    "site_id": "TYT-16681",
                    "product_code": "PFIZER",
                    "lot_id": 12,
                    "lot_number": "FK1234",
                    "dose_date": "2026-12-07",
                    "serious": False,
                    "version": 1,
                    "lot_flagged": False,
                    "flag_reason": None,
                }
            ]
        }
    )

    id: int
    dose_id: int
    site_id: str
    product_code: str
    lot_id: int | None
    lot_number: str | None
    dose_date: date
    serious: bool
    version: int
    lot_flagged: bool = Field(description="the lot has a cluster of serious events")
    flag_reason: str | None = Field(description="burst (in 7 days) or rate (per 10,000 doses)")


class AefiPage(BaseModel):
    """Reports newest first; ask again with ``before=next_before`` for older ones."""

    items: list[AefiPublic]
    next_before: int | None


class AefiCount(BaseModel):
    """Reports of one product and lot (at one place when counted by place)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "place_code": "40",
                    "product_code": "PFIZER",
                    "lot_id": 12,
                    "lot_number": "FK1234",
                    "reports": 14,
                    "serious": 3,
                    "deaths": 0,
                    "flagged": True,
                    "flag_reason": "burst",
                }
            ]
        }
    )

    place_code: str | None
    product_code: str
    lot_id: int | None
    lot_number: str | None
    reports: int
    serious: int
    deaths: int
    flagged: bool
    flag_reason: str | None


class ClusterRulePublic(BaseModel):
    """The rule the flags were figured with (registry/aefi/signals.py)."""

    burst_count: int
    burst_days: int
    per_10k: float
    rate_min_serious: int


class AefiSummary(BaseModel):
    """Counts by product and lot (and place), with each lot's flag."""

    by: str
    rule: ClusterRulePublic
    items: list[AefiCount]
