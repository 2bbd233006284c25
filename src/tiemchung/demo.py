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
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from sqlalchemy import and_, case, func, insert, select, update
from sqlalchemy.orm import Session

from tiemchung.auth.users import create_user
from tiemchung.certificates.keys import KeyStore
from tiemchung.config import Settings
from tiemchung.core import Platform
from tiemchung.identity import fold_name
from tiemchung.reconcile import Options, reconcile
from tiemchung.registry.catalog.lots import LotReceipt, receive_lot
from tiemchung.registry.catalog.products import load_products
from tiemchung.registry.catalog.stock import record_wastage
from tiemchung.registry.changes.log import append_doses
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
    StockMovement,
    User,
    VaccinationSession,
)
from tiemchung.registry.scope import Actor, Role
from tiemchung.store.audit import audit
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
                seed_stock(platform)  # a demo made before the demo had stock
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
        t0 = time.perf_counter()
        stock = seed_stock(platform)
        return _summary(platform, reused=False) | {
            "keys": str(keys),
            "synth": str(out),
            "wards": made["wards"],
            "reconcile": applied,
            "stock": stock | {"seconds": round(time.perf_counter() - t0, 2)},
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


# -- stock --------------------------------------------------------------------------------
# The demo's lots (``_load_reference``): per product ``<2 letters>0001``…``0004``, the odd ones
# expired on 30/06/2022, the even ones good until 2027. The backlog carries no lot, so the
# demo says which lot each of its doses came from (as a site's register book would), and
# records the deliveries those doses were given from, through the stock service.

#: the note on every movement the demo seeds (kept on the movement and in its audit event)
DEMO_STOCK_NOTE = "dữ liệu mẫu của bản demo / demo seeding"
#: the doses given before this day came from the lots that expired in 2022, the others
#: from the lots good until 2027
NEW_LOTS_FROM = date(2022, 1, 1)
#: the delivery that leaves an unexpired lot in stock after the demo's doses (a round number)
MARGIN_DOSES = 200
#: the products whose sessions record a little opened-vial wastage (multi-dose vials)
WASTAGE_PRODUCTS = ("PFIZER", "AZ")


def demo_lot_number(product_code: str, n: int) -> str:
    """The number of the demo's ``n``-th lot of a product (``_load_reference``)."""
    return f"{product_code[:2]}{n:04d}"


@dataclass
class _Pair:
    """One lot at one site: its doses given, their first and last day, its wastage."""

    site_id: str
    lot_id: int
    lot_number: str
    product_code: str
    expiry: date
    administered: int = 0
    first: date | None = None
    last: date | None = None
    #: (session id, doses) of the opened-vial wastage seeded at the site
    wastage: tuple[tuple[int, int], ...] = ()


def seed_stock(platform: Platform) -> dict[str, int]:
    """The demo's stock: lots on its doses, deliveries, and a little wastage; idempotent.

    1. The backlog's doses (no lot) get the demo lot they came from: before
       :data:`NEW_LOTS_FROM` the two lots that expired in 2022, after it the two good until
       2027, alternating by record (even ids the first of the pair); one set-based update
       and one audit event; doses that have a lot keep it.
    2. For each (site, lot) with no movement yet: a delivery of what the site gave from it
       plus its wastage, dated the day before its first dose, through ``receive_lot``
       (audited, noted :data:`DEMO_STOCK_NOTE`); an unexpired lot gets one more delivery of
       :data:`MARGIN_DOSES` on its last dose's day, so it stays in stock for the desk; an
       expired one ends at nothing left — the page shows an exhausted lot. Every active
       site gets the margin of an unexpired lot of each of today's products
       (:data:`TODAY_PRODUCTS`) even if it never gave one.
    3. A little opened-vial wastage (1–4 doses) at a site's last session of
       :data:`WASTAGE_PRODUCTS` in the period of the product's first lot of each pair
       (``…0001``, ``…0002``), through ``record_wastage``.

    A (site, lot) that has any movement is left alone, so a second run adds nothing.
    Returns how many doses got a lot, deliveries and wastage rows were added.
    """
    actor = Actor.system("demo")
    today = platform.today()
    with platform.sessions() as s:
        demo_numbers = {demo_lot_number(v.code, n) for v in VACCINES for n in range(1, 5)}
        lots = {  # the demo's own lots only, never one a user received since
            (lot.product_code, lot.lot_number): lot
            for lot in s.scalars(select(Lot).where(Lot.lot_number.in_(demo_numbers)))
            if lot.lot_number in {demo_lot_number(lot.product_code, n) for n in range(1, 5)}
        }
        given_lots = _give_lots(s, actor, lots)
        pairs = _pairs(s, lots, today)
        _plan_wastage(s, pairs)
        receipts = wasted = 0
        for pair in pairs:
            wasted_here = sum(doses for _, doses in pair.wastage)
            first = pair.first or today
            deliveries = []
            if pair.administered + wasted_here:
                deliveries.append((pair.administered + wasted_here, first - timedelta(days=1)))
            if pair.expiry >= today:
                deliveries.append((MARGIN_DOSES, min(pair.last or today, today)))
            for doses, when in deliveries:
                receipt = LotReceipt(
                    pair.product_code,
                    pair.lot_number,
                    pair.expiry,
                    pair.site_id,
                    doses,
                    note=DEMO_STOCK_NOTE,
                    received_at=datetime(when.year, when.month, when.day, 7, tzinfo=platform.tz),
                )
                receive_lot(s, actor, receipt, today=when)
                receipts += 1
            for session_id, doses in pair.wastage:
                record_wastage(s, actor, session_id, pair.lot_number, doses, DEMO_STOCK_NOTE)
                wasted += 1
        s.commit()
    return {"doses_given_lots": given_lots, "receipts": receipts, "wastage": wasted}


def _give_lots(session: Session, actor: Actor, lots: dict[tuple[str, str], Lot]) -> int:
    """Step 1 of :func:`seed_stock`: the backlog's doses without a lot get the demo's, in one
    pass over the doses (one ``CASE`` naming each lot's product, period and parity)."""
    whens = []
    for (product, number), lot in lots.items():
        n = int(number[-4:])
        period = Dose.dose_date < NEW_LOTS_FROM if n % 2 else Dose.dose_date >= NEW_LOTS_FROM
        parity = (Dose.id % 2) == (0 if n <= 2 else 1)
        whens.append((and_(Dose.product_code == product, period, parity), lot.id))
    if not whens:
        return 0
    products = {product for product, _ in lots}  # the products the demo has lots of
    ids = session.scalars(
        update(Dose)
        .where(Dose.lot_id.is_(None), Dose.record_id.is_not(None), Dose.product_code.in_(products))
        .values(lot_id=case(*whens))
        .returning(Dose.id)
        .execution_options(synchronize_session=False)
    ).all()
    total = len(ids)
    if total:
        audit(session, actor, "demo.dose_lots", "dose", None, {"doses": total})
        # a lot is part of the Immunization partners read: each dose is one change
        append_doses(session, ids, action="updated", source="demo")
    return total


def _pairs(session: Session, lots: dict[tuple[str, str], Lot], today: date) -> list[_Pair]:
    """The (site, lot) pairs the demo stocks and has not stocked yet, with their doses."""
    by_id = {lot.id: lot for lot in lots.values()}
    stocked = {
        (site_id, lot_id)
        for site_id, lot_id in session.execute(select(StockMovement.site_id, StockMovement.lot_id))
    }
    pairs: dict[tuple[str, int], _Pair] = {}

    def pair(site_id: str, lot: Lot) -> _Pair:
        return pairs.setdefault(
            (site_id, lot.id),
            _Pair(site_id, lot.id, lot.lot_number, lot.product_code, lot.expiry),
        )

    for site_id, lot_id, count, first, last in session.execute(
        select(
            Dose.site_id,
            Dose.lot_id,
            func.count(),
            func.min(Dose.dose_date),
            func.max(Dose.dose_date),
        )
        .where(Dose.lot_id.in_(by_id), Dose.status != "duplicate")
        .group_by(Dose.site_id, Dose.lot_id)
    ):
        assert lot_id is not None  # the query asks for the demo's lots
        p = pair(site_id, by_id[lot_id])
        p.administered, p.first, p.last = int(count), first, last
    for site_id in session.scalars(select(Site.site_id).where(Site.active)):
        for product in TODAY_PRODUCTS:
            lot = lots.get((product, demo_lot_number(product, 2)))
            if lot is not None and lot.expiry >= today:
                pair(site_id, lot)
    return [p for key, p in sorted(pairs.items()) if (key[0], key[1]) not in stocked]


def _plan_wastage(session: Session, pairs: list[_Pair]) -> None:
    """Step 3's plan: for the first two lots of :data:`WASTAGE_PRODUCTS` a site gave doses
    from, the last session of that product in the lot's period loses 1–4 doses."""
    wanted = [
        p
        for p in pairs
        if p.product_code in WASTAGE_PRODUCTS and p.administered and p.lot_number[-1] in "12"
    ]
    if not wanted:
        return
    sessions: dict[tuple[str, str], list[tuple[date, int]]] = {}
    for site_id, product, day, session_id in session.execute(
        select(
            VaccinationSession.site_id,
            VaccinationSession.product_code,
            VaccinationSession.session_date,
            VaccinationSession.id,
        ).where(
            VaccinationSession.site_id.in_({p.site_id for p in wanted}),
            VaccinationSession.product_code.in_(WASTAGE_PRODUCTS),
        )
    ):
        sessions.setdefault((site_id, product), []).append((day, session_id))
    for p in wanted:
        assert p.first is not None and p.last is not None  # it gave doses
        during = [
            (day, sid)
            for day, sid in sessions.get((p.site_id, p.product_code), [])
            if p.first <= day <= p.last
        ]
        if during:
            day, sid = max(during)
            p.wastage = ((sid, 1 + sid % 4),)
