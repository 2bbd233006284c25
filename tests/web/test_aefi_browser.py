"""End-to-end in Debian's Chromium over the demo (a real server), at desktop and phone width:
a site records a dose at the desk, opens the AEFI form from the recorded dose, sends a
serious report, and sees it on the AEFI page, counted against the dose's lot (one more than
the page showed before). A form with an onset before the dose comes back with the problem
beside its field."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.web.conftest import DemoServer
from tests.web.test_browser import qr_payload, sign_in
from tests.web.test_responsive import Checks
from tiemchung.config import Settings
from tiemchung.core import Platform
from tiemchung.registry.models import Person, User

pytestmark = pytest.mark.slow


def _person(server: DemoServer, nth: int) -> dict[str, Any]:
    """A register person of the site's ward other than the one the desk tests use."""
    settings = Settings(data_dir=server.data_dir, database_url=server.database_url)
    with Platform(settings) as platform, platform.sessions() as s:
        ward = s.scalar(select(User.ward_code).where(User.username == server.users["site"]))
        people = s.scalars(
            select(Person)
            .where(Person.ward_code == ward, Person.dob.like("____-__-__"))
            .order_by(Person.id.desc())
        ).all()
        chosen = [
            p
            for p in people
            if p.national_id
            and len(p.national_id) == 12
            and p.person_id != server.person["person_id"]
        ][nth]
        return {
            c: getattr(chosen, c)
            for c in ("person_id", "national_id", "full_name", "dob", "sex", "address")
        }


def _counts(page: Any) -> dict[str, int]:
    rows = page.locator("#aefi-counts tbody tr")
    return {
        rows.nth(i).get_attribute("data-lot"): int(
            rows.nth(i).locator("td[data-reports]").inner_text()
        )
        for i in range(rows.count())
    }


@pytest.mark.parametrize(
    ("size", "nth"), [((1280, 800), 0), ((390, 844), 1)], ids=["desktop", "phone"]
)
def test_an_event_recorded_at_the_desk_is_counted(
    browser: Any, demo_server: DemoServer, size: tuple[int, int], nth: int
) -> None:
    person = _person(demo_server, nth)
    context = browser.new_context(
        viewport={"width": size[0], "height": size[1]}, locale="vi-VN", bypass_csp=True
    )
    page = context.new_page()
    try:
        sign_in(page, demo_server, "site")
        page.goto(f"{demo_server.base}/aefi")
        before = _counts(page) if page.locator("#aefi-counts").count() else {}
        page.goto(f"{demo_server.base}/desk")
        page.locator("#scan").fill(qr_payload(person))
        page.locator("#scan").press("Enter")
        page.wait_for_selector(".match.status-verified")
        page.locator("#confirm").click()
        page.wait_for_selector(".recorded")
        page.click("#report-aefi")
        page.wait_for_url(f"{demo_server.base}/aefi/new?dose_id=*")
        assert page.locator("#dose_id").input_value().isdigit()
        # an onset the day before the dose (today): refused, the words beside the field
        today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()  # the desk's day
        yesterday = today - timedelta(days=1)
        page.fill("#onset_date", yesterday.isoformat())
        page.check('input[name="symptoms"][value="anaphylaxis"]')
        page.check('input[name="seriousness"][value="hospitalisation"]')
        page.fill("#reporter_name", "Điều dưỡng Thử")
        page.click("#aefi-submit")
        error = page.locator('.field-error[data-field="onset_at"]')
        expect(error).to_contain_text("trước ngày tiêm")
        # as typed: the boxes stay checked
        assert page.locator('input[name="symptoms"][value="anaphylaxis"]').is_checked()
        page.fill("#onset_date", today.isoformat())
        page.fill("#onset_time", "00:01")
        check = Checks(page, f"{size[0]}px")
        check("aefi-form")
        page.click("#aefi-submit")
        page.wait_for_url(f"{demo_server.base}/aefi?recorded=*")
        recorded = page.url.rsplit("=", 1)[1]
        first = page.locator("#aefi-list tbody tr").first
        assert first.get_attribute("data-report") == recorded
        lot = first.locator("td").nth(4).inner_text().replace("⚠", "").strip()
        after = _counts(page)
        assert after[lot] == before.get(lot, 0) + 1
        row = page.locator(f'#aefi-counts tr[data-lot="{lot}"]')
        assert row.locator("td[data-reports]").is_visible()
        check("aefi")
        check.assert_clean()
    finally:
        context.close()
