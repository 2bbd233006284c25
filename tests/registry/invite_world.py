"""A small invented world for the invitation tests: a planned session and people of ward a1.

Everyone here is made up (the 09xx numbers are of no one). Helpers only: the tests in
``test_invitations*.py`` state their expectations by hand against these rows.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.orm import Session

from tests.factories import PROVINCE_A, world
from tiemchung.identity import fold_name
from tiemchung.registry.catalog import sessions as planning
from tiemchung.registry.models import Dose, Person
from tiemchung.registry.scope import Actor
from tiemchung.registry.tables.registrations import PriorityGroup, Registration

CENTRAL = Actor.system("tests")
TODAY = date(2026, 12, 1)
DAY = date(2026, 12, 10)


def link(invitation_id: int) -> str:
    return f"https://tc.example/i/{invitation_id}"


def person(s: Session, label: str, *, ward: str = "a1", dob: str = "1980-01-01",
           phone: str | None = "0912345000") -> int:  # fmt: skip
    p = Person(
        person_id=f"P-{label}",
        national_id=None,
        full_name=f"Người {label}",
        name_key=fold_name(f"Nguoi {label}"),
        dob=dob,
        sex="F",
        ward_code=world().wards[ward],
        province_code=PROVINCE_A,
        phone=phone,
    )
    s.add(p)
    s.flush()
    return p.id


def dose(s: Session, person_id: int, number: int, day: date, product: str = "PFIZER",
         status: str = "verified") -> None:  # fmt: skip
    s.add(
        Dose(
            client_uuid=uuid.uuid4(),
            submission_hash=uuid.uuid4().hex,
            person_pk=person_id,
            full_name="x",
            product_code=product,
            dose_number=number,
            dose_date=day,
            site_id="S-A1",
            status=status,
        )
    )
    s.flush()


def groups(s: Session) -> None:
    s.add_all(
        [
            PriorityGroup(code="G1", name_vi="Y tế", name_en="health workers", sort=1),
            PriorityGroup(code="G2", name_vi="Tuyến đầu", name_en="front line", sort=2),
        ]
    )
    s.flush()


def register(s: Session, person_id: int, group: str | None, *, phone: str | None = None,
             ward: str = "a1") -> int:  # fmt: skip
    r = Registration(
        person_id=person_id,
        full_name="x",
        phone=phone,
        ward_code=world().wards[ward],
        province_code=PROVINCE_A,
        priority_group=group,
        underlying_condition=False,
        check_status="verified",
    )
    s.add(r)
    s.flush()
    return r.id


def plan(s: Session, slots: list[tuple[str, str, int]], *, site: str = "S-A1",
         day: date = DAY) -> int:  # fmt: skip
    vs = planning.plan_session(
        s,
        CENTRAL,
        planning.SessionPlan(
            site_id=site,
            session_date=day,
            products=["PFIZER"],
            time_slots=[planning.TimeSlot(a, b, n) for a, b, n in slots],
        ),
        TODAY,
    )
    return vs.id
