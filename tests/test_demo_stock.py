"""The demo has stock (issue 17 point 1): after the demo build (the small province the web
tests use, 600 people) every (site, lot) adds up — received − administered − wasted = on
hand ≥ 0 — counted here from the raw tables and compared with what ``GET /api/v1/stock``
answers; the seeding is audited, dated before the doses and idempotent; the demo's desk
login can record a dose from a demo lot and the stock goes down by one."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, func, select

from tiemchung.config import Settings
from tiemchung.core import Platform
from tiemchung.registry.models import AuditEvent, Dose, Lot, StockMovement, User
from tiemchung.server import create_app

#: the note the demo's receipts carry, as written here (not read from the demo module)
NOTE = "dữ liệu mẫu của bản demo / demo seeding"


@dataclass
class Demo:
    settings: Settings
    summary: dict[str, Any]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The small demo province of the web tests (600 people, seed 10) in SQLite."""
    from tiemchung.demo import build_demo
    from tiemchung.installation import initialise

    directory: Path = tmp_path_factory.mktemp("demo-stock")
    settings = Settings(data_dir=directory, database_url=f"sqlite:///{directory / 'demo.db'}")
    initialise(settings)
    return Demo(settings, build_demo(settings, people=600, seed=10))


@pytest.fixture
def platform(demo: Demo) -> Iterator[Platform]:
    with Platform(demo.settings) as p:
        yield p


def _raw_balances(conn: Connection) -> dict[tuple[str, str], dict[str, int]]:
    """(site, lot number) → received, transferred, wasted, administered, from the tables."""
    lots = {i: n for i, n in conn.execute(select(Lot.id, Lot.lot_number))}
    out: dict[tuple[str, str], dict[str, int]] = {}

    def row(site: str, lot_id: int) -> dict[str, int]:
        zero = {"received": 0, "transfer_in": 0, "transfer_out": 0, "wasted": 0, "given": 0}
        return out.setdefault((site, lots[lot_id]), zero)

    for m in conn.execute(
        select(
            StockMovement.site_id, StockMovement.lot_id, StockMovement.kind, StockMovement.quantity
        )
    ):
        row(m.site_id, m.lot_id)[m.kind] += m.quantity
    tracked = {lot for _, lot in out}
    for site, lot_id, status in conn.execute(select(Dose.site_id, Dose.lot_id, Dose.status)):
        if lot_id is not None and lots[lot_id] in tracked and status != "duplicate":
            row(site, lot_id)["given"] += 1
    return out


