"""The vaccination desk over the real app and database (both backends): check-in by scan or
typed ID, the register match, recording through the dose path, printing, and bad input."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.web.conftest import Web, today_session
from tiemchung.certificates.keys import KeyStore
from tiemchung.core import Platform
from tiemchung.registry.models import AuditEvent, Dose, ReviewItem

# Synthetic chip-card payloads of the test world's invented people (tests/factories.py).
AN_QR = "001085123456||Nguyễn Văn An|12041985|Nam|Thôn 1, Hà Nội|01062021\r\n"
AN_QR_NO_DIACRITICS = "001085123456||Nguyen Van An|12041985|Nam|Thon 1, Ha Noi|01062021"
UNKNOWN_QR = "001199000777||Đỗ Thị Mơ|03031999|Nữ|Xóm 2, Hà Nội|05052021"
# An, the card printing the full address of the register's ward (a1: 00001, Phường Phúc Xá)
AN_QR_ADDRESS = (
    "001085123456||Nguyễn Văn An|12041985|Nam|"
    "Số 3, Phường Phúc Xá, Quận Ba Đình, Thành phố Hà Nội|01062021"
)
# Someone in no register, living in Xã Nghĩa Mai (16942, Nghệ An), vaccinated at site a1
STRANGER_QR = (
    "040090000123||Hồ Văn Lạ|05051990|Nam|"
    "Xóm 2, Xã Nghĩa Mai, Huyện Nghĩa Đàn, Tỉnh Nghệ An|01062021"
)


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
    # The matched register person travels with the form (its history is the dose's), but a
    # differing field still leaves the dose unverified (was: no person_id at all).
    assert f["person_id"] == "P-AN" and f["full_name"] == "Nguyen Van An"
    assert f["match"] == "mismatch"
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


def _field_errors(html: str) -> list[str]:
    return re.findall(r'<span class="field-error" role="alert">([^<]*)</span>', html)


def test_a_future_date_says_so_not_that_the_format_is_wrong(desk: Web, platform: Platform) -> None:
    """The tester typed tomorrow (08/12/2026 on 07/12/2026) and read "gõ theo dạng
    ngày/tháng/năm". The format was right: the answer is the rule's, as the API's."""
    tomorrow = f"{platform.today() + timedelta(days=1):%d/%m/%Y}"
    f = _fields(desk.htmx("/desk/check", {"scan": AN_QR}).text)
    r = desk.htmx("/desk/dose", f | {"dose_date": tomorrow})
    assert r.status_code == 422
    assert _field_errors(r.text) == ["Ngày tiêm ở tương lai"]
    assert _fields(r.text)["dose_date"] == tomorrow
    # the desk's other date: a date of birth in the future, or one that does not exist
    r = desk.htmx("/desk/dose", f | {"dob": tomorrow})
    (dob_error,) = _field_errors(r.text)
    assert dob_error.startswith("Ngày sinh ở tương lai") and "gõ theo dạng" not in dob_error
    r = desk.htmx("/desk/dose", f | {"dose_date": "30/02/2026"})
    assert _field_errors(r.text) == ["Ngày &#39;30/02/2026&#39; không tồn tại"]
    r = desk.htmx("/desk/dose", f | {"dose_date": "hôm nay"})  # unreadable: the format hint
    (bad,) = _field_errors(r.text)
    assert "gõ theo dạng ngày/tháng/năm" in bad
    r = desk.htmx("/desk/dose?lang=en", f | {"dose_date": tomorrow})
    assert _field_errors(r.text) == ["the dose date is in the future"]


def test_a_rule_of_the_dose_path_comes_back_at_its_field(desk: Web) -> None:
    f = _fields(desk.htmx("/desk/check", {"scan": AN_QR}).text)
    r = desk.htmx("/desk/dose", f | {"lot_number": "PF-NOPE"})
    assert r.status_code == 422 and "Lô vắc xin không tồn tại" in r.text
    assert _fields(r.text)["lot_number"] == "PF-NOPE"
    # Was: 422 "Chưa có mũi 1 trước mũi 2". A dose that was given is stored; the desk says
    # what is missing and that the commune will follow it up.
    r = desk.htmx("/desk/dose", f | {"dose_number": "2"})
    assert r.status_code == 201, r.text
    assert "Đã ghi nhận mũi 2" in r.text
    assert "Chưa có mũi 1 trong hệ thống — hãy nhập từ phiếu/thẻ tiêm" in r.text


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


def _record(desk: Web, scan: str, **changes: str) -> str:
    f = _fields(desk.htmx("/desk/check", {"scan": scan}).text)
    r = desk.htmx("/desk/dose", f | changes)
    assert r.status_code == 201, r.text
    return r.text


