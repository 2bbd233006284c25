"""End-to-end: Debian's Chromium, driven by Playwright, against a real `tiemchung serve` over a
small demo province. Keyboard only at the desk: scan (typed as keystrokes, as a USB scanner
does) → Enter → confirm → Enter → print. Screenshots go to docs/screenshots/.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import SCREENSHOTS, DemoServer

pytestmark = pytest.mark.slow

HOMES = {
    "site": "/desk",
    "commune": "/worklist",
    "citizen": "/me",
    "province": "/dashboard",
    "central": "/dashboard",
}


def qr_payload(person: dict[str, Any]) -> str:
    """A synthetic chip-card payload for an invented register person of the demo."""
    y, m, d = person["dob"].split("-")
    sex = "Nam" if person["sex"] == "M" else "Nữ"
    issued = f"{date.today():%d%m%Y}"
    fields = [person["national_id"], "", person["full_name"], f"{d}{m}{y}", sex]
    return "|".join([*fields, person["address"], issued])


def sign_in(page: Any, server: DemoServer, role: str, shot: str | None = None) -> None:
    page.goto(f"{server.base}/signin")
    page.fill("#username", server.users[role])
    page.fill("#password", server.password)
    if shot:
        page.screenshot(path=str(SCREENSHOTS / shot), full_page=True)
    page.press("#password", "Enter")
    page.wait_for_url(f"{server.base}{HOMES[role]}")
    # a page's autofocus lands after the load event: typing before it would lose keystrokes
    autofocus = page.locator("[autofocus]")
    if autofocus.count():
        expect(autofocus.first).to_be_focused(timeout=15_000)


def focused_id(page: Any) -> str:
    return str(page.evaluate("document.activeElement && document.activeElement.id"))


@pytest.mark.parametrize("role", ["site", "commune", "citizen", "province", "central"])
def test_each_role_signs_in_to_its_home(page: Any, demo_server: DemoServer, role: str) -> None:
    sign_in(page, demo_server, role, shot="signin.png" if role == "site" else None)
    assert page.url == f"{demo_server.base}{HOMES[role]}"
    if HOMES[role] == "/dashboard":
        return  # the dashboard's own tests (test_dashboard*.py) check its page
    assert page.locator("header .user").inner_text() == demo_server.users[role]
    if role == "citizen":
        assert "Hồ sơ tiêm chủng của tôi" in page.locator("h1").inner_text()
        page.screenshot(path=str(SCREENSHOTS / "citizen-me.png"), full_page=True)


def test_wrong_password_says_so(page: Any, demo_server: DemoServer) -> None:
    page.goto(f"{demo_server.base}/signin")
    page.fill("#username", demo_server.users["site"])
    page.fill("#password", "not-the-password")
    page.press("#password", "Enter")
    assert "Sai tên đăng nhập hoặc mật khẩu" in page.locator(".message.error").inner_text()


def test_desk_scanner_loop_from_the_keyboard(page: Any, demo_server: DemoServer) -> None:
    sign_in(page, demo_server, "site")
    assert focused_id(page) == "scan"  # the check-in field has the focus on arrival
    assert "Pfizer" in page.locator(".sessions").inner_text()
    page.keyboard.type(qr_payload(demo_server.person), delay=2)  # as a USB scanner types it
    page.keyboard.press("Enter")
    page.wait_for_selector(".match.status-verified")
    assert demo_server.person["full_name"] in page.locator(".match").inner_text()
    expect(page.locator("#confirm")).to_be_focused(timeout=15_000)
    page.screenshot(path=str(SCREENSHOTS / "desk.png"), full_page=True)
    page.keyboard.press("Enter")  # confirm: record the dose
    page.wait_for_selector(".recorded.status-verified")
    expected = f"Đã ghi nhận mũi {demo_server.person['next_dose']}"
    assert expected in page.locator(".recorded").inner_text()
    expect(page.locator("#print")).to_be_focused(timeout=15_000)
    page.screenshot(path=str(SCREENSHOTS / "desk-recorded.png"), full_page=True)
    answers: list[Any] = []
    page.context.on(
        "response", lambda r: answers.append(r) if "/desk/certificate" in r.url else None
    )
    with page.context.expect_page() as popup:
        page.keyboard.press("Enter")  # print: the PDF opens in a new tab
    for _ in range(100):
        if answers:
            break
        page.wait_for_timeout(100)
    response = answers[0]
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    popup.value.close()
    expect(page.locator("#scan")).to_be_focused(timeout=15_000)


def test_garbled_scan_keeps_what_was_typed(page: Any, demo_server: DemoServer) -> None:
    sign_in(page, demo_server, "site")
    garbled = qr_payload(demo_server.person)[:30]  # the scanner stopped half-way
    page.keyboard.type(garbled)
    page.keyboard.press("Enter")
    page.wait_for_selector(".message.error")
    text = page.locator(".message.error").inner_text()
    assert "Không đọc được mã QR" in text and "Quét lại mã QR" in text
    assert page.input_value("#scan") == garbled  # nothing the nurse typed is wiped
    assert focused_id(page) == "scan"
    page.screenshot(path=str(SCREENSHOTS / "desk-garbled.png"), full_page=True)


def test_english_switch(page: Any, demo_server: DemoServer) -> None:
    sign_in(page, demo_server, "site")
    page.click("header a.lang")
    page.wait_for_selector("html[lang=en]")
    assert page.url == f"{demo_server.base}/desk"
    assert "Vaccination desk" in page.locator("h1").inner_text()
    page.keyboard.type("04007547915")  # one digit short
    page.keyboard.press("Enter")
    page.wait_for_selector(".message.error")
    assert "Invalid ID number" in page.locator(".message.error").inner_text()
    assert page.input_value("#scan") == "04007547915"
    page.screenshot(path=str(SCREENSHOTS / "desk-en.png"), full_page=True)
    page.click("header a.lang")
    page.wait_for_selector("html[lang=vi]")
    assert "Bàn tiêm" in page.locator("h1").inner_text()
