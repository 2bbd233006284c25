"""The users page and the forced password change in Debian's Chromium over a real
`tiemchung serve` of the demo province, at a phone's width and a laptop's: a province
administrator creates a commune user, who signs in, is sent to change the password, and
lands home; moves a user to another ward of its province, and is refused another province in
the user's row; no page is wider than the window."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, select

from tests.web.conftest import DemoServer
from tests.web.test_browser import sign_in
from tiemchung.demo import DEMO_PROVINCE
from tiemchung.identity import iter_admin_units
from tiemchung.registry.models import User

pytestmark = pytest.mark.slow

SIZES = {"phone": (390, 844), "laptop": (1366, 768)}
TEMPORARY = "Hoa-sen-no-7-giua-dam"
CHOSEN = "Cau-vong-sau-mua-42"


def _ward_of_commune_user(server: DemoServer) -> str:
    engine = create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            ward = conn.scalar(
                select(User.ward_code).where(User.username == server.users["commune"])
            )
    finally:
        engine.dispose()
    assert ward
    return str(ward)


def _fits(page: Any) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths


@pytest.mark.parametrize("size", sorted(SIZES))
def test_users_page_and_forced_password_change(
    browser: Any, demo_server: DemoServer, size: str
) -> None:
    width, height = SIZES[size]
    username = f"xa_moi_{size}"
    admin_ctx = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
    user_ctx = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
    try:
        page = admin_ctx.new_page()
        sign_in(page, demo_server, "province")
        page.click("header nav a[href='/users']")
        page.wait_for_url(f"{demo_server.base}/users")
        expect(page.locator(f"tr[data-username='{demo_server.users['site']}']")).to_be_visible()
        _fits(page)
        page.fill("#username", username)
        page.fill("#password", "short-pw")
        page.select_option("#role", "commune")
        page.fill("#ward_code", _ward_of_commune_user(demo_server))
        page.click("#create-user button[type=submit]")
        # too short: refused (by the browser's minlength or the policy), what was typed kept
        assert page.input_value("#username") == username
        page.fill("#password", TEMPORARY)
        page.click("#create-user button[type=submit]")
        expect(page.locator("#done")).to_contain_text(username)
        row = page.locator(f"tr[data-username='{username}']")
        expect(row.locator(".state")).to_contain_text("phải đổi mật khẩu")
        _fits(page)

        other = user_ctx.new_page()
        other.goto(f"{demo_server.base}/signin")
        other.fill("#username", username)
        other.fill("#password", TEMPORARY)
        other.press("#password", "Enter")
        other.wait_for_url(f"{demo_server.base}/password")
        expect(other.locator("#forced")).to_be_visible()
        _fits(other)
        other.goto(f"{demo_server.base}/worklist")  # every page sends back until it is done
        other.wait_for_url(f"{demo_server.base}/password")
        other.fill("#old_password", TEMPORARY)
        other.fill("#new_password", CHOSEN)
        other.fill("#confirm", CHOSEN)
        other.click("form[action='/password'] button[type=submit]")
        other.wait_for_url(f"{demo_server.base}/worklist?password=changed")
        expect(other.locator("header .user")).to_have_text(username)
        _fits(other)

        page.reload()
        row = page.locator(f"tr[data-username='{username}']")
        expect(row.locator(".state")).not_to_contain_text("phải đổi mật khẩu")
        row.locator("button.toggle").click()
        expect(page.locator("#done")).to_contain_text(username)
        expect(page.locator(f"tr[data-username='{username}'] .state")).to_contain_text("Đã khoá")
        other.goto(f"{demo_server.base}/worklist")  # the disabled user's session is over
        other.wait_for_url(f"{demo_server.base}/signin**")
        page.click("header nav a[href='/audit']")
        page.wait_for_url(f"{demo_server.base}/audit")
        page.fill("#f-action", "user")
        page.click("#filters button[type=submit]")
        expect(page.locator("#events .action").first).to_have_text("user.disable")
        _fits(page)
    finally:
        admin_ctx.close()
        user_ctx.close()


def _other_ward(ward: str) -> str:
    """Another ward of the demo's province than ``ward`` (a province may move a user there)."""
    return next(
        u.code
        for u in iter_admin_units("2021")
        if u.level == "ward" and u.province_code == DEMO_PROVINCE and u.code != ward
    )


@pytest.mark.parametrize("size", sorted(SIZES))
def test_a_province_changes_a_users_role_and_area_on_the_page(
    browser: Any, demo_server: DemoServer, size: str
) -> None:
    width, height = SIZES[size]
    username = f"xa_doi_{size}"
    ward = _ward_of_commune_user(demo_server)
    ctx = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
    try:
        page = ctx.new_page()
        sign_in(page, demo_server, "province")
        page.goto(f"{demo_server.base}/users")
        page.fill("#username", username)
        page.fill("#password", TEMPORARY)
        page.select_option("#role", "commune")
        page.fill("#ward_code", ward)
        page.click("#create-user button[type=submit]")
        expect(page.locator("#done")).to_contain_text(username)
        row = page.locator(f"tr[data-username='{username}']")
        uid = (row.get_attribute("id") or "").removeprefix("user-")
        assert uid.isdigit()
        # the province is not offered the central role; another province is refused in place
        row.locator("details.change summary").click()
        options = row.locator(f"#role-{uid} option").all_inner_texts()
        assert "central" not in options and "province" in options
        expect(row.locator(f"#ward_code-{uid}")).to_have_value(ward)
        row.locator(f"#role-{uid}").select_option("province")
        row.locator(f"#province_code-{uid}").fill("01")
        row.locator(f"#change-{uid} button[type=submit]").click()
        row = page.locator(f"tr[data-username='{username}']")
        problem = row.locator("#change-problems")
        expect(problem).to_be_visible()
        expect(problem).to_contain_text("Chỉ được cấp quyền trong tỉnh của mình (40)")
        expect(row.locator(f"#province_code-{uid}")).to_have_value("01")
        expect(row.locator("td").nth(0)).to_have_text("commune")  # nothing changed
        _fits(page)
        # within its own province: done, and the row shows the new ward
        row.locator(f"#role-{uid}").select_option("commune")
        moved = _other_ward(ward)
        row.locator(f"#ward_code-{uid}").fill(moved)
        row.locator(f"#change-{uid} button[type=submit]").click()
        expect(page.locator("#done")).to_contain_text(f"Đã đổi vai trò hoặc khu vực của {username}")
        row = page.locator(f"tr[data-username='{username}']")
        expect(row.locator("td").nth(1)).to_have_text(moved)
        expect(row.locator("details.change")).not_to_have_attribute("open", "")
        _fits(page)
    finally:
        ctx.close()
