"""The vaccination desk and the stock (both backends): a dose recorded at the desk takes the
lot's stock at the site down by one, and a lot with nothing left there is refused at its
field, with words naming the lot, and nothing stored."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import func, select

from tests.web.conftest import Web
from tests.web.test_desk import AN_QR, _fields, desk  # noqa: F401 - the desk fixture
from tiemchung.core import Platform
from tiemchung.registry.catalog.lots import LotReceipt, receive_lot
from tiemchung.registry.catalog.stock import on_hand
from tiemchung.registry.models import Dose, Lot
from tiemchung.registry.scope import Actor


def test_the_desk_takes_the_stock_down_and_refuses_an_exhausted_lot(
    desk: Web,  # noqa: F811 - the fixture
    platform: Platform,
) -> None:
    with platform.sessions() as s:
        receipt = LotReceipt("PFIZER", "PF-DESK", date(2099, 12, 31), "S-A1", 1)
        lot, _ = receive_lot(s, Actor.system("test"), receipt, today=platform.today())
        s.commit()
        lot_id = lot.id
    f = _fields(desk.htmx("/desk/check", {"scan": AN_QR}).text)
    assert '<option value="PF-DESK">' in desk.htmx("/desk/check", {"scan": AN_QR}).text
    r = desk.htmx("/desk/dose", f | {"lot_number": "PF-DESK"})
    assert r.status_code == 201, r.text
    with platform.sessions() as s:
        assert on_hand(s, lot_id, "S-A1") == 0  # 1 received − 1 given
    # the next check-in's form no longer offers the empty lot; the lot never received is
    # not tracked (the test world's seed) and still offered
    offered = desk.htmx("/desk/check", {"scan": AN_QR}).text
    assert '<option value="PF-DESK">' not in offered and '<option value="PF-OK">' in offered

    again = {"lot_number": "PF-DESK", "dose_number": "2", "client_uuid": str(uuid.uuid4())}
    r = desk.htmx("/desk/dose", f | again)
    assert r.status_code == 422, r.text  # the desk answers every refusal with its form again
    assert "Lô vắc xin PF-DESK đã hết tại điểm tiêm S-A1" in r.text
    assert _fields(r.text)["lot_number"] == "PF-DESK"  # kept as typed
    with platform.sessions() as s:
        given = s.scalar(
            select(func.count()).select_from(Dose).join(Lot).where(Lot.lot_number == "PF-DESK")
        )
    assert given == 1
