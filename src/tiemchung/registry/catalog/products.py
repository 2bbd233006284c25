"""In-memory cache of reference data (products, lots, sites, wards) for the dose hot path.

Reference data changes rarely and is read on every dose. A miss reloads from the database
once before anything is rejected, so a lot or site added a moment ago is never refused.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from tiemchung.registry.models import AdminUnit, Lot, Product, Site
from tiemchung.vaccines import VACCINES


def load_products(session: Session) -> int:
    """Insert the vaccine products of :data:`tiemchung.vaccines.VACCINES` (the caller commits);
    returns how many. Every product carries its EU DCC codes, primary series and interval."""
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
    return len(VACCINES)


@dataclass(frozen=True)
class WardInfo:
    code: str
    province_code: str
    name: str


class Catalog:
    """Thread-safe snapshot of products, lots, sites and 2021-scheme wards."""

    def __init__(self, sessions: sessionmaker[Session], ttl_seconds: float = 300.0) -> None:
        self._sessions = sessions
        self._ttl = ttl_seconds
        self._lock = threading.Lock()
        self._loaded_at = 0.0
        self.products: dict[str, Product] = {}
        self.lots: dict[tuple[str, str], Lot] = {}
        self.sites: dict[str, Site] = {}
        self.wards: dict[str, WardInfo] = {}

    def reload(self) -> None:
        with self._sessions() as s:
            products = {p.code: p for p in s.scalars(select(Product))}
            lots = {(lot.product_code, lot.lot_number): lot for lot in s.scalars(select(Lot))}
            sites = {x.site_id: x for x in s.scalars(select(Site))}
            wards = {
                u.code: WardInfo(u.code, u.province_code, u.name)
                for u in s.scalars(
                    select(AdminUnit).where(AdminUnit.scheme == "2021", AdminUnit.level == "ward")
                )
            }
            s.expunge_all()
        with self._lock:
            self.products, self.lots, self.sites, self.wards = products, lots, sites, wards
            self._loaded_at = time.monotonic()

    def _fresh(self) -> None:
        if time.monotonic() - self._loaded_at > self._ttl:
            self.reload()

    def _get(self, table: str, key: object) -> object | None:
        self._fresh()
        found = getattr(self, table).get(key)
        if found is None:
            self.reload()
            found = getattr(self, table).get(key)
        return found

    def product(self, code: str) -> Product | None:
        return self._get("products", code)  # type: ignore[return-value]

    def lot(self, product_code: str, lot_number: str) -> Lot | None:
        return self._get("lots", (product_code, lot_number))  # type: ignore[return-value]

    def site(self, site_id: str) -> Site | None:
        return self._get("sites", site_id)  # type: ignore[return-value]

    def ward(self, code: str) -> WardInfo | None:
        return self._get("wards", code)  # type: ignore[return-value]
