"""The opt-out link in a text (``/tc-huy/<phone>/<signature>``): GET only asks, the POST
with the CSRF token stops the texts (the list, the queued messages, the audit event); a
forged signature is refused. In Chromium over the demo at desktop and phone width too."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.web.conftest import DemoServer, Web
from tests.web.test_responsive import Checks
from tiemchung.auth import optout_link
from tiemchung.config import Settings
from tiemchung.core import Platform
from tiemchung.registry.messages.outbox import enqueue
from tiemchung.registry.models import AuditEvent
from tiemchung.registry.tables.messages import OutboxMessage, SmsOptOut


def test_the_link_asks_then_stops_the_texts(web: Web, platform: Platform) -> None:
    with platform.sessions() as s:
        queued = enqueue(s, phone="0912345678", body="Moi tiem", kind="invitation").message.id
        s.commit()
    link = optout_link.path(platform.token_secret, "0912345678")
    r = web.page(link)
    assert r.status_code == 200 and 'id="stop-form"' in r.text and "091****678" in r.text
    with platform.sessions() as s:  # a GET (a link preview) changes nothing
        assert s.get(SmsOptOut, "0912345678") is None
    r = web.client.post(link, data={"csrf_token": "forged"})
    assert r.status_code == 403
    r = web.client.post(link, data={"csrf_token": web.csrf})
    assert r.status_code == 200 and 'id="stop-done"' in r.text
    with platform.sessions() as s:
        stop = s.get(SmsOptOut, "0912345678")
        assert stop is not None and stop.source == "link"
        message = s.get(OutboxMessage, queued)
        assert message is not None and message.status == "opted_out"
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "sms.opt_out")).one()
        assert event.username == "opt-out-link" and event.detail == {"source": "link"}


def test_a_forged_link_is_refused(web: Web, platform: Platform) -> None:
    good = optout_link.path(platform.token_secret, "0912345678")
    other = good.replace("0912345678", "0987654321")
    r = web.page(other)
    assert r.status_code == 404 and 'id="stop-bad"' in r.text
    web.page(good)  # a real page's CSRF token: the refusal is the signature's, not the form's
    r = web.client.post(other, data={"csrf_token": web.csrf})
    assert r.status_code == 404
    with platform.sessions() as s:
        assert s.get(SmsOptOut, "0987654321") is None


@pytest.mark.slow
@pytest.mark.parametrize(
    ("size", "phone"),
    [((1280, 800), "0912000001"), ((390, 844), "0912000002")],
    ids=["desktop", "phone"],
)
def test_the_link_in_chromium(
    browser: Any, demo_server: DemoServer, size: tuple[int, int], phone: str
) -> None:
    settings = Settings(data_dir=demo_server.data_dir, database_url=demo_server.database_url)
    link = optout_link.path(settings.token_secret(), phone)
    context = browser.new_context(
        viewport={"width": size[0], "height": size[1]}, locale="vi-VN", bypass_csp=True
    )
    page = context.new_page()
    try:
        page.goto(f"{demo_server.base}{link}")
        check = Checks(page, f"{size[0]}px")
        check("sms-stop")
        page.click("#stop-submit")
        expect(page.locator("#stop-done")).to_be_visible()
        check("sms-stop-done")
        check.assert_clean()
    finally:
        context.close()
    with Platform(settings) as platform, platform.sessions() as s:
        assert s.get(SmsOptOut, phone) is not None
