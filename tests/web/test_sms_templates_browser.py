"""End-to-end: the SMS templates page in Debian's Chromium over the demo (a real server), at
desktop and phone width. The centre types a long text into a template: the budget changes
as it is typed (1 SMS, then 2 past 160 characters; UCS-2 and 70 when accents are kept), and
the server's Preview gives the same figures as the script. Nothing is saved (the other
browser tests keep the built-in texts)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import DemoServer
from tests.web.test_browser import sign_in
from tests.web.test_responsive import Checks

pytestmark = pytest.mark.slow
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


def _figures(page: Any, key: str) -> tuple[str, str, str, str]:
    box = page.locator(f"#budget-{key}")
    return tuple(  # type: ignore[return-value]
        box.locator(f'[data-b="{n}"]').inner_text()
        for n in ("segments", "characters", "encoding", "left")
    )


@pytest.mark.parametrize("size", list(SIZES))
def test_the_budget_follows_the_typing(browser: Any, demo_server: DemoServer, size: str) -> None:
    width, height = SIZES[size]
    context = browser.new_context(
        viewport={"width": width, "height": height}, locale="vi-VN", bypass_csp=True
    )
    page = context.new_page()
    try:
        sign_in(page, demo_server, "central")
        page.goto(f"{demo_server.base}/messages/templates")
        assert page.locator("h1").inner_text() == "Mẫu tin nhắn"
        check = Checks(page, f"{width}px")
        check("sms templates")
        body = page.locator("#body-cancelled")
        body.fill("")
        body.press_sequentially("a" * 150)
        assert _figures(page, "cancelled") == ("1", "150", "GSM-7", "10")
        body.press_sequentially("ạ" * 11)  # unaccented: 161 GSM-7 characters, two segments
        assert _figures(page, "cancelled") == ("2", "161", "GSM-7", "145")
        warning = page.locator('#budget-cancelled [data-b="warnings"] li').first
        assert "2 tin nhắn" in warning.inner_text()
        page.check("#keep-cancelled")  # accents kept: UCS-2, 161 > 134, three segments
        assert _figures(page, "cancelled") == ("3", "161", "UCS-2", "40")
        body.fill("ạ" * 70)
        body.press_sequentially("ạ")
        assert _figures(page, "cancelled") == ("2", "71", "UCS-2", "63")
        live = _figures(page, "cancelled")
        page.click("#preview-cancelled")  # the server's figures for the same body
        page.wait_for_load_state("load")
        assert page.locator("#body-cancelled").input_value() == "ạ" * 71
        assert _figures(page, "cancelled") == live
        check("sms templates preview")
        check.assert_clean()
    finally:
        context.close()
