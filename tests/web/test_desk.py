"""The vaccination desk over the real app and database (both backends): check-in by scan or
typed ID, the register match, recording through the dose path, printing, and bad input."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.web.conftest import Web, today_session
from tiemchung.certificates.keys import KeyStore
from tiemchung.core import Platform
from tiemchung.registry.models import AuditEvent, Dose

# Synthetic chip-card payloads of the test world's invented people (tests/factories.py).
AN_QR = "001085123456||Nguyễn Văn An|12041985|Nam|Thôn 1, Hà Nội|01062021\r\n"
AN_QR_NO_DIACRITICS = "001085123456||Nguyen Van An|12041985|Nam|Thon 1, Ha Noi|01062021"
UNKNOWN_QR = "001199000777||Đỗ Thị Mơ|03031999|Nữ|Xóm 2, Hà Nội|05052021"


def _fields(html: str) -> dict[str, str]:
    """The dose form's input values as the page prefilled them."""
    out = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', html))
    for name, body in re.findall(r'<select id="[^"]+" name="([a-z_]+)">(.*?)</select>', html):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        out[name] = chosen.group(1) if chosen else ""
    return out


@pytest.fixture
def desk(web: Web, platform: Platform) -> Web:
    today_session(platform, "S-A1", "PFIZER")
    web.sign_in("site_a1")
    r = web.page("/desk")
    assert r.status_code == 200
    return web


def test_desk_shows_todays_sessions(desk: Web) -> None:
    r = desk.page("/desk")
    assert "Pfizer" in r.text and "dự kiến 50 người" in r.text
    assert 'id="scan"' in r.text and "autofocus" in r.text


def test_scan_matches_the_register_and_prefills_the_dose(desk: Web, platform: Platform) -> None:
    r = desk.htmx("/desk/check", {"scan": AN_QR})
    assert r.status_code == 200
    assert "Khớp với sổ dân cư" in r.text and "Nguyễn Văn An" in r.text
    assert "0010******56" in r.text  # the desk sees the register's ID masked
    f = _fields(r.text)
    assert f["full_name"] == "Nguyễn Văn An" and f["dob"] == "12/04/1985" and f["sex"] == "M"
    assert f["person_id"] == "P-AN" and f["dose_number"] == "1" and f["lot_number"] == "PF-OK"
    assert f["dose_date"] == f"{platform.today():%d/%m/%Y}"
    with platform.sessions() as s:
        reads = s.scalars(
            select(AuditEvent.entity_id).where(AuditEvent.action == "person.read")
        ).all()
    assert "P-AN" in reads


def test_the_whole_loop_records_a_verified_dose_and_prints(desk: Web, platform: Platform) -> None:
    KeyStore.for_data_dir(platform.settings.data_dir).init()
    f = _fields(desk.htmx("/desk/check", {"scan": AN_QR}).text)
    r = desk.htmx("/desk/dose", f)
    assert r.status_code == 201, r.text
    assert "Đã ghi nhận mũi 1" in r.text and "Đã xác minh" in r.text
    assert 'action="/desk/certificate" target="_blank"' in r.text
    with platform.sessions() as s:
        dose = s.scalar(select(Dose).where(Dose.national_id == "001085123456"))
        assert dose is not None
        assert (dose.status, dose.dose_number, dose.product_code) == ("verified", 1, "PFIZER")
        assert dose.session_id is not None and dose.site_id == "S-A1"
    again = desk.htmx("/desk/dose", f)  # Enter pressed twice: the same dose, not a second
    assert again.status_code == 200 and "đã được ghi nhận trước đó" in again.text
    pdf = desk.client.post("/desk/certificate", data={"person_id": "P-AN", "csrf_token": desk.csrf})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    second = desk.client.post(
        "/desk/certificate", data={"person_id": "P-AN", "csrf_token": desk.csrf}
    )
    assert second.status_code == 200
    with platform.sessions() as s:
        issued = s.scalars(
            select(AuditEvent.id).where(AuditEvent.action == "certificate.issue")
        ).all()
    assert len(issued) == 1  # the second print reuses the certificate of the same dose


