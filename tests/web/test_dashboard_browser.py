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
    kpi = page.locator("#kpi-rvr .value").inner_text()
    assert "%" in kpi  # recorded / reported = …%: the demo loads the sites' tallies
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)

    page.select_option('select[name="ward"]', first_ward)
    page.click('form.filters button[type="submit"]')
    page.wait_for_url(f"**ward={first_ward}**")
    expect(page.locator("nav.crumbs a")).to_have_count(1, timeout=15_000)
    assert page.locator("nav.crumbs span").inner_text()  # province › ward: the ward's name
    assert page.locator('table[data-table="coverage"] td').nth(0).inner_text() == first_ward
    assert page.locator('select[name="ward"]').input_value() == first_ward  # kept

    with page.expect_download() as dl:
        page.click('figure:has(table[data-table="quality"]) a:has-text("CSV")')
    body = Path(dl.value.path()).read_text(encoding="utf-8-sig")
    parsed = list(csv.reader(io.StringIO(body)))
    assert parsed[0][0] == "Mã xã/phường / Ward code" and parsed[1][0] == first_ward

    page.click("header a.lang")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Dashboard"
    assert page.locator("#coverage h2").inner_text() == "Coverage"
    assert page.locator('table[data-table="coverage"] th').nth(0).inner_text() == "Ward code"
