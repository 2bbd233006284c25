"""A small invented world for tests: two provinces, two wards each, a site per ward.

Everyone here is made up. National IDs follow the CCCD layout (province of birth
registration, century/sex digit, two-digit year, six digits) so that they parse.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from tiemchung.auth.users import create_user
from tiemchung.identity import fold_name, iter_admin_units
from tiemchung.registry.catalog.places import load_admin_units
from tiemchung.registry.catalog.products import load_products
from tiemchung.registry.doses.record import DoseSubmission
from tiemchung.registry.models import Lot, Person, Site, VaccinationSession
from tiemchung.registry.scope import Actor, Role
from tiemchung.store import migrate
from tiemchung.store.db import make_engine, make_sessionmaker

PASSWORD = "test-pass-123"
PROVINCE_A, PROVINCE_B = "01", "40"  # Hà Nội, Nghệ An (2021 GSO codes)


@dataclass(frozen=True)
class World:
    wards: dict[str, str]  # label → ward code: a1, a2 in province A; b1, b2 in province B
    sites: dict[str, str] = field(default_factory=dict)  # label → site id
    persons: dict[str, dict[str, Any]] = field(default_factory=dict)


@lru_cache(maxsize=1)
def world() -> World:
    def two_wards(province: str) -> list[str]:
        codes = sorted(
            u.code
            for u in iter_admin_units("2021")
            if u.level == "ward" and u.province_code == province
        )
        return codes[:2]

    a1, a2 = two_wards(PROVINCE_A)
    b1, b2 = two_wards(PROVINCE_B)
    wards = {"a1": a1, "a2": a2, "b1": b1, "b2": b2}
    sites = {label: f"S-{label.upper()}" for label in wards}
    persons = {
        # label: register data; the ward label says where they live
        "an": dict(
            person_id="P-AN",
            national_id="001085123456",
            full_name="Nguyễn Văn An",
            dob="1985-04-12",
            sex="M",
            ward="a1",
            phone="0912000001",
        ),
        "binh": dict(
            person_id="P-BINH",
            national_id="001190654321",
            full_name="Trần Thị Bình",
            dob="1990-11-02",
            sex="F",
            ward="a1",
            phone="0912000002",
            old_id="012345678",
        ),
        "cuong": dict(
            person_id="P-CUONG",
            national_id="001078111222",
            full_name="Lê Mạnh Cường",
            dob="1978",
            sex="M",
            ward="a2",
            phone=None,
        ),
        "dung": dict(
            person_id="P-DUNG",
            national_id="040065333444",
            full_name="Phạm Văn Dũng",
            dob="1965-01-30",
            sex="M",
            ward="b1",
            phone="0987000004",
        ),
        "em": dict(
            person_id="P-EM",
            national_id="040301555666",
            full_name="Hồ Thị Em",
            dob="2001-07-07",
            sex="F",
            ward="b2",
            phone=None,
        ),
    }
    return World(wards, sites, persons)


def seed_world(session: Session) -> None:
    w = world()
    load_admin_units(session)
    load_products(session)
    session.execute(
        insert(Lot),
        [
            {"product_code": "PFIZER", "lot_number": "PF-OK", "expiry": date(2030, 1, 1)},
            {"product_code": "PFIZER", "lot_number": "PF-OLD", "expiry": date(2021, 12, 31)},
            {"product_code": "AZ", "lot_number": "AZ-OK", "expiry": date(2030, 1, 1)},
            {"product_code": "MODERNA", "lot_number": "MO-OK", "expiry": date(2030, 1, 1)},
        ],
    )
    province = {"a": PROVINCE_A, "b": PROVINCE_B}
    for label, ward in w.wards.items():
        session.add(
            Site(
                site_id=w.sites[label],
                name=f"Trạm Y tế {label}",
                ward_code=ward,
                province_code=province[label[0]],
                active=True,
            )
        )
    session.flush()
    for site_id in w.sites.values():
        session.add(
            VaccinationSession(
                site_id=site_id,
                session_date=date(2021, 10, 1),
                product_code="PFIZER",
                planned_count=100,
                status="open",  # the doses the tests record name it: an open session
            )
        )
    for p in w.persons.values():
        session.add(
            Person(
                person_id=p["person_id"],
                national_id=p["national_id"],
                old_id=p.get("old_id"),
                full_name=p["full_name"],
                name_key=fold_name(p["full_name"]),
                dob=p["dob"],
                sex=p["sex"],
                ward_code=w.wards[p["ward"]],
                province_code=province[p["ward"][0]],
                address="Thôn 1",
                phone=p["phone"],
            )
        )
    session.flush()
    system = Actor.system("tests")
    for username, role, scope in USERS:
        create_user(session, system, username, PASSWORD, role, **resolve_scope(scope))


USERS: list[tuple[str, Role, dict[str, str]]] = [
    ("central", Role.CENTRAL, {}),
    ("prov_a", Role.PROVINCE, {"province_code": PROVINCE_A}),
    ("prov_b", Role.PROVINCE, {"province_code": PROVINCE_B}),
    ("ward_a1", Role.COMMUNE, {"ward_code": "a1"}),
    ("ward_b1", Role.COMMUNE, {"ward_code": "b1"}),
    ("site_a1", Role.SITE, {"site_id": "a1"}),
    ("site_b1", Role.SITE, {"site_id": "b1"}),
    ("citizen_an", Role.CITIZEN, {"person_id": "an"}),
]


def resolve_scope(scope: dict[str, str]) -> dict[str, str]:
    """Replace labels (a1, an) with the world's real codes."""
    w = world()
    out = dict(scope)
    if "ward_code" in out:
        out["ward_code"] = w.wards[out["ward_code"]]
    if "site_id" in out:
        out["site_id"] = w.sites[out["site_id"]]
    if "person_id" in out:
        out["person_id"] = w.persons[out["person_id"]]["person_id"]
    return out


