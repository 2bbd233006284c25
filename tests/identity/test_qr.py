"""Chip-card QR payloads (synthetic people and addresses)."""

from __future__ import annotations

import datetime as dt

import pytest

from tiemchung.identity import IdentityError, parse_cccd_qr

GOOD = "001190012345|123456789|Trần Thị Bích|05031990|Nữ|Số 12 Ngõ Giả Định, Hà Nội|20042021"


def test_good_payload() -> None:
    card = parse_cccd_qr(GOOD)
    assert card.national_id.digits == "001190012345"
    assert card.old_id == "123456789"
    assert card.full_name == "Trần Thị Bích"
    assert card.dob == dt.date(1990, 3, 5)
    assert card.sex == "female"
    assert card.address == "Số 12 Ngõ Giả Định, Hà Nội"
    assert card.issue_date == dt.date(2021, 4, 20)
    assert card.extra == ()


@pytest.mark.parametrize(
    "payload",
    [
        GOOD + "\r\n",
        GOOD + "\n",
        " " + GOOD.replace("|", " | ") + " ",
        GOOD.encode("utf-8"),
        GOOD.encode("utf-8") + b"\r\n",
    ],
)
def test_tolerated_forms(payload: str | bytes) -> None:
    card = parse_cccd_qr(payload)
    assert card.national_id.digits == "001190012345"
    assert card.full_name == "Trần Thị Bích"
    assert card.issue_date == dt.date(2021, 4, 20)


def test_empty_old_id_and_extra_fields() -> None:
    payload = "079203001122||Lê Văn Cường|01012003|Nam|Ấp Giả 3, TP. Hồ Chí Minh|15082021|x|y||"
    card = parse_cccd_qr(payload)
    assert card.old_id is None
    assert card.sex == "male"
    assert card.extra == ("x", "y")


def test_name_property_normalises() -> None:
    card = parse_cccd_qr(GOOD.replace("Trần Thị Bích", "TRẦN THỊ THUỶ"))
    assert card.full_name == "TRẦN THỊ THUỶ"
    assert card.name == "Trần Thị Thủy"


def test_mojibake_payload_is_repaired() -> None:
    broken = GOOD.encode("utf-8").decode("cp1252", errors="replace")
    assert "Tráº§n" in broken  # the damage really is there
    latin1 = GOOD.encode("utf-8").decode("latin-1")
    for payload in (latin1,):
        card = parse_cccd_qr(payload)
        assert card.full_name == "Trần Thị Bích"
        assert card.address == "Số 12 Ngõ Giả Định, Hà Nội"


def test_cp1252_mojibake_is_repaired() -> None:
    payload = "001090012345||Nguyễn Văn Hùng|05031990|Nam|Xã Giả, Hà Nội|20042021"
    damaged = payload.encode("utf-8").decode("cp1252", errors="strict") if all(
        b not in payload.encode("utf-8") for b in (0x81, 0x8D, 0x8F, 0x90, 0x9D)) else None
    assert damaged is not None and "Nguyá»…n" in damaged
    assert parse_cccd_qr(damaged).full_name == "Nguyễn Văn Hùng"


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ("001190012345|123456789|Trần Thị Bích|05031990|Nữ|Hà Nội", "qr_field_count"),
        ("", "qr_field_count"),
        ("123456789|123456789|Trần Thị Bích|05031990|Nữ|Hà Nội|20042021", "qr_id_kind"),
        ("00119001234|123456789|Trần Thị Bích|05031990|Nữ|Hà Nội|20042021", "id_length_11"),
        ("001190012345|12345|Trần Thị Bích|05031990|Nữ|Hà Nội|20042021", "qr_old_id"),
        ("001190012345|123456789||05031990|Nữ|Hà Nội|20042021", "qr_name_empty"),
        ("001190012345|123456789|Trần Thị Bích|31021990|Nữ|Hà Nội|20042021", "qr_dob"),
        ("001190012345|123456789|Trần Thị Bích|5031990|Nữ|Hà Nội|20042021", "qr_dob"),
        ("001190012345|123456789|Trần Thị Bích|05031990|Nữ|Hà Nội|32042021", "qr_issue_date"),
        ("001190012345|123456789|Trần Thị Bích|05031990|Nu?|Hà Nội|20042021", "qr_sex"),
        ("001190012345|123456789|Trần Thị Bích|05031990|Nữ|Hà Nội|20041989",
         "qr_issue_before_birth"),
        ("001190012345|123456789|Trần Thị Bích|05031991|Nữ|Hà Nội|20042021", "qr_id_conflict"),
        ("001190012345|123456789|Trần Thị Bích|05031990|Nam|Hà Nội|20042021", "qr_id_conflict"),
        ("001390012345|123456789|Trần Thị Bích|05031990|Nữ|Hà Nội|20042021", "qr_id_conflict"),
    ],
)
def test_rejections(payload: str, code: str) -> None:
    with pytest.raises(IdentityError) as exc:
        parse_cccd_qr(payload)
    assert exc.value.code == code


def test_not_utf8() -> None:
    raw = GOOD.encode("utf-16")
    with pytest.raises(IdentityError) as exc:
        parse_cccd_qr(raw)
    assert exc.value.code == "qr_not_utf8"
    with pytest.raises(IdentityError) as exc:
        parse_cccd_qr(GOOD.replace("ầ", "\ufffd"))
    assert exc.value.code == "qr_not_utf8"
    with pytest.raises(IdentityError) as exc:
        parse_cccd_qr(GOOD.replace("ầ", "\udce1"))
    assert exc.value.code == "qr_not_utf8"
    with pytest.raises(IdentityError) as exc:
        parse_cccd_qr(GOOD.encode("cp1258", errors="replace"))
    assert exc.value.code == "qr_not_utf8"
