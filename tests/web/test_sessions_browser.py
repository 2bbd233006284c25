"""End-to-end: session planning in Debian's Chromium over the demo (a real server), at
desktop and phone width. The site user plans a session for today (beside the demo's own open
one, so the other browser tests keep theirs), opens it, records a dose in it at the desk (a
register person of its ward with no dose yet, a different one per width) and closes it with
the doses drawn: the page shows the reconciliation, counted here by hand."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.web.conftest import DemoServer
from tests.web.test_browser import sign_in
from tests.web.test_responsive import Checks
from tiemchung.config import Settings
from tiemchung.core import Platform
from tiemchung.registry.models import Dose, Person, User

pytestmark = pytest.mark.slow
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


@pytest.fixture(scope="module")
def fresh_people(demo_server: DemoServer) -> dict[str, str]:
    """A national ID per width: register persons of the site's ward with no dose at all."""
    settings = Settings(data_dir=demo_server.data_dir, database_url=demo_server.database_url)
    with Platform(settings) as platform, platform.sessions() as s:
        ward = s.scalar(select(User.ward_code).where(User.username == demo_server.users["site"]))
        dosed = select(Dose.person_pk).where(Dose.person_pk.is_not(None))
        ids = [
            p.national_id
            for p in s.scalars(
                select(Person)
                .where(Person.ward_code == ward, Person.id.not_in(dosed))
                .order_by(Person.id.desc())
            )
            if p.national_id and len(p.national_id) == 12
            and p.national_id != demo_server.person["national_id"]
        ]  # fmt: skip
    assert len(ids) >= 2
    return {"desktop": ids[0], "phone": ids[1]}


@pytest.mark.parametrize("size", list(SIZES))
def test_plan_open_record_and_close(
    browser: Any, demo_server: DemoServer, fresh_people: dict[str, str], size: str
) -> None:
    width, height = SIZES[size]
    context = browser.new_context(
        viewport={"width": width, "height": height}, locale="vi-VN", bypass_csp=True
    )
    page = context.new_page()
    try:
        sign_in(page, demo_server, "site")
        page.click('header nav a[href="/sessions"]')
        page.wait_for_url(f"{demo_server.base}/sessions")
        check = Checks(page, f"{width}px")
        check("sessions")
        page.fill("#products", "PFIZER")
        page.fill("#time_slots", "07:30-11:00=5")
        page.fill("#groups", "G1")
        page.check("#allow_parallel")  # the demo's own session stays open today
        page.click("#plan-submit")
        page.wait_for_url("**/sessions?week=*")
        planned = page.locator('article.session[data-status="planned"]').last
        session_id = planned.get_attribute("data-session")
        assert session_id is not None and "5" in planned.inner_text()
        planned.locator("[data-open]").click()
        card = page.locator(f'article.session[data-session="{session_id}"]')
        assert card.get_attribute("data-status") == "open"

        page.goto(f"{demo_server.base}/desk")
        page.fill("#scan", fresh_people[size])
        page.press("#scan", "Enter")
        page.wait_for_selector("#f-session")
        page.select_option("#f-session", session_id)
        page.click("#confirm")
        page.wait_for_selector(".recorded")

        page.goto(f"{demo_server.base}/sessions")
        card = page.locator(f'article.session[data-session="{session_id}"]')
        card.locator(f"#opened-{session_id}").fill("3")
        card.locator("[data-close]").click()
        page.wait_for_url("**/sessions?week=*")
        card = page.locator(f'article.session[data-session="{session_id}"]')
        assert card.get_attribute("data-status") == "closed"
        closing = card.locator("[data-closing]").inner_text()
        # 1 dose recorded in it, none wasted, 3 drawn from the vials: 2 unaccounted for
        assert "đã ghi 1" in closing and "hao hụt 0" in closing and "đã mở 3" in closing
        assert card.locator("[data-difference]").inner_text().strip() == "chênh lệch 2"
        check("sessions closed")
        check.assert_clean()
    finally:
        context.close()