def _login(client: TestClient, username: str) -> dict[str, str]:
    from tiemchung.demo import DEMO_PASSWORD

    r = client.post("/api/v1/auth/token", data={"username": username, "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _stock_api(client: TestClient, headers: dict[str, str]) -> dict[tuple[str, str], Any]:
    r = client.get("/api/v1/stock", params={"level": "site"}, headers=headers)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    keyed = {(x["place_code"], x["lot_number"]): x for x in items}
    assert len(keyed) == len(items)  # one line per (site, lot)
    return keyed


def test_every_demo_site_and_lot_adds_up_and_matches_the_api(platform: Platform) -> None:
    with platform.engine.connect() as conn:
        raw = _raw_balances(conn)
        untracked_demo_doses = conn.scalar(
            select(func.count())
            .select_from(Dose)
            .where(Dose.record_id.is_not(None), Dose.lot_id.is_(None))
        )
    assert untracked_demo_doses == 0  # every backlog dose of the demo came from a demo lot
    assert len(raw) >= 20  # 3 sites, several products and lots each
    for key, b in raw.items():
        assert b["transfer_in"] == b["transfer_out"] == 0, key  # the demo moves nothing
        assert b["received"] - b["given"] - b["wasted"] >= 0, (key, b)
    # what the page must show: doses given, wastage, an exhausted lot and lots left over
    assert sum(b["given"] for b in raw.values()) > 1000
    assert sum(1 for b in raw.values() if b["wasted"]) >= 3
    assert any(b["received"] - b["given"] - b["wasted"] == 0 for b in raw.values())
    assert any(b["received"] - b["given"] - b["wasted"] > 0 for b in raw.values())

    with TestClient(create_app(platform)) as client:
        api = _stock_api(client, _login(client, "trunguong"))
    assert set(api) == set(raw)
    for key, b in raw.items():
        line = api[key]
        assert (line["received"], line["administered"], line["wasted"]) == (
            b["received"],
            b["given"],
            b["wasted"],
        ), key
        assert line["on_hand"] == b["received"] - b["given"] - b["wasted"], key
        # an expired lot is left at nothing: what it received was given or wasted
        if line["expired"]:
            assert line["on_hand"] == 0, key


def test_the_seeding_is_audited_noted_and_dated_before_the_doses(platform: Platform) -> None:
    tz = ZoneInfo(platform.settings.timezone)
    with platform.engine.connect() as conn:
        moves = conn.execute(
            select(
                StockMovement.site_id,
                StockMovement.lot_id,
                StockMovement.kind,
                StockMovement.note,
                StockMovement.created_at,
            )
        ).all()
        first_dose = {
            (site, lot): day
            for site, lot, day in conn.execute(
                select(Dose.site_id, Dose.lot_id, func.min(Dose.dose_date))
                .where(Dose.record_id.is_not(None))
                .group_by(Dose.site_id, Dose.lot_id)
            )
        }
        audited = Counter(
            conn.scalars(
                select(AuditEvent.action).where(
                    AuditEvent.action.in_(["lot.receive", "stock.waste", "demo.dose_lots"])
                )
            )
        )
    kinds = Counter(m.kind for m in moves)
    assert audited["lot.receive"] == kinds["received"] > 0
    assert audited["stock.waste"] == kinds["wasted"] > 0
    assert audited["demo.dose_lots"] == 1
    assert all(m.note == NOTE for m in moves)
    today = datetime.now(tz).date()
    # each (site, lot) with doses had a delivery dated before its first dose
    earliest: dict[tuple[str, int], date] = {}
    for m in moves:
        if m.kind == "received":
            when = m.created_at if m.created_at.tzinfo else m.created_at.replace(tzinfo=tz)
            day = when.astimezone(tz).date()
            key = (m.site_id, m.lot_id)
            earliest[key] = min(earliest.get(key, day), day)
            assert day <= today, key  # no delivery in the future
    for key, day in first_dose.items():
        assert earliest[key] < day, key


def test_seeding_again_adds_nothing(demo: Demo, platform: Platform) -> None:
    from tiemchung.demo import build_demo, seed_stock

    def counts() -> tuple[int, int, int]:
        with platform.engine.connect() as conn:
            return (
                conn.scalar(select(func.count()).select_from(StockMovement)) or 0,
                conn.scalar(select(func.count()).select_from(AuditEvent)) or 0,
                conn.scalar(select(func.count()).select_from(Dose).where(Dose.lot_id.is_not(None)))
                or 0,
            )

    before = counts()
    assert seed_stock(platform) == {"doses_given_lots": 0, "receipts": 0, "wastage": 0}
    assert counts() == before
    again = build_demo(demo.settings, people=600, seed=10)  # `make demo` on the same folder
    assert again["reused"] is True
    assert counts() == before


def test_the_demo_desk_records_a_dose_and_the_stock_goes_down_by_one(
    platform: Platform,
) -> None:
    from tiemchung.registry.catalog.reference import desk_offer
    from tiemchung.registry.scope import Actor, Role

    with platform.sessions() as s:
        nurse = s.scalars(select(User).where(User.role == "site")).one()
        username, site = nurse.username, nurse.site_id
        assert site is not None
        actor = Actor(nurse.id, username, Role.SITE, site_id=site)
        offer = desk_offer(s, actor, platform.today())
    # the desk offers today's product with a demo lot that has stock at the site
    assert offer.lots, offer
    product, lot_number, _ = offer.lots[0]
    with TestClient(create_app(platform)) as client:
        headers = _login(client, username)
        before = _stock_api(client, headers)[(site, lot_number)]
        assert before["on_hand"] > 0
        r = client.post(
            "/api/v1/doses",
            headers=headers,
            json={
                "client_uuid": str(uuid.uuid4()),
                "full_name": "Người Thử Kho",
                "national_id": "040190000017",
                "dob": "1990-05-12",
                "sex": "F",
                "product_code": product,
                "lot_number": lot_number,
                "dose_number": 1,
                "dose_date": platform.today().isoformat(),
                "site_id": site,
            },
        )
        assert r.status_code == 201, r.text
        after = _stock_api(client, headers)[(site, lot_number)]
    assert after["on_hand"] == before["on_hand"] - 1
    assert after["administered"] == before["administered"] + 1
    with platform.engine.connect() as conn:
        b = _raw_balances(conn)[(site, lot_number)]
    assert b["received"] - b["given"] - b["wasted"] == after["on_hand"]


def test_the_demo_build_fills_the_change_log(platform: Platform) -> None:
    """Every path the demo takes writes the partners' change log (issue 19 point 3): each
    register person created, each dose created once, each backlog dose given a lot updated."""
    from tiemchung.registry.models import Person
    from tiemchung.registry.tables.changes import ChangeEntry

    with platform.engine.connect() as conn:
        log = Counter(
            (resource, action, source)
            for resource, action, source in conn.execute(
                select(ChangeEntry.resource, ChangeEntry.action, ChangeEntry.source)
            )
        )
        created = Counter(
            conn.scalars(select(ChangeEntry.resource_id).where(ChangeEntry.action == "created"))
        )
        persons = conn.scalar(select(func.count()).select_from(Person))
        doses = conn.scalar(select(func.count()).select_from(Dose))
        lots = conn.scalar(
            select(func.count())
            .select_from(Dose)
            .where(Dose.record_id.is_not(None), Dose.lot_id.is_not(None))
        )
    assert log[("Patient", "created", "register")] == persons
    assert sum(n for (r, a, _), n in log.items() if (r, a) == ("Immunization", "created")) == doses
    assert max(created.values()) == 1  # a dose (or person) is created once
    assert log[("Immunization", "updated", "demo")] == lots
    assert log[("Immunization", "linked", "reconcile")] > 0
