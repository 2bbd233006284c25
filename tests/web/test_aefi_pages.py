"""The AEFI pages through the real app (both backends): the desk's recorded dose links to the
form; the form refuses what it cannot read and what the rules refuse, beside the field, and
records the rest; the list page shows each area its own reports; citizens are turned away."""

from __future__ import annotations

from sqlalchemy import select

from tests.web.conftest import Web
from tests.web.test_desk import AN_QR, _fields, desk  # noqa: F401 - the desk fixture
from tiemchung.core import Platform
from tiemchung.registry.models import AefiReport

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
