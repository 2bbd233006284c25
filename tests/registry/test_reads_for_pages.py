"""The dose listing (registry/doses/listing.py) and a citizen's own record
(registry/review/citizen.py, registry/people/own.py) and one person with their doses
(registry/people/detail.py) over SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from tests.factories import PROVINCE_A, resolve_scope, submission, world
from tiemchung.core import Platform
from tiemchung.registry.doses.listing import DoseQuery, get_dose, list_doses
from tiemchung.registry.doses.record import record_doses
from tiemchung.registry.models import Person
from tiemchung.registry.people.detail import person_detail
from tiemchung.registry.people.own import own_person_id
from tiemchung.registry.review import tickets as tk
from tiemchung.registry.review.citizen import citizen_record
from tiemchung.registry.scope import Actor, Role

SYSTEM = Actor.system("tests")
PROV_A = Actor(2001, "prov_a", Role.PROVINCE, province_code=PROVINCE_A)
SITE_B1 = Actor(2003, "site_b1", Role.SITE, **resolve_scope({"site_id": "b1"}))  # type: ignore[arg-type]
TODAY = date(2022, 6, 1)


def _doses(platform: Platform) -> list[int]:
    """An: dose 1 and 2 at site a1 (verified); Dũng: dose 1 at site b1 (verified); a
    stranger: dose 1 at site a1 (unverified)."""
    w = world()
    subs = [
        submission("an"),
        submission("an", dose_number=2, dose_date=date(2021, 10, 22)),
        submission("dung", product_code="AZ", lot_number="AZ-OK", site_id=w.sites["b1"]),
        submission(None, full_name="Người Lạ", ward_code=w.wards["a1"]),
    ]
    results = platform.writer.run(
        lambda s: record_doses(s, platform.catalog, SYSTEM, subs, today=TODAY)
    )
    assert all(r.dose is not None for r in results)
    return [int(r.dose["id"]) for r in results]  # type: ignore[index]


def _citizen(platform: Platform, person_id: str) -> Actor:
    with platform.sessions() as s:
        pk = s.scalar(select(Person.id).where(Person.person_id == person_id))
    return Actor(None, "c", Role.CITIZEN, person_pk=pk)


def test_doses_listed_in_the_callers_area(platform: Platform) -> None:
    an1, an2, dung1, stranger = _doses(platform)
    with platform.sessions() as s:

        def ids(actor: Actor, **q: object) -> tuple[list[int], int]:
            rows, total = list_doses(s, actor, DoseQuery(**q), limit=50, offset=0)  # type: ignore[arg-type]
            return [r["id"] for r in rows], total

        assert ids(SYSTEM) == ([an1, an2, dung1, stranger], 4)
        assert ids(PROV_A) == ([an1, an2, stranger], 3)
        assert ids(SITE_B1) == ([dung1], 1)
        assert ids(_citizen(platform, "P-AN")) == ([an1, an2], 2)
        assert ids(PROV_A, person_id="P-AN") == ([an1, an2], 2)
        assert ids(PROV_A, status="unverified") == ([stranger], 1)
        assert ids(SYSTEM, site_id="S-B1") == ([dung1], 1)
        assert ids(SYSTEM, date_from=date(2021, 10, 2)) == ([an2], 1)
        assert ids(SYSTEM, date_to=date(2021, 10, 1)) == ([an1, dung1, stranger], 3)
        rows, total = list_doses(s, SYSTEM, DoseQuery(), limit=2, offset=1)
        assert [r["id"] for r in rows] == [an2, dung1] and total == 4
        one = get_dose(s, PROV_A, an2)
        assert one is not None and one["person_id"] == "P-AN" and one["dose_number"] == 2
        assert one["status"] == "verified" and one["site_id"] == "S-A1"
        assert get_dose(s, PROV_A, stranger)["person_id"] is None  # type: ignore[index]
        assert get_dose(s, PROV_A, dung1) is None  # another province's: as if absent
        assert get_dose(s, SITE_B1, an1) is None


def test_a_citizens_own_record(platform: Platform) -> None:
    an1, an2, _dung1, _stranger = _doses(platform)
    an = _citizen(platform, "P-AN")
    opened = platform.writer.run(
        lambda s: tk.open_ticket(
            s, an, tk.TicketRequest("phone", "0912999999", channel="web"), today=TODAY
        )
    )
    with platform.sessions() as s:
        assert own_person_id(s, an) == "P-AN"
        assert own_person_id(s, Actor(None, "c", Role.CITIZEN, person_pk=None)) == ""
        assert own_person_id(s, Actor(None, "c", Role.CITIZEN, person_pk=10**9)) == ""
        record = citizen_record(s, an, TODAY)
    assert record is not None  # detached: readable after the session
    assert record.person.person_id == "P-AN"
    assert [d.id for d in record.doses] == [an1, an2]
    assert [d.id for d in record.verified] == [an1, an2]
    assert record.sites == {"S-A1": "Trạm Y tế a1"}
    assert record.products["PFIZER"].startswith("Pfizer") and "AZ" in record.products
    assert [t["id"] for t in record.tickets] == [opened["id"]]
    with platform.sessions() as s:
        assert citizen_record(s, Actor(None, "c", Role.CITIZEN, person_pk=10**9), TODAY) is None


def test_person_detail_is_the_callers_view_with_the_doses(platform: Platform) -> None:
    an1, an2, dung1, _stranger = _doses(platform)
    site_a1 = Actor(2004, "site_a1", Role.SITE, **resolve_scope({"site_id": "a1"}))  # type: ignore[arg-type]
    with platform.sessions() as s:
        found = person_detail(s, PROV_A, "P-AN")
        assert found is not None
        view, doses = found
        assert view["person_id"] == "P-AN" and view["view"] == "full"
        assert view["phone"] == "0912000001" and [d.id for d in doses] == [an1, an2]
        desk = person_detail(s, site_a1, "P-AN")  # a dose given there: the masked desk view
        assert desk is not None and desk[0]["view"] == "desk" and "phone" not in desk[0]
        assert desk[0]["national_id"] != "001085123456"
        assert person_detail(s, SITE_B1, "P-AN") is None  # no dose at site b1
        assert [d.id for d in person_detail(s, SITE_B1, "P-DUNG")[1]] == [dung1]  # type: ignore[index]
        assert person_detail(s, PROV_A, "P-DUNG") is None  # another province
        assert person_detail(s, SYSTEM, "P-NOBODY") is None