def test_after_recording_the_history_and_next_dose_are_refreshed(desk: Web) -> None:
    """Was: the check-in's "next dose: 1" stayed above "✓ Đã ghi nhận mũi 1"."""
    text = _record(desk, AN_QR)
    assert "Đã ghi nhận mũi 1" in text
    oob = text[text.index('id="desk-history"') :]
    assert 'hx-swap-oob="true"' in oob[:60]
    assert re.search(r"<tr><td>1</td>", oob) and "mũi 2" in oob and "mũi 1," not in oob


def test_a_returning_person_can_reprint_from_the_check_in(desk: Web, platform: Platform) -> None:
    KeyStore.for_data_dir(platform.settings.data_dir).init()
    before = desk.htmx("/desk/check", {"scan": AN_QR}).text
    assert 'id="reprint"' not in before  # nothing to print before a first dose
    _record(desk, AN_QR)
    r = desk.htmx("/desk/check", {"scan": AN_QR})
    form = r.text[r.text.index('id="reprint-form"') :]
    assert 'action="/desk/certificate"' in form[:200] and 'value="P-AN"' in form[:400]
    pdf = desk.client.post("/desk/certificate", data={"person_id": "P-AN", "csrf_token": desk.csrf})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_the_scanned_ward_is_shown_by_name(desk: Web) -> None:
    r = desk.htmx("/desk/check", {"scan": AN_QR_ADDRESS})
    row = re.search(r"<th scope=\"row\">Phường/xã</th><td>([^<]*)</td><td>([^<]*)</td>", r.text)
    assert row is not None and row.groups() == ("Phường Phúc Xá", "Phường Phúc Xá")
    assert _fields(r.text)["ward_code"] == "00001"


def test_an_unknown_persons_dose_goes_to_the_ward_of_the_scanned_address(
    desk: Web, platform: Platform
) -> None:
    """Was: no ward, so no commune saw it. The card's address names Xã Nghĩa Mai."""
    _record(desk, STRANGER_QR)
    with platform.sessions() as s:
        dose = s.scalar(select(Dose).where(Dose.national_id == "040090000123"))
        assert dose is not None and dose.status == "unverified"
        assert (dose.area_ward_code, dose.area_province_code) == ("16942", "40")
        assert dose.address == "Xóm 2, Xã Nghĩa Mai, Huyện Nghĩa Đàn, Tỉnh Nghệ An"
        ward = s.scalar(select(ReviewItem.ward_code).where(ReviewItem.dose_id == dose.id))
    assert ward == "16942"


def test_warnings_show_before_and_after_saving(desk: Web) -> None:
    """Doses 1 and 3 recorded, dose 4 prefilled: the gap is announced at check-in, and the
    dose is stored all the same; in English with ?lang=en."""
    past = {"session_id": "", "product_code": "PFIZER"}  # entered late, outside a session
    _record(desk, AN_QR, dose_date="01/08/2021", **past)
    _record(desk, AN_QR, dose_number="3", dose_date="01/11/2021", **past)
    r = desk.htmx("/desk/check", {"scan": AN_QR})
    f = _fields(r.text)
    assert f["dose_number"] == "4"
    before = r.text[r.text.index('id="dose-warnings"') :]
    assert "Chưa có mũi 2 trong hệ thống — hãy nhập từ phiếu/thẻ tiêm" in before[:600]
    desk.page("/desk?lang=en")
    r = desk.htmx("/desk/dose", f)
    assert r.status_code == 201
    after = r.text[r.text.index('id="dose-warnings"') :]
    assert "dose 2 missing from the system — enter it from the vaccination card" in after[:600]


def test_dose_number_and_date_share_a_row_class(desk: Web) -> None:
    """The dose number field carried the page-container class "narrow" (2rem auto margins),
    which pushed it out of line with the date at 1366 px."""
    r = desk.htmx("/desk/check", {"scan": AN_QR})
    assert re.search(r'<div class="field"><label for="f-number">', r.text)


def test_changing_the_dose_number_predicts_its_warnings_again(desk: Web) -> None:
    r = desk.htmx("/desk/check", {"scan": AN_QR})
    assert re.search(r'<div id="dose-warnings" aria-live="polite">\s*</div>', r.text)
    assert 'hx-post="/desk/predict"' in r.text  # on the dose number and the date
    f = _fields(r.text)
    third = desk.htmx("/desk/predict", f | {"dose_number": "3"})
    assert third.status_code == 200
    assert 'class="message warn"' in third.text
    assert "Chưa có mũi 1, 2 trong hệ thống — hãy nhập từ phiếu/thẻ tiêm" in third.text
    first = desk.htmx("/desk/predict", f | {"dose_number": "1"})
    assert "Chưa có mũi" not in first.text and 'id="dose-warnings"' in first.text
    bad_date = desk.htmx("/desk/predict", f | {"dose_number": "3", "dose_date": "31/02/2026"})
    assert "Chưa có mũi" not in bad_date.text  # the form reports the date when it is sent
