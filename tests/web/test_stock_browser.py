"""End-to-end: the stock page in Debian's Chromium over the demo (a real server), at desktop
and phone width. A lot of its own is received at the site user's site through the service
(the demo's lots have their seeded stock, tests/test_demo_stock.py); the site sees it with
what is left, the province sees it summed per province, and the export carries the same
figures."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.web.conftest import DemoServer
from tests.web.test_browser import HOMES
from tests.web.test_responsive import Checks
from tiemchung.config import Settings
from tiemchung.core import Platform
from tiemchung.registry.catalog.lots import LotReceipt, receive_lot
from tiemchung.registry.catalog.stock import stock_rows
from tiemchung.registry.models import User
from tiemchung.registry.scope import Actor

pytestmark = pytest.mark.slow
#: a lot number no other browser test uses, so its figures are this test's alone
LOT = "BR-STOCK-1"
RECEIVED = 40


@pytest.fixture(scope="module")
def stocked(demo_server: DemoServer) -> str:
    """Receive ``RECEIVED`` doses of ``LOT`` at the site user's site; returns the site."""
    settings = Settings(data_dir=demo_server.data_dir, database_url=demo_server.database_url)
    with Platform(settings) as platform, platform.sessions() as s:
        site = s.scalar(select(User.site_id).where(User.username == demo_server.users["site"]))
        assert site is not None
        if not any(r.lot_number == LOT for r in stock_rows(s, Actor.system("test"))):
            receipt = LotReceipt("PFIZER", LOT, date(2099, 12, 31), site, RECEIVED)
            receive_lot(s, Actor.system("test"), receipt, today=date.today())
            s.commit()
    return site


def _sign_in(page: Any, server: DemoServer, role: str) -> None:
    page.goto(f"{server.base}/signin")
    page.fill("#username", server.users[role])
    page.fill("#password", server.password)
    page.press("#password", "Enter")
    page.wait_for_url(f"{server.base}{HOMES[role]}")


@pytest.mark.parametrize("size", [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_the_site_sees_its_stock_and_exports_it(
    browser: Any, demo_server: DemoServer, stocked: str, size: tuple[int, int]
) -> None:
    context = browser.new_context(
        viewport={"width": size[0], "height": size[1]},
        locale="vi-VN",
        bypass_csp=True,  # lets Playwright inject axe-core, as tests/web/test_responsive.py
    )
    page = context.new_page()
    try:
        _sign_in(page, demo_server, "site")
        page.click('header nav a[href="/stock"]')
        page.wait_for_url(f"{demo_server.base}/stock")
        assert page.locator("h1").inner_text() == "Tồn kho vắc xin"
        row = page.locator(f'#stock-table tr[data-lot="{LOT}"]')
        assert row.count() == 1
        assert row.get_attribute("data-place") == stocked
        on_hand = row.locator("td[data-on-hand]")
        assert on_hand.is_visible()
        assert on_hand.inner_text().strip().endswith(str(RECEIVED))
        # nothing runs past the screen's edge, at either width, and axe finds nothing serious
        check = Checks(page, f"{size[0]}px")
        check("stock")
        check.assert_clean()

        with page.expect_download() as dl:
            page.click("#export-csv")
        assert dl.value.suggested_filename == "ton-kho_site.csv"
        rows = list(csv.reader(io.StringIO(Path(dl.value.path()).read_text(encoding="utf-8-sig"))))
        assert rows[0][0] == "Mã nơi / Place code" and rows[0][-1] == "Tồn kho / On hand"
        mine = [r for r in rows[1:] if r[3] == LOT]
        assert [(r[0], r[-1]) for r in mine] == [(stocked, str(RECEIVED))]
    finally:
        context.close()


def test_the_province_sees_the_lot_per_province_in_english(
    page: Any, demo_server: DemoServer, stocked: str
) -> None:
    _sign_in(page, demo_server, "province")
    page.goto(f"{demo_server.base}/stock?level=province&lang=en")
    assert page.locator("h1").inner_text() == "Vaccine stock"
    assert page.locator("#level-province").get_attribute("aria-current") == "page"
    row = page.locator(f'#stock-table tr[data-lot="{LOT}"]')
    assert row.get_attribute("data-place") == "40"  # the demo's province, Nghệ An
    assert row.locator("td[data-on-hand]").inner_text().strip().endswith(str(RECEIVED))
