"""Sites, the catalogue, lots, stock and wastage (registry/catalog/) over SQLite and
PostgreSQL: who may, what is refused with which words, and stock on hand figured by hand
from the movements the test makes."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, update

from tests.factories import PROVINCE_A, PROVINCE_B, resolve_scope, submission, world
from tiemchung.core import Platform
from tiemchung.registry.catalog import lots as lots_service
from tiemchung.registry.catalog import sites as sites_service
from tiemchung.registry.catalog import stock as stock_service
from tiemchung.registry.catalog.products import ProductChanges, load_products, update_product
from tiemchung.registry.doses.record import record_doses
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.models import AuditEvent, Dose, Lot, Product, VaccinationSession
from tiemchung.registry.scope import Actor, Role

CENTRAL = Actor.system("tests")
# no user id: the movements name their user, and these actors are no stored user
PROV_A = Actor(None, "prov_a", Role.PROVINCE, province_code=PROVINCE_A)
WARD_A1 = Actor(None, "ward_a1", Role.COMMUNE, **resolve_scope({"ward_code": "a1"}))  # type: ignore[arg-type]
SITE_A1 = Actor(None, "site_a1", Role.SITE, **resolve_scope({"site_id": "a1"}))  # type: ignore[arg-type]
TODAY = date(2021, 10, 1)  # the world's sessions are on this day


def _refused(exc: pytest.ExceptionInfo[ServiceError], status: int, rule: str) -> str:
    assert exc.value.status == status
    problem = exc.value.problems[0]
    assert problem.rule == rule
    return f"{problem.message_vi} | {problem.message_en}"


def _receive(s, actor, lot="LT-1", site="S-A1", doses=10, expiry=date(2030, 1, 1)):  # type: ignore[no-untyped-def]
    receipt = lots_service.LotReceipt("PFIZER", lot, expiry, site, doses)
    return lots_service.receive_lot(s, actor, receipt, today=TODAY)


def test_the_catalogue_loads_once_and_keeps_an_edit(platform: Platform) -> None:
    with platform.sessions() as s:
        assert load_products(s) == 0  # the seed loaded the seven already
        with pytest.raises(ServiceError) as exc:
            update_product(s, PROV_A, "AZ", ProductChanges(name="x"))
        _refused(exc, 403, "role_not_allowed")
        update_product(s, CENTRAL, "AZ", ProductChanges(name="Vaxzevria", active=False))
        s.commit()
        assert load_products(s) == 0
        az = s.get(Product, "AZ")
        assert az is not None and (az.name, az.active) == ("Vaxzevria", False)
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "product.update"))
        assert event is not None and event.detail == {
            "name": ["AstraZeneca (Vaxzevria)", "Vaxzevria"],
            "active": [True, False],
        }
        # an inactive product receives no lot
        receipt = lots_service.LotReceipt("AZ", "AZ-NEW", date(2030, 1, 1), "S-A1", 5)
        with pytest.raises(ServiceError) as exc:
            lots_service.receive_lot(s, CENTRAL, receipt, today=TODAY)
        assert "AZ" in _refused(exc, 422, "unknown_product")


def test_sites_are_made_in_the_area_with_a_real_ward(platform: Platform) -> None:
    w = world()
    with platform.sessions() as s:
        with pytest.raises(ServiceError) as exc:
            sites_service.create_site(s, PROV_A, "S-X", "Trạm X", w.wards["b1"], "hospital")
        _refused(exc, 403, "out_of_area")
        with pytest.raises(ServiceError) as exc:
            sites_service.create_site(s, SITE_A1, "S-X", "Trạm X", w.wards["a1"], "hospital")
        _refused(exc, 403, "role_not_allowed")
        with pytest.raises(ServiceError) as exc:
            sites_service.create_site(s, PROV_A, "S-X", " ", "99999", "boat")
        assert {p.rule for p in exc.value.problems} == {
            "invalid_name",
            "unknown_ward",
            "unknown_kind",
        }
        assert any("99999" in p.message_vi for p in exc.value.problems)
        with pytest.raises(ServiceError) as exc:
            sites_service.create_site(s, PROV_A, "S-A1", "Trạm", w.wards["a1"], "hospital")
        _refused(exc, 409, "site_exists")
        site = sites_service.create_site(
            s, WARD_A1, "LD-1", "Đội  lưu động", w.wards["a1"], "mobile_team"
        )
        assert (site.name, site.province_code, site.kind) == (
            "Đội lưu động",
            PROVINCE_A,
            "mobile_team",
        )
        moved = sites_service.update_site(
            s, CENTRAL, "LD-1", sites_service.SiteChanges(ward_code=w.wards["b1"])
        )
        assert (moved.ward_code, moved.province_code) == (w.wards["b1"], PROVINCE_B)
        with pytest.raises(ServiceError) as exc:  # now outside the commune's area
            sites_service.close_site(s, WARD_A1, "LD-1")
        _refused(exc, 404, "not_found")
        assert sites_service.close_site(s, CENTRAL, "LD-1").active is False
        s.commit()
        actions = s.scalars(
            select(AuditEvent.action).where(AuditEvent.entity_id == "LD-1").order_by(AuditEvent.id)
        ).all()
    assert actions == ["site.create", "site.update", "site.close"]


def test_receipts_transfers_and_wastage_make_the_stock(platform: Platform) -> None:
    with platform.sessions() as s:
        lot, _ = _receive(s, SITE_A1, doses=10)
        _receive(s, WARD_A1, doses=5)  # a second delivery of the same lot
        with pytest.raises(ServiceError) as exc:
            _receive(s, CENTRAL, expiry=date(2031, 1, 1))
        assert "LT-1" in _refused(exc, 409, "expiry_differs")
        with pytest.raises(ServiceError) as exc:
            _receive(s, CENTRAL, lot="LT-OLD", expiry=date(2021, 9, 30))
        assert "LT-OLD" in _refused(exc, 422, "lot_expired")
        with pytest.raises(ServiceError) as exc:  # a site moves only its own stock
            _receive(s, SITE_A1, site="S-B1")
        _refused(exc, 403, "out_of_area")

        with pytest.raises(ServiceError) as exc:
            lots_service.transfer_lot(s, PROV_A, lot.id, "S-A1", "S-B1", 16)
        words = _refused(exc, 409, "not_enough_stock")
        assert "LT-1" in words and "15" in words
        lots_service.transfer_lot(s, PROV_A, lot.id, "S-A1", "S-B1", 4)
        vs = s.scalar(select(VaccinationSession.id).where(VaccinationSession.site_id == "S-A1"))
        assert vs is not None
        stock_service.record_wastage(s, SITE_A1, vs, "LT-1", 2, "lọ mở")
        with pytest.raises(ServiceError) as exc:  # not the session's product
            stock_service.record_wastage(s, SITE_A1, vs, "AZ-OK", 1)
        _refused(exc, 422, "unknown_lot")
        s.commit()

        rows = {
            r.place_code: r.as_dict(TODAY) for r in stock_service.stock_rows(s, CENTRAL, "site")
        }
        assert rows["S-A1"]["received"] == 15 and rows["S-A1"]["transferred_out"] == 4
        assert rows["S-A1"]["wasted"] == 2 and rows["S-A1"]["on_hand"] == 15 - 4 - 2
        assert rows["S-B1"]["transferred_in"] == 4 and rows["S-B1"]["on_hand"] == 4
        by_province = {
            r.place_code: r.balance.on_hand
            for r in stock_service.stock_rows(s, CENTRAL, "province")
        }
        assert by_province == {PROVINCE_A: 9, PROVINCE_B: 4}
        # scoped: province A sees its site only, site a1 itself only
        assert [r.place_code for r in stock_service.stock_rows(s, PROV_A)] == ["S-A1"]
        lines = lots_service.list_lots(s, SITE_A1)
        assert [(x.lot_number, x.on_hand, x.sites) for x in lines] == [("LT-1", 9, {"S-A1": 9})]
        with pytest.raises(ServiceError) as exc:
            stock_service.stock_rows(s, CENTRAL, "district")
        _refused(exc, 422, "unknown_level")


def test_a_batch_takes_the_stock_down_in_order(platform: Platform) -> None:
    with platform.sessions() as s:
        _receive(s, CENTRAL, lot="LT-2", doses=2)
        s.commit()
    subs = [submission(None, lot_number="LT-2", full_name=f"Người {n}") for n in "ABC"]
    untracked = submission(None, full_name="Người D")  # PF-OK: never received, not tracked
    with platform.sessions() as s:
        results = record_doses(s, platform.catalog, SITE_A1, [*subs, untracked], today=TODAY)
        s.commit()
        assert [r.status for r in results] == [201, 201, 409, 201]
        error = results[2].error
        assert error is not None and error.problems[0].rule == "lot_exhausted"
        assert "LT-2" in error.problems[0].message_vi and "S-A1" in error.problems[0].message_en
        rows = stock_service.stock_rows(s, CENTRAL, "commune")
        assert [(r.lot_number, r.balance.administered, r.balance.on_hand) for r in rows] == [
            ("LT-2", 2, 0)
        ]


def test_a_receipt_keeps_its_note_and_the_day_it_was_received(platform: Platform) -> None:
    from datetime import UTC, datetime

    from tiemchung.registry.models import StockMovement

    when = datetime(2021, 9, 30, 1, 0, tzinfo=UTC)  # 08:00 in Vietnam
    with platform.sessions() as s:
        receipt = lots_service.LotReceipt(
            "PFIZER",
            "LT-NOTE",
            date(2030, 1, 1),
            "S-A1",
            30,
            note="phiếu xuất 12/2021",
            received_at=when,
        )
        lot, move = lots_service.receive_lot(s, CENTRAL, receipt, today=TODAY)
        plain = _receive(s, CENTRAL, lot="LT-PLAIN")[1]
        s.commit()
        move_id, plain_id, lot_id = move.id, plain.id, lot.id
    with platform.sessions() as s:
        stored = s.get(StockMovement, move_id)
        assert stored is not None and stored.note == "phiếu xuất 12/2021"
        at = (
            stored.created_at if stored.created_at.tzinfo else stored.created_at.replace(tzinfo=UTC)
        )
        assert at == when
        other = s.get(StockMovement, plain_id)
        assert other is not None and other.note is None
        assert other.created_at.replace(tzinfo=None) > when.replace(tzinfo=None)  # now
        events = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "lot.receive").order_by(AuditEvent.id)
        ).all()
        detail = {e.entity_id: e.detail for e in events}
        assert detail[str(lot_id)] == {
            "lot_number": "LT-NOTE",
            "site_id": "S-A1",
            "doses": 30,
            "note": "phiếu xuất 12/2021",
        }
        assert stock_service.on_hand(s, lot_id, "S-A1") == 30


def test_stock_left_counts_each_site_and_lot_apart(platform: Platform) -> None:
    """Several (lot, site) pairs in one call: each counts only its own site's doses of its own
    lot (one lot's doses at another site, or another lot's, take nothing), and a double entry
    is not a dose given."""
    a1, a2 = world().sites["a1"], world().sites["a2"]
    with platform.sessions() as s:
        _receive(s, CENTRAL, lot="LT-3", site=a1, doses=5)
        _receive(s, CENTRAL, lot="LT-3", site=a2, doses=4)
        _receive(s, CENTRAL, lot="LT-4", site=a1, doses=3)
        s.commit()
    given = [("LT-3", a1)] * 2 + [("LT-3", a2)] * 3 + [("LT-4", a1)]
    subs = [
        submission(None, lot_number=lot, site_id=site, full_name=f"Người {n}")
        for n, (lot, site) in enumerate(given)
    ]
    with platform.sessions() as s:
        results = record_doses(s, platform.catalog, CENTRAL, subs, today=TODAY)
        assert [r.status for r in results] == [201] * 6
        s.commit()
        ids = {n: s.scalar(select(Lot.id).where(Lot.lot_number == n)) for n in ("LT-3", "LT-4")}
        # one of a2's doses of LT-3 turns out to be a double entry
        s.execute(
            update(Dose).where(Dose.id == (results[2].dose or {})["id"]).values(status="duplicate")
        )
        s.commit()
        pairs = [(ids["LT-3"], a1), (ids["LT-3"], a2), (ids["LT-4"], a1), (ids["LT-4"], a2)]
        left = stock_service.stock_left(s.connection(), pairs)
    # LT-3: 5 − 2 at a1, 4 − (3 − 1 double entry) at a2; LT-4: 3 − 1 at a1, none received at a2
    assert left == {pairs[0]: 3, pairs[1]: 2, pairs[2]: 2, pairs[3]: 0}


def test_the_dose_paths_memo_adds_what_was_given_since_and_refuses_on_a_full_count(
    platform: Platform,
) -> None:
    """The dose path counts what a site gave since its last count (stock.py's memo) while
    plenty is left, and counts in full once fewer than EXACT_BELOW doses would be: the figures
    are the same as a full count's, and the refusal comes at exactly none left."""
    a1, a2 = world().sites["a1"], world().sites["a2"]
    plenty = stock_service.EXACT_BELOW + 5
    with platform.sessions() as s:
        lot, _ = _receive(s, CENTRAL, lot="LT-5", site=a1, doses=plenty)
        s.commit()
        lot_id = lot.id

    def one_call(n: int) -> list[int]:
        subs = [submission(None, lot_number="LT-5", full_name=f"Người {n}-{i}") for i in "AB"]
        with platform.sessions() as s:
            results = record_doses(s, platform.catalog, SITE_A1, subs, today=TODAY)
            s.commit()
        return [r.status for r in results]

    def left(memo: bool) -> int:
        with platform.sessions() as s:
            return stock_service.stock_left(s.connection(), [(lot_id, a1)], memo=memo)[(lot_id, a1)]

    for n in range(3):  # three groups of two on the memo's path
        assert one_call(n) == [201, 201]
        assert left(memo=True) == left(memo=False) == plenty - 2 * (n + 1)
    # all but 3 of what is left moves to a2: now the dose path counts in full, and refuses
    # the fourth dose exactly
    with platform.sessions() as s:
        lots_service.transfer_lot(s, CENTRAL, lot_id, a1, a2, plenty - 6 - 3)
        s.commit()
    assert left(memo=True) == left(memo=False) == 3
    assert one_call(3) == [201, 201]
    assert one_call(4) == [201, 409]
    assert left(memo=True) == left(memo=False) == 0
