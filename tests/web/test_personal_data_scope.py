"""Personal data by need in the web pages (both backends): the desk prints certificates only
for people vaccinated at its site and sees the register masked; a citizen reaches no one else.

World (tests/factories.py): site a1 is in ward a1; An lives in a1, Em in b2, Dũng in b1,
Cường in a2. Doses here: An and Em at site a1, Dũng at site b1; Cường none.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from tests.certificates.conftest import KEYS_MADE, record
from tests.factories import submission, world
from tests.web.conftest import Web, today_session
from tiemchung.certificates.keys import KeyStore
from tiemchung.core import Platform
from tiemchung.registry.models import AuditEvent, IssuedCertificate, Ticket

AN_QR = "001085123456||Nguyễn Văn An|12041985|Nam|Thôn 1, Hà Nội|01062021"


@pytest.fixture
def vaccinated(platform: Platform) -> dict[str, int]:
    w = world()
    KeyStore.for_data_dir(platform.settings.data_dir).init(now=KEYS_MADE)
    made = record(
        platform,
        submission("an"),
        submission("em", site_id=w.sites["a1"]),
        submission("dung", site_id=w.sites["b1"], dose_date=date(2021, 10, 2)),
    )
    assert [(r.dose or {}).get("status") for r in made] == ["verified"] * 3
    return {
        label: int((r.dose or {})["id"])
        for label, r in zip(("an", "em", "dung"), made, strict=True)
    }


def _issued(platform: Platform) -> int:
    with platform.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(IssuedCertificate)) or 0)


def _print(web: Web, person_id: str):  # type: ignore[no-untyped-def]
    return web.client.post(
        "/desk/certificate", data={"person_id": person_id, "csrf_token": web.csrf}
    )


def test_the_desk_prints_only_for_people_vaccinated_at_its_site(
    web: Web, platform: Platform, vaccinated: dict[str, int]
) -> None:
    today_session(platform, "S-A1", "PFIZER")
    web.sign_in("site_a1")
    assert web.page("/desk").status_code == 200  # and its form token
    # Em lives in another province's ward but had her dose here: the desk may print
    r = _print(web, "P-EM")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert _issued(platform) == 1
    # Dũng was vaccinated at site b1, Cường nowhere, P9999999 does not exist: one answer
    answers = {pid: _print(web, pid) for pid in ("P-DUNG", "P-CUONG", "P9999999")}
    for pid, r in answers.items():
        assert r.status_code == 404, (pid, r.status_code)
        assert r.headers["content-type"].startswith("text/html")
        assert b"%PDF" not in r.content and "Phạm Văn Dũng" not in r.text
        assert "chỉ in được chứng nhận cho người đã tiêm tại điểm tiêm này" in r.text.lower()
    assert _issued(platform) == 1  # nothing issued for them
    with platform.sessions() as s:
        reads = s.scalars(
            select(AuditEvent.entity_id).where(AuditEvent.action == "certificate.read")
        ).all()
    assert reads == ["P-EM"]  # every certificate read audited, and only the one shown


def test_the_desk_check_in_shows_the_register_masked(
    web: Web, platform: Platform, vaccinated: dict[str, int]
) -> None:
    today_session(platform, "S-B1", "PFIZER")
    web.sign_in("site_b1")  # An is checking in at a desk of another province
    assert web.page("/desk").status_code == 200
    r = web.htmx("/desk/check", {"scan": AN_QR})
    assert r.status_code == 200 and "Nguyễn Văn An" in r.text
    assert "0010******56" in r.text
    assert "0912000001" not in r.text  # the register's phone
    # what the desk saw of An stays with the check-in: no certificate from here, so no reprint
    # button is offered (was: offered, then "Không tìm thấy người này")
    assert 'id="reprint"' not in r.text and "In lại chứng nhận" not in r.text
    refused = _print(web, "P-AN")
    assert refused.status_code == 404
    assert "Chỉ in được chứng nhận cho người đã tiêm tại điểm tiêm này" in refused.text
    assert "Không tìm thấy" not in refused.text
    english = web.client.post(
        "/desk/certificate?lang=en", data={"person_id": "P-AN", "csrf_token": web.csrf}
    )
    assert "only for a person vaccinated at this site" in english.text


def test_a_citizen_reaches_no_one_else(
    web: Web, platform: Platform, vaccinated: dict[str, int]
) -> None:
    web.sign_in("citizen_an")
    me = web.page("/me")
    assert me.status_code == 200 and "Nguyễn Văn An" in me.text
    assert "Phạm Văn Dũng" not in me.text and "Hồ Thị Em" not in me.text
    # a report about someone else's dose is "not found", and opens nothing
    r = web.htmx(
        "/me/report",
        {"about": str(vaccinated["dung"]), "field": "phone", "proposed_value": "0912999000"},
    )
    assert r.status_code == 404
    with platform.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 0
    # the desk's print route is a site's, not a citizen's
    assert _print(web, "P-DUNG").status_code in (403, 404)
    assert _issued(platform) == 0
