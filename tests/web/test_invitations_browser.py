"""End-to-end in Debian's Chromium over the demo (a real server), at desktop and phone width:
the site user previews and sends a session's invitations from its page, and the invitee opens
the short link (no account) and answers — confirms at one width, asks for another time at the
other (the only later slot has room, so they move there). Every page is checked for overflow
and axe's serious findings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.web.conftest import DemoServer
from tests.web.test_browser import sign_in
from tests.web.test_responsive import Checks
from tiemchung.auth.invitelinks import token
from tiemchung.config import Settings
from tiemchung.core import Platform
from tiemchung.registry.catalog import sessions as planning
from tiemchung.registry.models import User
from tiemchung.registry.scope import Actor
from tiemchung.registry.tables.invitations import Invitation

pytestmark = pytest.mark.slow
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


def _plan(server: DemoServer, days: int) -> tuple[int, bytes]:
    """A session at the demo site, ``days`` ahead: two slots, one place in the first."""
    settings = Settings(data_dir=server.data_dir, database_url=server.database_url)
    with Platform(settings) as platform, platform.sessions() as s:
        site = s.scalar(select(User.site_id).where(User.username == server.users["site"]))
        assert site is not None
        today = platform.today()
        vs = planning.plan_session(
            s,
            Actor.system("tests"),
            planning.SessionPlan(
                site_id=site,
                session_date=today + timedelta(days=days),
                products=["PFIZER"],
                time_slots=[
                    planning.TimeSlot("07:30", "09:00", 1),
                    planning.TimeSlot("09:00", "10:30", 2),
                ],
            ),
            today,
        )
        s.commit()
        return vs.id, platform.token_secret


@pytest.mark.parametrize("size", list(SIZES))
def test_send_then_answer_through_the_short_link(
    browser: Any, demo_server: DemoServer, size: str
) -> None:
    width, height = SIZES[size]
    session_id, secret = _plan(demo_server, 20 + list(SIZES).index(size))
    context = browser.new_context(
        viewport={"width": width, "height": height}, locale="vi-VN", bypass_csp=True
    )
    page = context.new_page()
    check = Checks(page, f"{width}px")
    try:
        sign_in(page, demo_server, "site")
        page.goto(f"{demo_server.base}/sessions/{session_id}/invitations")
        check("invitations")
        page.fill("#wait_list", "1")
        page.click("#preview-button")
        page.wait_for_selector("#preview")
        assert "sẽ mời: 3" in page.locator("#preview").inner_text()
        check("invitations preview")
        page.click("#send-button")
        page.wait_for_selector("#sent")
        assert "Đã mời 3 người, 1 người trong danh sách chờ" in page.inner_text("#sent")
        assert page.locator('#invitation-table tr[data-status="invited"]').count() == 3
        check("invitations sent")
        first = page.locator('#invitation-table tr[data-status="invited"]').first
        invitation_id = int(first.get_attribute("data-invitation") or 0)
        context.clear_cookies()  # the invitee has no account

        page.goto(f"{demo_server.base}/i/{token(secret, invitation_id)}")
        assert page.inner_text("#slot") == "07:30-09:00"
        check("short link")
        if size == "phone":
            page.click('[data-action="confirm"]')
            page.wait_for_selector("#done")
            assert page.get_attribute("#status", "data-status") == "confirmed"
        else:
            page.click('[data-action="reschedule"]')
            page.wait_for_selector("#done")
            # the later slot is full (two invited there): the wait list's end
            assert page.get_attribute("#status", "data-status") == "waitlisted"
        check("short link answered")
        page.goto(f"{demo_server.base}/i/{invitation_id}.00000000000000000000")
        assert page.locator("#not-found").count() == 1
        check.assert_clean()
    finally:
        context.close()
    settings = Settings(data_dir=demo_server.data_dir, database_url=demo_server.database_url)
    with Platform(settings) as platform, platform.sessions() as s:
        rows = s.scalars(select(Invitation).where(Invitation.session_id == session_id)).all()
        assert len(rows) == 4 and len({r.person_id for r in rows}) == 4
        if size == "desktop":  # the place left went to the first on the wait list
            assert sum(1 for r in rows if r.slot_index == 0 and r.status == "invited") == 1
