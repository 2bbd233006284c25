"""The AEFI pages through the real app (both backends): the desk's recorded dose links to the
form; the form refuses what it cannot read and what the rules refuse, beside the field, and
records the rest; the list page shows each area its own reports; citizens are turned away."""

from __future__ import annotations

from sqlalchemy import select

from tests.web.conftest import Web
from tests.web.test_desk import AN_QR, _fields, desk  # noqa: F401 - the desk fixture
from tiemchung.core import Platform
from tiemchung.registry.models import AefiReport, AuditEvent

FORM = {
    "onset_time": "10:00",
    "symptoms": ["fever", "seizure"],
    "seriousness": ["hospitalisation"],
    "outcome": "recovering",
    "reporter_name": "Y tá Thử",
}


def test_a_site_reports_from_the_desk_and_the_commune_sees_it(
    desk: Web,  # noqa: F811 - the fixture
    platform: Platform,
) -> None:
    f = _fields(desk.htmx("/desk/check", {"scan": AN_QR}).text)
    r = desk.htmx("/desk/dose", f)
    assert r.status_code == 201, r.text
    assert 'id="report-aefi" href="/aefi/new?dose_id=' in r.text
    dose_id = r.text.split('href="/aefi/new?dose_id=')[1].split('"')[0]
    page = desk.page(f"/aefi/new?dose_id={dose_id}")
    assert page.status_code == 200 and f'value="{dose_id}"' in page.text
    today = platform.today()
    # a dose id that is no number, and a day that is no date: named, nothing stored
    body = FORM | {"csrf_token": desk.csrf, "dose_id": "abc", "onset_date": "07/12"}
    r = desk.client.post("/aefi/new", data=body)
    assert r.status_code == 422
    assert 'data-field="dose_id"' in r.text and 'data-field="onset_at"' in r.text
    # the rules' refusal: the onset the day before the dose
    day_before = today.fromordinal(today.toordinal() - 1).isoformat()
    body = FORM | {"csrf_token": desk.csrf, "dose_id": dose_id, "onset_date": day_before}
    r = desk.client.post("/aefi/new", data=body)
    assert r.status_code == 422 and "trước ngày tiêm" in r.text
    assert 'value="seizure" checked' in r.text  # the form comes back as typed
    with platform.sessions() as s:
        assert s.scalars(select(AefiReport)).all() == []
    body = FORM | {"csrf_token": desk.csrf, "dose_id": dose_id, "onset_date": today.isoformat()}
    r = desk.client.post("/aefi/new", data=body, follow_redirects=False)
    assert r.status_code == 303, r.text
    with platform.sessions() as s:
        (report,) = s.scalars(select(AefiReport)).all()
        assert report.symptoms == ["fever", "seizure"] and report.serious is True
    page = desk.page(r.headers["location"])
    assert f'data-report="{report.id}"' in page.text and 'id="aefi-recorded"' in page.text
    csv_text = desk.client.get("/aefi/export.csv").content.decode("utf-8-sig")
    assert len(csv_text.splitlines()) == 2


def test_each_area_sees_its_own_and_citizens_none(
    desk: Web,  # noqa: F811 - the fixture
    platform: Platform,
    web2: Web,
) -> None:
    f = _fields(desk.htmx("/desk/check", {"scan": AN_QR}).text)
    r = desk.htmx("/desk/dose", f)
    dose_id = r.text.split('href="/aefi/new?dose_id=')[1].split('"')[0]
    body = FORM | {
        "csrf_token": desk.csrf,
        "dose_id": dose_id,
        "onset_date": platform.today().isoformat(),
    }
    r = desk.client.post("/aefi/new", data=body, follow_redirects=False)
    assert r.status_code == 303
    for user, sees in (("ward_a1", True), ("ward_b1", False), ("prov_a", True)):
        web2.client.cookies.clear()
        web2.sign_in(user)
        page = web2.page("/aefi")
        assert page.status_code == 200
        assert ('id="aefi-counts"' in page.text) is sees, user
    web2.client.cookies.clear()
    web2.sign_in("citizen_an")
    assert web2.page("/aefi").status_code == 403
    web2.client.cookies.clear()
    web2.sign_in("ward_a1")
    assert web2.page("/aefi/new").status_code == 403  # only a site records


def test_a_site_corrects_its_report_and_only_what_changed_is_logged(
    desk: Web,  # noqa: F811 - the fixture
    platform: Platform,
    web2: Web,
) -> None:
    f = _fields(desk.htmx("/desk/check", {"scan": AN_QR}).text)
    dose_id = desk.htmx("/desk/dose", f).text.split('href="/aefi/new?dose_id=')[1].split('"')[0]
    today = platform.today().isoformat()
    body = FORM | {"csrf_token": desk.csrf, "dose_id": dose_id, "onset_date": today}
    assert desk.client.post("/aefi/new", data=body, follow_redirects=False).status_code == 303
    with platform.sessions() as s:
        report_id = s.scalars(select(AefiReport.id)).one()
    page = desk.page("/aefi")
    assert f'href="/aefi/{report_id}/edit"' in page.text
    page = desk.page(f"/aefi/{report_id}/edit")
    assert page.status_code == 200
    assert 'value="seizure" checked' in page.text and 'value="10:00"' in page.text
    # the form sent back as it came, but the outcome: only the outcome changed
    body = FORM | {
        "csrf_token": desk.csrf,
        "dose_id": dose_id,
        "onset_date": today,
        "outcome": "recovered",
        "reporter_role": "",
        "notes": "",
    }
    r = desk.client.post(f"/aefi/{report_id}/edit", data=body, follow_redirects=False)
    assert r.status_code == 303, r.text
    with platform.sessions() as s:
        (event,) = s.scalars(select(AuditEvent).where(AuditEvent.action == "aefi.update")).all()
        assert event.detail == {"outcome": ["recovering", "recovered"], "version": 2}
    # a death without its date comes back beside the field
    body |= {"outcome": "died", "seriousness": ["death"]}
    r = desk.client.post(f"/aefi/{report_id}/edit", data=body)
    assert r.status_code == 422 and 'data-field="death_date"' in r.text
    web2.sign_in("ward_a1")
    assert web2.page(f"/aefi/{report_id}/edit").status_code == 403


def test_a_huge_or_unknown_report_id_is_a_page_not_a_crash(
    desk: Web,  # noqa: F811 - the fixture
) -> None:
    assert desk.page("/aefi/99999999999999999999999999/edit").status_code == 422
    r = desk.page("/aefi/424242/edit")
    assert r.status_code == 404 and "AEFI report 424242 not found" not in r.text
    assert "Không tìm thấy báo cáo phản ứng 424242" in r.text
