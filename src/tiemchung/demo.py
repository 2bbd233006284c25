"""A small built-in synthetic province for `tiemchung demo` and the tests.

Every person here is invented (random picks from short name lists, IDs built from the CCCD
layout). The full synthetic generator (``tiemchung.synth``) replaces this for realistic
volumes; this set only has to exercise every page and every role.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from tiemchung.config import Settings
from tiemchung.core import Platform
from tiemchung.identity import fold_name, iter_admin_units
from tiemchung.registry.doses import DoseSubmission, record_doses
from tiemchung.registry.models import Lot, Person, Product, Site, VaccinationSession
from tiemchung.registry.scope import Actor, Role
from tiemchung.registry.users import create_user
from tiemchung.vaccines import VACCINES

DEMO_PASSWORD = "demo-pass-2021"
DEMO_PROVINCE = "40"  # Nghệ An, whose recorded-vs-reported gap the source reports quote
SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ"]
MIDDLE = {"M": ["Văn", "Đức", "Hữu", "Minh", "Quang"], "F": ["Thị", "Thị", "Ngọc", "Thu", "Hồng"]}
GIVEN = {
    "M": ["Hùng", "Dũng", "Nam", "Tuấn", "Long", "Sơn", "Hải", "Phúc", "Thành", "Đạt"],
    "F": ["Lan", "Hương", "Mai", "Hoa", "Linh", "Trang", "Thảo", "Yến", "Ngọc", "Hà"],
}


def _national_id(rng: random.Random, dob: date, sex: str) -> str:
    century = (dob.year // 100) - 19
    digit = century * 2 + (1 if sex == "F" else 0)
    return f"{int(DEMO_PROVINCE):03d}{digit}{dob.year % 100:02d}{rng.randrange(10**6):06d}"


def invent_people(n: int, wards: list[Any], rng: random.Random) -> Iterator[dict[str, Any]]:
    """``n`` invented register persons with unique, well-formed CCCD numbers."""
    seen: set[str] = set()
    for i in range(n):
        sex = rng.choice("MF")
        dob = date(rng.randint(1940, 2005), rng.randint(1, 12), rng.randint(1, 28))
        ward = rng.choice(wards)
        name = f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE[sex])} {rng.choice(GIVEN[sex])}"
        nid = _national_id(rng, dob, sex)
        while nid in seen:
            nid = _national_id(rng, dob, sex)
        seen.add(nid)
        yield {
            "person_id": f"P{i + 1:07d}",
            "national_id": nid,
            "old_id": None,
            "full_name": name,
            "name_key": fold_name(name),
            "dob": dob.isoformat(),
            "sex": sex,
            "ward_code": ward.code,
            "province_code": ward.province_code,
            "address": f"Xóm {rng.randint(1, 12)}, {ward.name}",
            "phone": f"09{rng.randrange(10**8):08d}",
        }


def seed_reference(session: Session, wards: list[Any], rng: random.Random) -> list[Site]:
    """Products, lots, one site per ward and a month of sessions."""
    session.execute(
        insert(Product),
        [
            {
                "code": v.code,
                "name": v.name,
                "mp": v.mp,
                "ma": v.ma,
                "vp": v.vp,
                "primary_doses": v.primary_doses,
                "min_interval_days": v.min_interval_days,
            }
            for v in VACCINES
        ],
    )
    session.execute(
        insert(Lot),
        [
            {
                "product_code": v.code,
                "lot_number": f"{v.code[:2]}{n:04d}",
                "expiry": date(2022, 6, 30) if n % 2 else date(2027, 12, 31),
            }
            for v in VACCINES
            for n in range(1, 5)
        ],
    )
    sites = [
        Site(
            site_id=f"S{i + 1:04d}",
            name=f"Trạm Y tế {w.name}",
            ward_code=w.code,
            province_code=w.province_code,
            active=True,
        )
        for i, w in enumerate(wards)
    ]
    session.add_all(sites)
    session.flush()
    start = date(2021, 9, 1)
    session.execute(
        insert(VaccinationSession),
        [
            {
                "site_id": s.site_id,
                "session_date": start + timedelta(days=d),
                "product_code": rng.choice(["AZ", "PFIZER", "VEROCELL"]),
                "planned_count": 200,
                "status": "planned",
            }
            for s in sites
            for d in range(0, 60, 7)
        ],
    )
    return sites


def build_demo(settings: Settings, people: int = 2000, seed: int = 2021) -> dict[str, Any]:
    """Load the demo province into an initialised database; returns counts and logins."""
    rng = random.Random(seed)
    wards = [
        u
        for u in iter_admin_units("2021")
        if u.level == "ward" and u.province_code == DEMO_PROVINCE
    ][:8]
    platform = Platform(settings).start()
    try:
        with platform.sessions() as s:
            if s.scalar(select(Person.id).limit(1)) is not None:
                raise RuntimeError("the demo database already has people; use a new --dir")
            sites = seed_reference(s, wards, rng)
            persons = list(invent_people(people, wards, rng))
            s.execute(insert(Person), persons)
            s.commit()
        platform.catalog.reload()
        subs = []
        for p in persons:
            if rng.random() < 0.15:
                continue  # not yet vaccinated
            site = rng.choice([x for x in sites if x.ward_code == p["ward_code"]] or sites)
            product = rng.choice(["AZ", "PFIZER", "VEROCELL", "MODERNA"])
            first = date(2021, 8, 1) + timedelta(days=rng.randint(0, 90))
            dates = [first, first + timedelta(days=rng.randint(28, 84))]
            for n, when in enumerate(dates, start=1):
                if n == 2 and rng.random() < 0.2:
                    break
                subs.append(
                    DoseSubmission(
                        client_uuid=uuid.UUID(int=rng.getrandbits(128)),
                        full_name=p["full_name"],
                        national_id=p["national_id"],
                        dob=p["dob"],
                        sex=p["sex"],
                        phone=p["phone"],
                        ward_code=p["ward_code"],
                        product_code=product,
                        lot_number=f"{product[:2]}0002",
                        dose_number=n,
                        dose_date=when,
                        site_id=site.site_id,
                    )
                )
        actor = Actor.system("demo")
        today = platform.today()
        failed = 0
        for start in range(0, len(subs), 1000):
            chunk = subs[start : start + 1000]
            results = platform.writer.run(
                lambda s, c=chunk: record_doses(s, platform.catalog, actor, c, today=today)
            )
            failed += sum(r.error is not None for r in results)
        users = _demo_users(platform, sites, persons)
        return {
            "counts": {
                "persons": len(persons),
                "sites": len(sites),
                "doses": len(subs) - failed,
                "wards": len(wards),
            },
            "users": users,
        }
    finally:
        platform.close()


def _demo_users(
    platform: Platform, sites: list[Site], persons: list[dict[str, Any]]
) -> list[tuple[str, str]]:
    site = sites[0]
    specs = [
        ("trunguong", Role.CENTRAL, {}, "central / trung ương"),
        (
            f"tinh{DEMO_PROVINCE}",
            Role.PROVINCE,
            {"province_code": DEMO_PROVINCE},
            f"province {DEMO_PROVINCE} / tỉnh",
        ),
        (
            f"xa{site.ward_code}",
            Role.COMMUNE,
            {"ward_code": site.ward_code},
            f"commune {site.ward_code} / xã",
        ),
        (
            f"diem{site.site_id.lower()}",
            Role.SITE,
            {"site_id": site.site_id},
            f"site {site.site_id} / điểm tiêm",
        ),
        (
            "congdan",
            Role.CITIZEN,
            {"person_id": persons[0]["person_id"]},
            f"citizen {persons[0]['person_id']} / công dân",
        ),
    ]
    out = []
    with platform.sessions() as s:
        for username, role, scope, what in specs:
            create_user(s, Actor.system("demo"), username, DEMO_PASSWORD, role, **scope)
            out.append((username, what))
        s.commit()
    return out
