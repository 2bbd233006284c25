"""The demo province for `tiemchung demo`, made by the synthetic generator.

:func:`build_demo` generates ~50,000 invented people in a few real wards of Nghệ An with
``tiemchung.synth`` and loads them the way real data arrives: the register snapshot through the
register import, the dose records through the backlog import. :func:`invent_people` and
:func:`seed_reference` are a smaller, simpler generator kept for the ingest benchmark, which
needs clean register rows to post doses against.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from tiemchung.auth.users import create_user
from tiemchung.certificates.keys import KeyStore
from tiemchung.config import Settings
from tiemchung.core import Platform
from tiemchung.identity import fold_name
from tiemchung.reconcile import Options, reconcile
from tiemchung.registry.catalog.products import load_products
from tiemchung.registry.imports.apply import apply_run
from tiemchung.registry.imports.backlog import import_dose_records
from tiemchung.registry.imports.register import import_register
from tiemchung.registry.imports.tallies import import_tallies
from tiemchung.registry.models import (
    Correction,
    Dose,
    Lot,
    Person,
    Product,
    ReviewItem,
    Site,
    User,
    VaccinationSession,
)
from tiemchung.registry.scope import Actor, Role
from tiemchung.synth import generate, load_profile
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
    load_products(session)
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


def build_demo(settings: Settings, people: int = 50_000, seed: int = 2021) -> dict[str, Any]:
    """Load the demo province into an initialised database; returns counts and logins.

    The province is made by the synthetic generator (``tiemchung.synth``) into
    ``<data dir>/synth``: a few real wards of Nghệ An, its register snapshot (imported like any
    register file), its sites and sessions, and the 2021–22 dose records as the sites entered
    them, loaded as the backlog (all ``unverified`` until reconciliation links them). The
    certificate signing keys are made too (:func:`ensure_keys`), so the desk prints
    certificates out of the box.
    """
    out = Path(settings.data_dir) / "synth"
    keys = ensure_keys(settings)  # also for a demo folder made before the demo made keys
    actor = Actor.system("demo")
    with Platform(settings) as platform:
        with platform.sessions() as s:
            if s.scalar(select(Person.id).limit(1)) is not None:
                plan_today(platform)  # a demo from another day: the desk needs today's
                # an earlier demo in this folder
                return _summary(platform, reused=True) | {"keys": str(keys)}
        profile = load_profile(overrides={"population": {"provinces": {DEMO_PROVINCE: 1.0}}})
        made = generate(people, seed, out, profile=profile)
        with platform.sessions() as s:
            sites = _load_reference(s, out)
            s.commit()
            register = import_register(s, actor, out / "register.parquet")
            backlog = import_dose_records(s, actor, out / "records.parquet")
            import_tallies(s, actor, out / "tallies.parquet")  # the sites' hand counts
        platform.catalog.reload()
        if register.rows_rejected or backlog.rows_rejected:
            raise RuntimeError(
                f"demo data refused: register {register.reasons}, doses {backlog.reasons}"
            )
        applied = _reconcile_backlog(platform, actor, out)
        with platform.sessions() as s:
            first = s.scalar(select(Person.person_id).order_by(Person.id).limit(1))
        _demo_users(platform, sites, [{"person_id": first}])
        plan_today(platform)
        return _summary(platform, reused=False) | {
            "keys": str(keys),
            "synth": str(out),
            "wards": made["wards"],
            "reconcile": applied,
        }


def ensure_keys(settings: Settings) -> Path:
    """The folder of the certificate signing keys of ``settings.data_dir``, made as
    ``tiemchung keys init`` makes them (a CSCA and a first document signer) when there are
    none. A real deployment runs that command itself, once, on purpose; the demo does it so
    that certificates print and verify out of the box."""
    store = KeyStore.for_settings(settings)
    if not store.exists():
        store.init()
    return store.folder


#: Today's products, given to the sites in turn (the desk users' sites first, so the demo's
#: desk login gets the first); all three have unexpired demo lots.
TODAY_PRODUCTS = ("PFIZER", "AZ", "VEROCELL")


def plan_today(platform: Platform) -> int:
    """An open session today (Vietnam's date) at every active site that has none, so the
    vaccination desk has a session, a product and lots out of the box; the generated
    sessions are all in the past. Idempotent: returns how many were added."""
    today = platform.today()
    with platform.sessions() as s:
        planned = set(
            s.scalars(
                select(VaccinationSession.site_id).where(VaccinationSession.session_date == today)
            )
        )
        desks = set(s.scalars(select(User.site_id).where(User.site_id.is_not(None))))
        active = s.scalars(select(Site.site_id).where(Site.active).order_by(Site.site_id))
        sites = sorted(
            (site_id for site_id in active if site_id not in planned),
            key=lambda site_id: site_id not in desks,  # stable: the desk users' sites first
        )
        if sites:
            s.execute(
                insert(VaccinationSession),
                [
                    {
                        "site_id": site_id,
                        "session_date": today,
                        "product_code": TODAY_PRODUCTS[i % len(TODAY_PRODUCTS)],
                        "planned_count": 120,
                        "status": "open",
                    }
                    for i, site_id in enumerate(sites)
                ],
            )
            s.commit()
    if sites:
        platform.catalog.reload()
    return len(sites)


def _reconcile_backlog(platform: Platform, actor: Actor, out: Path) -> dict[str, Any]:
    """Link the backlog to the register and apply the run, as a province would: the demo then
    has verified doses, automatic corrections and open worklist items in every ward."""
    t0 = time.perf_counter()
    run_out = out / "reconcile"
    reconcile(Options(out / "records.parquet", out / "register.parquet", run_out))
    t1 = time.perf_counter()
    with platform.sessions() as s:
        report = apply_run(s, actor, run_out)
    return {
        "run_id": report.run_id,
        "verified": report.verified,
        "corrected": report.corrected,
        "duplicates": report.duplicates,
        "worklist_items": report.review_items + report.not_found_items,
        "reconcile_s": round(t1 - t0, 1),
        "apply_s": round(time.perf_counter() - t1, 1),
    }


_ROLE_VI = {
    "central": "trung ương",
    "province": "tỉnh",
    "commune": "xã",
    "site": "điểm tiêm",
    "citizen": "công dân",
}


def _summary(platform: Platform, *, reused: bool) -> dict[str, Any]:
    """Counts and logins read back from the database, so a reused demo reports the same."""
    with platform.sessions() as s:
        counts = {
            "persons": s.scalar(select(func.count()).select_from(Person)),
            "sites": s.scalar(select(func.count()).select_from(Site)),
            "sessions": s.scalar(select(func.count()).select_from(VaccinationSession)),
            "doses": s.scalar(select(func.count()).select_from(Dose)),
            "verified": s.scalar(
                select(func.count()).select_from(Dose).where(Dose.status == "verified")
            ),
            "corrections": s.scalar(select(func.count()).select_from(Correction)),
            "worklist_open": s.scalar(
                select(func.count()).select_from(ReviewItem).where(ReviewItem.status == "open")
            ),
        }
        users = []
        for u in s.scalars(select(User).order_by(User.id)):
            person = s.get(Person, u.person_pk) if u.person_pk else None
            scope = person.person_id if person else u.site_id or u.ward_code or u.province_code
            users.append((u.username, f"{u.role} / {_ROLE_VI[u.role]} {scope or ''}".strip()))
    return {"counts": counts, "users": users, "reused": reused}


def _load_reference(session: Session, out: Path) -> list[Site]:
    """Products (EU DCC codes), a few lots each, the generated sites and sessions."""
    # `tiemchung init` has loaded the catalogue already: add only what it lacks
    stored = set(session.scalars(select(Product.code)))
    products = pq.read_table(out / "products.parquet").to_pylist()
    missing = [r for r in products if r["code"] not in stored]
    if missing:
        session.execute(insert(Product), missing)
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
            site_id=r["site_id"],
            name=r["name"],
            ward_code=r["ward_code"],
            province_code=r["province_code"],
            active=True,
        )
        for r in pq.read_table(out / "sites.parquet").to_pylist()
    ]
    session.add_all(sites)
    session.flush()
    sessions = pq.read_table(out / "sessions.parquet").to_pylist()
    session.execute(
        insert(VaccinationSession),
        [
            {
                "site_id": r["site_id"],
                "session_date": r["session_date"],
                "product_code": r["vaccine"],
                "planned_count": r["planned_count"],
                "status": "done",
            }
            for r in sessions
        ],
    )
    return sites


def _demo_users(platform: Platform, sites: list[Site], persons: list[dict[str, Any]]) -> None:
    """One login per role, scoped to the first site, its ward, the province, a person."""
    site = sites[0]
    specs: list[tuple[str, Role, dict[str, str]]] = [
        ("trunguong", Role.CENTRAL, {}),
        (f"tinh{DEMO_PROVINCE}", Role.PROVINCE, {"province_code": DEMO_PROVINCE}),
        (f"xa{site.ward_code}", Role.COMMUNE, {"ward_code": site.ward_code}),
        (f"diem{site.site_id.lower()}", Role.SITE, {"site_id": site.site_id}),
        ("congdan", Role.CITIZEN, {"person_id": persons[0]["person_id"]}),
    ]
    with platform.sessions() as s:
        for username, role, scope in specs:
            create_user(s, Actor.system("demo"), username, DEMO_PASSWORD, role, **scope)
        s.commit()
