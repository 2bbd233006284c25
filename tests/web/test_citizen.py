"""The citizen's pages over the real app and database (both backends): the public look-up
(throttled, one answer for every miss, a capability scoped to one person), the record, the
certificate and "report wrong information"; /me shares the templates.

World (tests/factories.py): persons an (001085123456, 12/04/1985, ward a1) and binh
(001190654321, 02/11/1990, old CMND 012345678); user citizen_an is an's account.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from tests.factories import submission
from tests.web.conftest import Web
from tiemchung.auth import lookup
from tiemchung.certificates.keys import KeyStore
from tiemchung.core import Platform
from tiemchung.registry.doses.record import record_doses
from tiemchung.registry.models import AuditEvent, ReviewItem, Ticket
from tiemchung.registry.scope import Actor

AN = {"national_id": "001085123456", "dob": "12/04/1985"}
BINH = {"national_id": "001190654321", "dob": "02/11/1990"}


def give_dose(platform: Platform, person: str) -> int:
    """A verified dose 1 for a world person, recorded at site a1."""
    sub = submission(person)
    res = platform.writer.run(
        lambda s: record_doses(
            s, platform.catalog, Actor.system("tests"), [sub], today=date(2022, 6, 1)
        )
    )
    assert res[0].dose is not None and res[0].dose["status"] == "verified", res[0].error
    return int(res[0].dose["id"])


def look_up(web: Web, form: dict[str, str], **kw: object):  # type: ignore[no-untyped-def]
    web.page("/lookup")
    return web.client.post(
        "/lookup", data=form | {"csrf_token": web.csrf}, follow_redirects=False, **kw
    )


def test_lookup_shows_the_persons_doses(web: Web, platform: Platform) -> None:
    give_dose(platform, "an")
    r = look_up(web, AN)
    assert r.status_code == 303 and r.headers["location"] == "/lookup/record"
    cookie = r.headers["set-cookie"]
    assert "tc_lookup=" in cookie and "HttpOnly" in cookie and "Path=/lookup" in cookie
    assert "samesite=strict" in cookie.lower() and "Max-Age=900" in cookie
    page = web.page("/lookup/record")
    assert page.status_code == 200
    assert "Nguyễn Văn An" in page.text and "Pfizer" in page.text and "Trạm Y tế a1" in page.text
    assert 'action="/lookup/certificate"' in page.text
    with platform.sessions() as s:
        reads = s.execute(
            select(AuditEvent.username, AuditEvent.entity_id).where(
                AuditEvent.action == "person.read"
            )
        ).all()
    assert ("lookup@testclient", "P-AN") in reads  # audited as a read, naming the client
    # the old CMND number works too, and spaces typed in the number do not matter
    binh = look_up(web, {"national_id": "012 345 678", "dob": "2/11/1990"})
    assert binh.status_code == 303


def test_every_miss_gets_the_same_answer(web: Web) -> None:
    wrong_dob = look_up(web, {"national_id": AN["national_id"], "dob": "13/04/1985"})
    unknown = look_up(web, {"national_id": "001085999999", "dob": "13/04/1985"})
    assert wrong_dob.status_code == unknown.status_code == 404
    assert "tc_lookup" not in wrong_dob.headers.get("set-cookie", "")
    # the same page, but for the number echoed back in the form
    same = wrong_dob.text.replace(AN["national_id"], "X")
    assert same == unknown.text.replace("001085999999", "X")
    assert "Không tìm thấy hồ sơ với số định danh và ngày sinh này" in unknown.text
    assert 'value="13/04/1985"' in unknown.text  # what was typed is kept


def from_source(web: Web, host: str) -> Web:
    """Another browser, at another client address, on the same server."""
    return Web(type(web.client)(web.client.app, base_url="http://testserver", client=(host, 4711)))


def test_lookup_is_throttled_per_id_and_source_with_a_warning(web: Web) -> None:
    """Misses slow down the one who makes them: free at first, a warning from the 3rd, then
    a wait that doubles; the count is per ID number and source."""
    misses = []
    for day in range(1, 6):
        r = look_up(web, {"national_id": AN["national_id"], "dob": f"{day:02d}/01/1985"})
        assert r.status_code == 404
        misses.append(r.text)
    assert "lần thử" not in misses[0] and "lần thử" not in misses[1]
    assert "Còn 2 lần thử" in misses[2] and "Còn 1 lần thử" in misses[3]
    assert "hãy chờ 30 giây" in misses[4]  # the wait starts after the 5th miss
    blocked = look_up(web, AN)  # from this source, the number now waits
    assert blocked.status_code == 429 and 0 < int(blocked.headers["Retry-After"]) <= 30
    assert "quá nhiều lần" in blocked.text and "tc_lookup" not in blocked.headers.get(
        "set-cookie", ""
    )
    assert look_up(web, BINH).status_code == 303  # another ID from this source still may


def test_others_failures_never_block_a_citizens_own_lookup(web: Web) -> None:
    """Anyone could block a citizen's look-up for an hour by typing her ID number with wrong
    dates five times; now their misses slow down only them."""
    stranger = from_source(web, "203.0.113.9")
    for day in range(1, 9):
        r = look_up(stranger, {"national_id": AN["national_id"], "dob": f"{day:02d}/01/1985"})
        assert r.status_code in (404, 429)
    assert look_up(stranger, AN).status_code == 429  # the stranger waits
    # the citizen, from her own source: a wrong date first, then the right one, works
    assert look_up(web, {"national_id": AN["national_id"], "dob": "13/04/1985"}).status_code == 404
    assert look_up(web, AN).status_code == 303


def test_successful_lookups_do_not_count(web: Web) -> None:
    for _ in range(8):
        assert look_up(web, AN).status_code == 303


def test_one_source_trying_many_numbers_is_braked(web: Web) -> None:
    """20 misses from one source over any numbers, then that source waits (others do not)."""
    for n in range(20):
        r = look_up(web, {"national_id": f"0010850000{n:02d}", "dob": "01/01/1985"})
        assert r.status_code == 404, n
    assert look_up(web, {"national_id": "001085000099", "dob": "01/01/1985"}).status_code == 429
    assert look_up(from_source(web, "198.51.100.7"), AN).status_code == 303


def test_bad_input_says_what_to_type(web: Web) -> None:
    short = look_up(web, {"national_id": "0010851234", "dob": "12/04/1985"})
    assert short.status_code == 422 and "12 chữ số" in short.text
    bad_date = look_up(web, {"national_id": AN["national_id"], "dob": "31/02/1985"})
    assert bad_date.status_code == 422 and "gõ ngày/tháng/năm" in bad_date.text
    assert 'value="31/02/1985"' in bad_date.text


def test_the_capability_reads_only_its_person(web: Web, platform: Platform) -> None:
    give_dose(platform, "an")
    give_dose(platform, "binh")
    assert look_up(web, AN).status_code == 303
    page = web.page("/lookup/record")
    assert "Nguyễn Văn An" in page.text and "Trần Thị Bình" not in page.text
    # the capability is not a session: no other page opens with it
    assert web.client.get("/me", follow_redirects=False).status_code == 303
    assert web.client.get("/worklist", follow_redirects=False).status_code == 303
    # the cookie names one person; another person's id cannot be slipped in without the key
    cap = lookup.read(platform.token_secret, web.client.cookies.get("tc_lookup"))
    assert cap is not None and cap.person_id == "P-AN"
    forged_value, _ = lookup.issue(
        b"not-the-platform-key-32-bytes-long!", _person(platform, "P-BINH")
    )
    web.client.cookies.set("tc_lookup", forged_value, path="/lookup")
    r = web.client.get("/lookup/record", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/lookup?expired=1"
    # nor is a session cookie or an API token a capability
    web.client.cookies.clear()
    assert web.client.get("/lookup/record", follow_redirects=False).status_code == 303


def _person(platform: Platform, pid: str):  # type: ignore[no-untyped-def]
    from tiemchung.registry.models import Person

    with platform.sessions() as s:
        p = s.scalar(select(Person).where(Person.person_id == pid))
        assert p is not None
        s.expunge(p)
        return p


def test_certificate_from_the_lookup(web: Web, platform: Platform) -> None:
    KeyStore.for_data_dir(platform.settings.data_dir).init()
    assert look_up(web, BINH).status_code == 303
    none = web.page("/lookup/record")
    assert 'id="no-certificate"' in none.text and "chưa có mũi tiêm nào" in none.text
    assert 'action="/lookup/certificate"' not in none.text
    give_dose(platform, "binh")
    page = web.page("/lookup/record")
    assert 'action="/lookup/certificate"' in page.text
    pdf = web.client.post("/lookup/certificate", data={"csrf_token": web.csrf})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    with platform.sessions() as s:
        read = s.scalar(select(AuditEvent.entity_id).where(AuditEvent.action == "certificate.read"))
    assert read == "P-BINH"


def test_report_wrong_information_opens_a_web_ticket(web: Web, platform: Platform) -> None:
    dose_id = give_dose(platform, "an")
    look_up(web, AN)
    web.page("/lookup/record")
    r = web.htmx(
        "/lookup/report",
        {
            "about": str(dose_id),
            "field": "phone",
            "proposed_value": "0912000099",
            "message": "số mới",
        },
    )
    assert r.status_code == 201, r.text
    assert "<html" not in r.text and "Đã gửi phản ánh #" in r.text
    assert "đã gửi, chờ xã/phường xem" in r.text  # the ticket's status on the page
    with platform.sessions() as s:
        t = s.scalar(select(Ticket))
        assert t is not None
        assert (t.channel, t.field, t.proposed_value, t.dose_id) == (
            "web",
            "phone",
            "0912000099",
            dose_id,
        )
        assert s.scalar(select(ReviewItem.kind).where(ReviewItem.ticket_id == t.id)) == "ticket"
    again = web.htmx(
        "/lookup/report", {"about": str(dose_id), "field": "phone", "proposed_value": "0912000098"}
    )
    assert again.status_code == 409 and "đang chờ xử lý" in again.text
    assert 'value="0912000098"' in again.text  # what was typed is kept
    bad = web.htmx(
        "/lookup/report", {"about": "register", "field": "dob", "proposed_value": "31/02/1985"}
    )
    assert bad.status_code == 422 and 'class="field bad"' in bad.text
    page = web.page("/lookup/record")
    assert "đã gửi, chờ xã/phường xem" in page.text


def test_me_shares_the_record_and_the_report(web: Web, platform: Platform) -> None:
    give_dose(platform, "an")
    web.sign_in("citizen_an")
    page = web.page("/me")
    assert page.status_code == 200 and "Nguyễn Văn An" in page.text
    assert 'action="/me/certificate"' in page.text and 'action="/me/report"' in page.text
    r = web.htmx("/me/report", {"about": "register", "field": "address", "proposed_value": "Xóm 3"})
    assert r.status_code == 201 and "Đã gửi phản ánh #" in r.text
    with platform.sessions() as s:
        assert s.scalar(select(Ticket.channel)) == "web"
    en = web.page("/me?lang=en")
    assert "sent, waiting for the ward" in en.text


def test_lookup_in_english(web: Web) -> None:
    r = web.page("/lookup?lang=en")
    assert "Look up your vaccination record" in r.text
    miss = web.client.post(
        "/lookup", data={"national_id": "001085999999", "dob": "01/01/1985", "csrf_token": web.csrf}
    )
    assert (
        miss.status_code == 404 and "No record with this ID number and date of birth" in miss.text
    )


def test_a_partial_register_birth_date_does_not_open_the_record(
    web: Web, platform: Platform
) -> None:
    """A CCCD number carries the birth year, so a register that knows only the year must not
    let ID + any date of that year in."""
    from sqlalchemy import update

    from tiemchung.registry.models import Person

    with platform.sessions() as s:
        s.execute(update(Person).where(Person.person_id == "P-AN").values(dob="1985"))
        s.commit()
    for typed in ("12/04/1985", "01/01/1985", "1985"):
        r = look_up(web, {"national_id": AN["national_id"], "dob": typed})
        assert r.status_code in (404, 422), typed
        assert "tc_lookup" not in r.headers.get("set-cookie", "")
