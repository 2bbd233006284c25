"""End-to-end: the upload page in Debian's Chromium over the demo (a real `tiemchung serve`,
whose import runner runs the job), at desktop and phone width. A site user opens the page from
the nav, uploads a CSV with Vietnamese headers and a TCVN3 row, the job page's script follows
the progress until the report shows, and the rejects file downloads with the refused row."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import DemoServer
from tests.web.test_browser import HOMES
from tests.web.test_responsive import Checks

pytestmark = pytest.mark.slow


def _csv(tag: str) -> bytes:
    """Two rows stored (one typed in TCVN3), one refused: an unknown vaccine name."""
    return (
        "DANH SÁCH NGƯỜI ĐÃ TIÊM\n"
        "STT,Họ và tên,Ngày sinh,Giới tính,Loại vắc xin,Mũi,Ngày tiêm\n"
        f"1,NguyÔn V¨n Hïng {tag},05/03/1990,Nam,Sinopharm,1,15/08/2021\n"
        f"2,Trần Thị Mỹ {tag},02/01/1985,Nữ,Pfizer,2,01/09/2021\n"
        f"3,Lê Văn Tám {tag},01/01/1970,Nam,Covaxin,1,01/10/2021\n"
    ).encode()


def _sign_in(page: Any, server: DemoServer, role: str) -> None:
    page.goto(f"{server.base}/signin")
    page.fill("#username", server.users[role])
    page.fill("#password", server.password)
    page.press("#password", "Enter")
    page.wait_for_url(f"{server.base}{HOMES[role]}")


@pytest.mark.parametrize("size", [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_a_site_uploads_old_records_and_follows_the_job(
    browser: Any, demo_server: DemoServer, size: tuple[int, int]
) -> None:
    context = browser.new_context(
        viewport={"width": size[0], "height": size[1]},
        locale="vi-VN",
        bypass_csp=True,  # lets Playwright inject axe-core, as tests/web/test_responsive.py
        accept_downloads=True,
    )
    page = context.new_page()
    tag = f"W{size[0]}"
    try:
        _sign_in(page, demo_server, "site")
        nav = page.locator("#nav-imports")
        if not nav.is_visible():  # a phone's nav may fold away: the link is still there
            page.goto(f"{demo_server.base}{nav.get_attribute('href')}")
        else:
            nav.click()
        page.wait_for_url(f"{demo_server.base}/imports")
        assert page.locator("h1").inner_text() == "Nhập hồ sơ tiêm cũ"
        check = Checks(page, f"{size[0]}px")
        check("imports upload")
        page.set_input_files(
            "#files", {"name": f"so-tiem-{tag}.csv", "mimeType": "text/csv", "buffer": _csv(tag)}
        )
        page.click("#upload-submit")
        page.wait_for_url(f"{demo_server.base}/imports/*")
        # the page's script polls the status and shows the report when the job is done
        report = page.locator("#import-report")
        report.wait_for(state="visible", timeout=60_000)
        assert "Đã đọc 3 dòng = đã lưu 2 + đã có từ trước 0 + bị từ chối 1." in report.inner_text()
        assert (
            page.locator('#unknown-vaccines tr[data-vaccine="Covaxin"] td').nth(1).inner_text()
            == "1"
        )
        assert "[vaccines]" in page.locator("#synonym-example").inner_text()
        check("imports job")
        check.assert_clean()

        with page.expect_download() as dl:
            page.click("#rejects-link")
        rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text(encoding="utf-8"))))
        assert [(r["row"], r["full_name"], r["vaccine"]) for r in rows] == [
            ("5", f"Lê Văn Tám {tag}", "Covaxin")
        ]
    finally:
        context.close()


def test_the_job_page_works_without_scripts(browser: Any, demo_server: DemoServer) -> None:
    """With scripts off, the upload still goes through and the refresh link shows the end."""
    context = browser.new_context(java_script_enabled=False, locale="vi-VN")
    page = context.new_page()
    try:
        _sign_in_plain(page, demo_server)
        page.goto(f"{demo_server.base}/imports")
        page.set_input_files(
            "#files", {"name": "noscript.csv", "mimeType": "text/csv", "buffer": _csv("NS")}
        )
        page.click("#upload-submit")
        page.wait_for_url(f"{demo_server.base}/imports/*")
        for _ in range(100):
            if page.locator("#import-report").count():
                break
            page.click("#refresh")
            page.wait_for_timeout(300)
        assert "bị từ chối 1" in page.locator("#import-report").inner_text()
    finally:
        context.close()


def _sign_in_plain(page: Any, server: DemoServer) -> None:
    page.goto(f"{server.base}/signin")
    page.fill("#username", server.users["site"])
    page.fill("#password", server.password)
    page.click("form[action='/signin'] button[type=submit]")
    page.wait_for_url(f"{server.base}{HOMES['site']}")
