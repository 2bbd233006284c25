"""End-to-end: the dashboard in Debian's Chromium over the demo province (a real server).

A province user signs in, reads the charts and tables, drills down to a ward with the filter
form (htmx swaps the figures, the address follows), downloads a CSV, and switches to English.
The screenshot goes to docs/screenshots/dashboard.png.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import SCREENSHOTS, DemoServer

pytestmark = pytest.mark.slow


def sign_in(page: Any, server: DemoServer, role: str) -> None:
    page.goto(f"{server.base}/signin")
    page.fill("#username", server.users[role])
    page.fill("#password", server.password)
    page.press("#password", "Enter")
    page.wait_for_url(f"{server.base}/dashboard")


def test_province_dashboard(page: Any, demo_server: DemoServer) -> None:
    sign_in(page, demo_server, "province")
    assert page.locator("h1").inner_text() == "Bảng số liệu"
    assert page.locator("svg.chart").count() == 3
    rows = page.locator('table[data-table="coverage"] tbody tr')
    assert rows.count() >= 1  # the demo's wards (one in the browser tests' small demo)
    first_ward = rows.nth(0).locator("td").nth(0).inner_text()
    kpi = page.locator("#kpi-rvr .pct").inner_text()
    assert kpi.endswith("%") and "," in kpi  # recorded / reported: the demo loads tallies
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)

    page.select_option('select[name="ward"]', first_ward)
    page.click('form.dash-filters button[type="submit"]')
    page.wait_for_url(f"**ward={first_ward}**")
    expect(page.locator("nav.crumbs a")).to_have_count(1, timeout=15_000)
    assert page.locator("nav.crumbs span").inner_text()  # province › ward: the ward's name
    assert page.locator('table[data-table="coverage"] td').nth(0).inner_text() == first_ward
    assert page.locator('select[name="ward"]').input_value() == first_ward  # kept

    with page.expect_download() as dl:
        page.click('figure:has(table[data-table="quality"]) a:has-text("CSV")')
    assert dl.value.suggested_filename.startswith(f"quality_tinh-40_xa-{first_ward}")
    body = Path(dl.value.path()).read_text(encoding="utf-8-sig")
    parsed = list(csv.reader(io.StringIO(body)))
    assert parsed[0][0] == "Mã xã/phường / Ward code" and parsed[1][0] == first_ward

    page.click("header a.lang")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Dashboard"
    assert page.locator("#coverage h2").inner_text() == "Coverage"
    assert page.locator('table[data-table="coverage"] th').nth(0).inner_text() == "Ward code"


def test_filters_in_a_row_dates_typed_day_first(page: Any, demo_server: DemoServer) -> None:
    """At 1366 px the filters are one row; dates are typed dd/mm/yyyy whatever the browser's
    locale, a date in another shape is refused before sending, an impossible one by the server
    with the field named."""
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, demo_server, "province")
    tops = [
        page.locator(sel).bounding_box()["y"]
        for sel in ('select[name="ward"]', 'select[name="age_group"]', "#f-date_from", "#f-date_to")
    ]
    assert max(tops) - min(tops) < 4, tops  # one row, not one narrow column
    # every table shows its right-hand columns: it fits its box, or its box scrolls
    boxes = page.locator("figure.stats-table .scroll")
    assert boxes.count() >= 7
    for i in range(boxes.count()):
        fits, scrolls = boxes.nth(i).evaluate(
            "e => [e.scrollWidth <= e.clientWidth, getComputedStyle(e).overflowX === 'auto']"
        )
        assert fits and scrolls, i  # at 1366 px they all fit (and would scroll if not)
    assert page.locator("#f-date_from").get_attribute("type") == "text"

    page.fill("#f-date_from", "2021-09-01")  # not day/month/year: the browser says so
    page.click('form.dash-filters button[type="submit"]')
    assert page.evaluate("document.querySelector('#f-date_from').validity.patternMismatch")
    assert "date_from" not in page.url

    page.fill("#f-date_from", "01/09/2021")
    page.fill("#f-date_to", "31/12/2021")
    page.click('form.dash-filters button[type="submit"]')
    page.wait_for_url("**date_to=31%2F12%2F2021**")
    expect(page.locator("#kpi-first .note")).to_have_text("cộng dồn đến 31/12/2021")
    assert page.locator("#f-date_from").input_value() == "01/09/2021"

    page.fill("#f-date_to", "31/02/2022")  # the right shape, no such day
    page.click('form.dash-filters button[type="submit"]')
    alert = page.locator(".problems[role=alert]")
    expect(alert).to_contain_text("Đến ngày: '31/02/2022' không phải ngày")
    assert page.locator("#f-date_to").get_attribute("aria-invalid") == "true"


def test_no_sideways_scroll_at_390(page: Any, demo_server: DemoServer) -> None:
    """A phone: the page never scrolls sideways; a wide table scrolls inside its own box."""
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, demo_server, "province")
    for url in ("/dashboard", "/dashboard?age_group=18-49&date_from=01/09/2021"):
        page.goto(demo_server.base + url)
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), url
    box = page.locator('figure:has(table[data-table="quality"]) .scroll')
    assert box.evaluate("e => e.scrollWidth > e.clientWidth")  # 14 columns: it scrolls…
    assert box.evaluate("e => e.getBoundingClientRect().right <= innerWidth")  # …inside
    assert box.get_attribute("tabindex") == "0"  # reachable with the keyboard


@pytest.mark.parametrize("width,height", [(390, 844), (1366, 900)])
def test_commune_dashboard(page: Any, demo_server: DemoServer, width: int, height: int) -> None:
    """Issue 17: the commune health station's own dashboard, on a phone and a desktop — its
    ward only, the breakdown by vaccine and sex, the backlog and the stock; the page never
    scrolls sideways."""
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{demo_server.base}/signin")
    page.fill("#username", demo_server.users["commune"])
    page.fill("#password", demo_server.password)
    page.press("#password", "Enter")
    page.wait_for_load_state()
    page.goto(f"{demo_server.base}/dashboard")
    assert page.locator("h1").inner_text() == "Bảng số liệu"
    ward = demo_server.users["commune"].removeprefix("xa")  # the demo names it xa<ward code>
    rows = page.locator('table[data-table="coverage"] tbody tr')
    expect(rows).to_have_count(1)
    assert rows.nth(0).locator("td").nth(0).inner_text() == ward
    assert page.locator("nav.crumbs a").count() == 0  # no way up to the province
    breakdown = page.locator('table[data-table="doses_by_product"] tbody tr')
    assert breakdown.count() >= 2  # at least one vaccine and the total row
    assert breakdown.last.locator("td").nth(0).inner_text() == "Tổng / Total"
    expect(page.locator("#backlog table")).to_be_visible()
    expect(page.locator("#stock h2")).to_have_text("Tồn kho")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    if width < 500:  # on a phone a wide table scrolls inside its own box
        box = page.locator('figure:has(table[data-table="stock"]) .scroll')
        assert box.evaluate("e => e.getBoundingClientRect().right <= innerWidth")
    if width > 1000:
        page.screenshot(path=str(SCREENSHOTS / "dashboard_commune.png"), full_page=True)