def submission(person: str | None = None, **overrides: Any) -> DoseSubmission:
    """A valid dose 1 of Pfizer at site a1 for a world person (or an unknown one)."""
    w = world()
    base: dict[str, Any] = dict(
        client_uuid=uuid.uuid4(),
        full_name="Người Không Có Tên",
        product_code="PFIZER",
        lot_number="PF-OK",
        dose_number=1,
        dose_date=date(2021, 10, 1),
        site_id=w.sites["a1"],
    )
    if person is not None:
        p = w.persons[person]
        base.update(
            full_name=p["full_name"],
            national_id=p["national_id"],
            dob=p["dob"],
            sex=p["sex"],
            ward_code=w.wards[p["ward"]],
            phone=p["phone"],
        )
    base.update(overrides)
    return DoseSubmission(**base)


def payload(person: str | None = None, **overrides: Any) -> dict[str, Any]:
    """The JSON body of :func:`submission` for the API."""
    sub = submission(person, **overrides)
    body = {k: v for k, v in sub.__dict__.items() if v is not None}
    body["client_uuid"] = str(sub.client_uuid)
    body["dose_date"] = sub.dose_date.isoformat()
    return body


# -- review items (commune worklists): made by hand here; registry/imports/apply.py makes them from
# runs
def review_item(
    session: Session,
    dose_id: int,
    candidates: list[tuple[str, float, dict[str, str]]],
    *,
    ward: str = "a1",
    kind: str = "review",
    explanation: str | None = None,
    run_id: str | None = "run-test",
) -> int:
    """An open review item for a dose, routed to a world ward. ``candidates``: (person label,
    probability, corrections {field: register value}) best first; the mismatches are the
    corrected fields. The item the dose path opened when the dose did not verify at entry is
    removed first, so a test's worklist holds exactly the items it made."""
    from sqlalchemy import delete, select

    from tiemchung.registry.models import ReviewItem

    session.execute(
        delete(ReviewItem).where(
            ReviewItem.dose_id == dose_id,
            ReviewItem.kind == "unverified",
            ReviewItem.status == "open",
        )
    )
    w = world()
    province = {"a": PROVINCE_A, "b": PROVINCE_B}[ward[0]]
    cands = []
    for label, prob, corr in candidates:
        cands.append(
            {
                "person_id": w.persons[label]["person_id"],
                "match_probability": prob,
                "mismatches": sorted(corr),
                "corrections": corr,
            }
        )
    best_pk = None
    if candidates:
        best_pk = session.scalar(select(Person.id).where(Person.person_id == cands[0]["person_id"]))
    item = ReviewItem(
        dose_id=dose_id,
        run_id=run_id,
        kind=kind,
        reason="plausible match" if candidates else "no candidate in the register",
        ward_code=w.wards[ward],
        province_code=province,
        person_pk=best_pk,
        match_probability=candidates[0][1] if candidates else None,
        mismatches=";".join(cands[0]["mismatches"]) if cands else None,
        candidates=cands,
        explanation=explanation,
        status="open",
    )
    session.add(item)
    session.flush()
    return item.id


def build_seeded_database(url: str) -> None:
    """Migrate the database at ``url`` and seed the test world into it (the suite's template
    databases and the API fuzz benchmark start from this)."""
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        with make_sessionmaker(engine)() as session:
            seed_world(session)
            session.commit()
    finally:
        engine.dispose()
