"""Request and answer models of the catalogue, sites, lots and stock routes
(``api/routes/stock.py``), with the examples the OpenAPI page shows."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SiteKind = Literal["commune_health_station", "hospital", "mobile_team", "workplace"]
Quantity = Field(ge=1, le=1_000_000, description="doses (not vials)")


class SiteCreate(BaseModel):
    """A new site; its province is its ward's."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "site_id": "TYT-16681",
                    "name": "Trạm Y tế xã Nghi Phú",
                    "ward_code": "16681",
                    "kind": "commune_health_station",
                }
            ]
        },
    )

    site_id: str = Field(min_length=1, max_length=20, description="the site's own code")
    name: str = Field(min_length=1, max_length=200)
    ward_code: str = Field(min_length=1, max_length=8, description="2021 GSO ward code")
    kind: SiteKind = "commune_health_station"


class SitePatch(BaseModel):
    """What to change in a site (absent: as is)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "Trạm Y tế phường Hưng Dũng"}]}
    )

    name: str | None = Field(None, min_length=1, max_length=200)
    ward_code: str | None = Field(None, min_length=1, max_length=8)
    kind: SiteKind | None = None


class ProductPatch(BaseModel):
    """What to change in a catalogue product (central only; absent: as is)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Pfizer-BioNTech (Comirnaty)", "active": True}]},
    )

    name: str | None = Field(None, min_length=1, max_length=120)
    mp: str | None = Field(None, min_length=1, max_length=60)
    ma: str | None = Field(None, min_length=1, max_length=60)
    vp: str | None = Field(None, min_length=1, max_length=60)
    active: bool | None = None


class LotReceive(BaseModel):
    """A delivery of a lot at a site."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "site_id": "TYT-16681",
                    "product_code": "PFIZER",
                    "lot_number": "FK1234",
                    "expiry": "2027-06-30",
                    "doses": 600,
                }
            ]
        },
    )

    site_id: str = Field(min_length=1, max_length=20)
    product_code: str = Field(min_length=1, max_length=20)
    lot_number: str = Field(min_length=1, max_length=40)
    expiry: date
    doses: int = Quantity


class LotTransfer(BaseModel):
    """Doses of a lot moved from one site to another."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"from_site": "TYT-16681", "to_site": "LD-16681", "doses": 60}]
        },
    )

    from_site: str = Field(min_length=1, max_length=20)
    to_site: str = Field(min_length=1, max_length=20)
    doses: int = Quantity


class WastageCreate(BaseModel):
    """Doses of a lot lost at a session (opened vials' unused doses, a broken vial)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"lot_number": "FK1234", "doses": 4, "note": "lọ mở cuối buổi"}]
        },
    )

    lot_number: str = Field(min_length=1, max_length=40)
    doses: int = Quantity
    note: str | None = Field(None, max_length=500)


class MovementPublic(BaseModel):
    """One stock movement as stored."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    lot_id: int
    site_id: str
    kind: str = Field(description="received, transfer_in, transfer_out or wasted")
    quantity: int
    other_site_id: str | None = None
    session_id: int | None = None


class LotReceived(BaseModel):
    """The lot (created or found) and the movement the delivery added."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "lot_id": 12,
                    "product_code": "PFIZER",
                    "lot_number": "FK1234",
                    "expiry": "2027-06-30",
                    "movement": {
                        "id": 31,
                        "lot_id": 12,
                        "site_id": "TYT-16681",
                        "kind": "received",
                        "quantity": 600,
                    },
                }
            ]
        }
    )

    lot_id: int
    product_code: str
    lot_number: str
    expiry: date
    movement: MovementPublic


class TransferDone(BaseModel):
    """The two movements of a transfer: out of the sending site, into the receiving one."""

    out: MovementPublic
    into: MovementPublic


class LotLinePublic(BaseModel):
    """A lot with what is left, in total and per site of the caller's area."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 12,
                    "product_code": "PFIZER",
                    "lot_number": "FK1234",
                    "expiry": "2027-06-30",
                    "on_hand": 540,
                    "sites": {"TYT-16681": 480, "LD-16681": 60},
                }
            ]
        },
    )

    id: int
    product_code: str
    lot_number: str
    expiry: date
    on_hand: int
    sites: dict[str, int]


class StockLine(BaseModel):
    """One lot at one place (a site, a commune or a province)."""

    level: Literal["site", "commune", "province"]
    place_code: str
    place_name: str
    product_code: str
    lot_id: int
    lot_number: str
    expiry: date
    expired: bool
    received: int
    transferred_in: int
    transferred_out: int
    administered: int
    wasted: int
    on_hand: int = Field(
        description="received + transferred_in − transferred_out − administered − wasted"
    )


class StockPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "level": "commune",
                    "items": [
                        {
                            "level": "commune",
                            "place_code": "16681",
                            "place_name": "Xã Nghi Phú",
                            "product_code": "PFIZER",
                            "lot_id": 12,
                            "lot_number": "FK1234",
                            "expiry": "2027-06-30",
                            "expired": False,
                            "received": 600,
                            "transferred_in": 0,
                            "transferred_out": 0,
                            "administered": 55,
                            "wasted": 5,
                            "on_hand": 540,
                        }
                    ],
                }
            ]
        }
    )

    level: Literal["site", "commune", "province"]
    items: list[StockLine]