def test_a_mismatch_is_highlighted_and_the_dose_saved_unverified(
    desk: Web, platform: Platform
) -> None:
    r = desk.htmx("/desk/check", {"scan": AN_QR_NO_DIACRITICS})
    assert "Có thông tin khác với sổ dân cư" in r.text
    assert 'class="diff"' in r.text and "khác dấu" in r.text
    assert "CHƯA XÁC MINH" in r.text
    f = _fields(r.text)
    assert f["person_id"] == "" and f["full_name"] == "Nguyen Van An"
    r = desk.htmx("/desk/dose", f)
    assert r.status_code == 201 and "danh sách rà soát" in r.text
    assert "/desk/certificate" not in r.text
    with platform.sessions() as s:
        dose = s.scalar(select(Dose).where(Dose.national_id == "001085123456"))
        assert dose is not None and dose.status == "unverified" and dose.person_pk is None


def test_unknown_id_offers_an_unverified_dose(desk: Web) -> None:
    r = desk.htmx("/desk/check", {"scan": UNKNOWN_QR})
    assert r.status_code == 200 and "Không tìm thấy trong sổ dân cư" in r.text
    f = _fields(r.text)
    assert f["full_name"] == "Đỗ Thị Mơ" and f["national_id"] == "001199000777"
    assert desk.htmx("/desk/dose", f).status_code == 201


@pytest.mark.parametrize(
    ("scan", "expected"),
    [
        ("001085123456||Nguyễn Văn An|1204", "Không đọc được mã QR"),  # cut short
        ("001085123456||Nguyễn Văn An|99999999|Nam|Thôn 1|01062021", "Không đọc được mã QR"),
        ("00108512345", "Số định danh không hợp lệ"),  # a digit short
        ("   ", "Chưa có gì để tra cứu"),
    ],
)
def test_bad_scans_say_what_to_do_and_keep_the_text(desk: Web, scan: str, expected: str) -> None:
    r = desk.htmx("/desk/check", {"scan": scan})
    assert r.status_code == 422
    assert expected in r.text
    if scan.strip():
        assert scan.strip()[:30] in r.text  # shown back, and the field itself is not swapped
        assert "nhấn Enter" in r.text
    assert 'id="scan"' not in r.text


def test_garbled_scan_message_in_english(desk: Web) -> None:
    desk.page("/desk?lang=en")
    r = desk.htmx("/desk/check", {"scan": "001085123456||Nguyễn Văn An|1204"})
    assert "The QR code could not be read" in r.text and "Scan the QR code again" in r.text


def test_a_mistyped_date_keeps_everything_typed(desk: Web, platform: Platform) -> None:
    f = _fields(desk.htmx("/desk/check", {"scan": AN_QR}).text)
    f |= {"dose_date": "31/02/2026", "dob": "12/13/1985", "lot_number": "PF-OK"}
    r = desk.htmx("/desk/dose", f)
    assert r.status_code == 422
    assert "31/02/2026" in r.text and "ngày/tháng/năm" in r.text
    kept = _fields(r.text)
    for name in ("full_name", "national_id", "dob", "dose_date", "client_uuid", "person_id"):
        assert kept[name] == f[name]
    with platform.sessions() as s:
        assert s.scalar(select(Dose.id).where(Dose.national_id == "001085123456")) is None


def test_a_rule_of_the_dose_path_comes_back_at_its_field(desk: Web) -> None:
    f = _fields(desk.htmx("/desk/check", {"scan": AN_QR}).text)
    r = desk.htmx("/desk/dose", f | {"lot_number": "PF-NOPE"})
    assert r.status_code == 422 and "Lô vắc xin không tồn tại" in r.text
    assert _fields(r.text)["lot_number"] == "PF-NOPE"
    r = desk.htmx("/desk/dose", f | {"dose_number": "2"})
    assert r.status_code == 422 and "Chưa có mũi 1 trước mũi 2" in r.text


def test_the_site_records_only_at_its_own_site(desk: Web, platform: Platform) -> None:
    """The form has no site field: the dose goes to the signed-in user's site, and a session
    of another site is refused."""
    other = today_session(platform, "S-B1", "PFIZER")
    f = _fields(desk.htmx("/desk/check", {"scan": AN_QR}).text)
    r = desk.htmx("/desk/dose", f | {"session_id": str(other), "site_id": "S-B1"})
    assert r.status_code == 422 and "Không có buổi tiêm này hôm nay" in r.text
    r = desk.htmx("/desk/dose", f | {"site_id": "S-B1"})
    assert r.status_code == 201
    with platform.sessions() as s:
        assert s.scalars(select(Dose.site_id)).all() == ["S-A1"]


def test_citizen_sees_only_their_record(web: Web, platform: Platform) -> None:
    web.sign_in("citizen_an")
    r = web.page("/me")
    assert r.status_code == 200 and "Nguyễn Văn An" in r.text
    assert "Trần Thị Bình" not in r.text and "Chưa có mũi nào" in r.text
