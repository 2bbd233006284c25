"""The stock panel of a dashboard: on hand per lot for the area the dashboard shows, with the
lots that are expired, near expiry or exhausted said in words.

Unlike the other panels this is read live from the store, through the stock service
(:func:`tiemchung.registry.catalog.stock.stock_rows`, the one home of the stock figure), not
from the statistics snapshot: a desk needs to know the vials it has now, and the figure is a
sum over one area's movements, cheap at any size. A site's dashboard shows its lots; a commune's
(or a ward drilled down to) each site of the ward; a province's or the country's per province.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tiemchung.registry.catalog.stock import stock_rows
from tiemchung.registry.scope import Actor
from tiemchung.stats.filters import Filters
from tiemchung.stats.tables import Column, Table

#: a lot expiring within this many days is flagged "near expiry"
NEAR_EXPIRY_DAYS = 30

_STATES = {
    "expired": ("Hết hạn", "Expired"),
    "exhausted": ("Đã hết", "Exhausted"),
    "near_expiry": ("Sắp hết hạn", "Near expiry"),
    "ok": ("", ""),
}


def state(expiry: date, on_hand: int, today: date) -> str:
    """Why a lot needs attention: expired first (it may not be used whatever is left), then
    exhausted, then expiring within :data:`NEAR_EXPIRY_DAYS`."""
    if expiry < today:
        return "expired"
    if on_hand <= 0:
        return "exhausted"
    if expiry <= today + timedelta(days=NEAR_EXPIRY_DAYS):
        return "near_expiry"
    return "ok"


def stock_table(session: Session, actor: Actor, f: Filters, today: date) -> Table:
    """The stock of the (scoped) filters' area; ``f`` must already have been through
    :func:`.filters.scope`, which pins a commune or site user to their own area."""
    level = "site" if (f.site or f.ward) else "province"
    rows: list[dict[str, Any]] = []
    # the stock service scopes by the actor too: a site user only ever gets its own lots
    found = stock_rows(
        session,
        actor,
        level,
        site_id=f.site or None,
        ward_code=None if f.site else f.ward,
        province_code=None if (f.site or f.ward) else f.province,
    )
    for r in found:
        s = state(r.expiry, r.balance.on_hand, today)
        rows.append(
            {
                "place_code": r.place_code,
                "place_name": r.place_name,
                "product_code": r.product_code,
                "lot_number": r.lot_number,
                "expiry": r.expiry,
                "received": r.balance.received,
                "administered": r.balance.administered,
                "wasted": r.balance.wasted,
                "on_hand": r.balance.on_hand,
                "state": s,
                "state_vi": _STATES[s][0],
                "state_en": _STATES[s][1],
            }
        )
    place = ("Điểm tiêm", "Site") if level == "site" else ("Tỉnh/thành phố", "Province")
    return Table(
        "stock",
        "Tồn kho vắc xin theo lô",
        "Vaccine stock per lot",
        [
            Column("place_name", *place, "text"),
            Column("product_code", "Vắc xin", "Vaccine", "text"),
            Column("lot_number", "Số lô", "Lot", "text"),
            Column("expiry", "Hạn dùng", "Expiry", "date"),
            Column("received", "Đã nhận", "Received"),
            Column("administered", "Đã tiêm", "Administered"),
            Column("wasted", "Hủy bỏ", "Wasted"),
            Column("on_hand", "Còn lại", "On hand"),
            Column("state", "Cần chú ý", "Attention", "text"),
        ],
        rows,
        "Số liệu tồn kho lấy trực tiếp, không theo bộ lọc ngày; sắp hết hạn = hết hạn trong "
        f"{NEAR_EXPIRY_DAYS} ngày. Lô chưa có phiếu nhập nào không có số tồn.",
        "Stock is read live, whatever the dates chosen; near expiry = expiring within "
        f"{NEAR_EXPIRY_DAYS} days. A lot with no receipt yet has no stock figure.",
    )
