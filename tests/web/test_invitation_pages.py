"""The invitation pages over the in-process app (both backends): a session's page (preview
the counts, send, the list), the short link without signing in (confirm; a wrong token is a
404), the desk seeing at check-in that the person was invited and confirmed, and the
overdue page with its spreadsheet. Figures by hand."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy import select

from tests.registry.invite_world import CENTRAL, dose, person
from tests.web.conftest import Web
from tiemchung.auth.invitelinks import token
from tiemchung.core import Platform
from tiemchung.registry.catalog import sessions as planning
from tiemchung.registry.models import Person
from tiemchung.registry.tables.invitations import Invitation


def _plan(platform: Platform, days: int, slots: int = 2) -> int:
    with platform.sessions() as s:
        today = platform.today()
        vs = planning.plan_session(
            s,
            CENTRAL,
            planning.SessionPlan(
                site_id="S-A1",
                session_date=today + timedelta(days=days),
                products=["PFIZER"],
                time_slots=[planning.TimeSlot("07:30", "09:00", slots)],
            ),
            today,
        )
        s.commit()
        return vs.id


def _invitation_of(platform: Platform, person_id: str) -> int:
    with platform.sessions() as s:
        found = s.scalar(
            select(Invitation.id)
            .join(Person, Person.id == Invitation.person_id)
            .where(Person.person_id == person_id)
        )
        assert found is not None
        return found


def test_preview_send_and_answer_through_the_link(web: Web, platform: Platform) -> None:
    sid = _plan(platform, 3)
    web.sign_in("site_a1")
    r = web.page(f"/sessions/{sid}/invitations?preview=1&max_age=90")
    assert r.status_code == 200, r.text
    # ward a1's people with a phone: an (1985) and binh (1990); two places
    assert "Đủ điều kiện: 2 (có số điện thoại: 2)" in r.text
    assert "sẽ mời: 2 · danh sách chờ: 0" in r.text
    r = web.client.post(
        f"/sessions/{sid}/invitations",
        data={"csrf_token": web.csrf, "max_age": "90", "wait_list": ""},
    )
    assert r.status_code == 200 and "Đã mời 2 người, 0 người trong danh sách chờ" in r.text
    assert r.text.count('data-status="invited"') == 2
    bad = web.page(f"/sessions/{sid}/invitations?preview=1&min_age=abc")
    assert bad.status_code == 422 and 'data-field="min_age"' in bad.text
    # the invitee, in another browser with no account
    invitee = Web(type(web.client)(web.client.app))
    an = _invitation_of(platform, "P-AN")
    link = f"/i/{token(platform.token_secret, an)}"
    page = invitee.page(link)
    assert page.status_code == 200 and "07:30-09:00" in page.text and "Trạm Y tế a1" in page.text
    done = invitee.client.post(
        link, data={"csrf_token": invitee.csrf, "action": "confirm"}, follow_redirects=True
    )
    assert done.status_code == 200 and 'data-status="confirmed"' in done.text
    assert invitee.page(f"/i/{an}.0000000000").status_code == 404
    assert invitee.page(f"/i/{an + 1}.{token(platform.token_secret, an)[-20:]}").status_code == 404
    listed = web.page(f"/sessions/{sid}/invitations")
    assert re.search(r'data-count="confirmed">confirmed: 1<', listed.text)


def test_the_desk_sees_the_invitation_confirmed(web: Web, platform: Platform) -> None:
    sid = _plan(platform, 0)
    with platform.sessions() as s:
        planning.open_session(s, CENTRAL, sid, platform.today())
        s.commit()
    web.sign_in("site_a1")
    web.page(f"/sessions/{sid}/invitations")
    web.client.post(f"/sessions/{sid}/invitations", data={"csrf_token": web.csrf})
    an = _invitation_of(platform, "P-AN")
    invitee = Web(type(web.client)(web.client.app))
    link = f"/i/{token(platform.token_secret, an)}"
    invitee.page(link)
    invitee.client.post(link, data={"csrf_token": invitee.csrf, "action": "confirm"})
    web.page("/desk")
    r = web.htmx("/desk/check", {"scan": "001085123456"})
    assert r.status_code == 200
    assert 'data-invited="confirmed"' in r.text and "Được mời và đã xác nhận" in r.text
    r = web.htmx("/desk/check", {"scan": "001190654321"})  # binh: invited, not confirmed
    assert 'data-invited="invited"' in r.text


def test_the_overdue_page_and_its_spreadsheet(web: Web, platform: Platform) -> None:
    with platform.sessions() as s:
        late = person(s, "late", phone="0912555001")
        dose(s, late, 1, platform.today() - timedelta(days=30), "PFIZER")  # 9 days overdue
        s.commit()
    web.sign_in("ward_a1")
    r = web.page("/overdue")
    assert r.status_code == 200
    assert "1 người quá hạn mũi tiếp theo" in r.text and "0912555001" in r.text
    assert re.search(r"data-days>9<", r.text)
    x = web.client.get("/overdue.xlsx")
    sheet = load_workbook(io.BytesIO(x.content)).active
    assert sheet is not None and sheet.cell(2, 1).value == "P-late"
    web.sign_in("site_a1")
    assert web.page("/overdue").status_code == 403
