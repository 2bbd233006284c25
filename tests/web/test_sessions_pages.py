"""The sessions pages (both backends): site a1 plans a session, opens it, the desk records a
dose in it, and the closing shows the reconciliation; a bad plan comes back with its words
and the typed values; the desk with no open session says so and how to open one; the
province sees its planned capacity against the population due."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.factories import world
from tests.web.conftest import Web
from tests.web.test_desk import AN_QR, _fields
from tiemchung.core import Platform
from tiemchung.registry.models import AuditEvent, Dose, VaccinationSession


def _form(web: Web, path: str, data: dict[str, str]) -> object:
    return web.client.post(path, data=data | {"csrf_token": web.csrf}, follow_redirects=False)


def test_plan_open_record_at_the_desk_and_close(web: Web, platform: Platform) -> None:
    today = platform.today().isoformat()
    web.sign_in("site_a1")
    desk = web.page("/desk").text
    assert 'id="no-open-session"' in desk and "tiemchung sessions open" in desk

    page = web.page("/sessions")
    assert page.status_code == 200 and 'id="plan"' in page.text
    plan = {"site_id": "S-A1", "session_date": today, "products": "PFIZER"}
    bad = _form(web, "/sessions", plan | {"time_slots": "07:00-09:00=5; 08:00-10:00=5"})
    assert bad.status_code == 422  # type: ignore[attr-defined]
    text = bad.text  # type: ignore[attr-defined]
    assert 'data-rule="slot_overlap"' in text and "08:00-10:00" in text
    assert 'value="07:00-09:00=5; 08:00-10:00=5"' in text  # kept as typed

    more = {"lot_numbers": "PF-OK", "time_slots": "07:30-11:00=6; 13:30-16:00=4", "groups": "G1"}
    done = _form(web, "/sessions", plan | more | {"team": "Nguyễn Thị Lan:điều dưỡng"})
    assert done.status_code == 303, done.text  # type: ignore[attr-defined]
    with platform.sessions() as s:
        vs = s.scalar(
            select(VaccinationSession).where(VaccinationSession.session_date == platform.today())
        )
        assert vs is not None and vs.planned_count == 10 and vs.status == "planned"
        sid = vs.id
    page = web.page("/sessions")
    card = re.search(
        rf'<article class="session" data-session="{sid}".*?</article>', page.text, re.S
    )
    assert card is not None and 'data-status="planned"' in card.group(0)
    assert "07:30–11:00 (6)" in card.group(0) and "Nguyễn Thị Lan (điều dưỡng)" in card.group(0)

    assert _form(web, f"/sessions/{sid}/open", {}).status_code == 303  # type: ignore[attr-defined]
    desk = web.page("/desk").text
    assert 'id="no-open-session"' not in desk and "dự kiến 10 người" in desk
    f = _fields(web.htmx("/desk/check", {"scan": AN_QR}).text)
    assert f["session_id"] == str(sid)
    r = web.htmx("/desk/dose", f)
    assert r.status_code == 201, r.text

    closed = _form(web, f"/sessions/{sid}/close", {"opened": "3"})
    assert closed.status_code == 303  # type: ignore[attr-defined]
    page = web.page("/sessions").text
    card = re.search(rf'<article class="session" data-session="{sid}".*?</article>', page, re.S)
    assert card is not None and 'data-status="closed"' in card.group(0)
    # 1 dose recorded, none wasted, 3 drawn: 2 unaccounted for
    assert "đã ghi 1" in card.group(0) and "đã mở 3" in card.group(0)
    assert "chênh lệch 2" in card.group(0)
    with platform.sessions() as s:
        assert s.scalar(select(Dose.session_id).where(Dose.session_id == sid)) == sid
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "session.close"))
        assert event is not None and event.username == "site_a1"
        assert event.detail is not None and event.detail["difference"] == 2
    # a second close is refused on the page with its words
    again = _form(web, f"/sessions/{sid}/close", {"opened": ""})
    assert again.status_code == 409 and 'data-rule="wrong_status"' in again.text  # type: ignore[attr-defined]


def test_the_province_sees_capacity_against_due(web: Web, platform: Platform) -> None:
    web.sign_in("prov_a")
    page = web.page("/sessions/capacity")
    assert page.status_code == 200, page.text
    rows = dict(re.findall(r'<tr data-ward="(\d+)">.*?data-due>(\d+)<', page.text, re.S))
    # the test world's register: An and Bình in a1, Cường in a2, none fully vaccinated
    assert rows == {world().wards["a1"]: "2", world().wards["a2"]: "1"}
    assert "full primary" in page.text
    web2 = web
    web2.sign_in("ward_a1")
    assert web2.page("/sessions/capacity").status_code == 403
