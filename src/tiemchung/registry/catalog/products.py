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

from tiemchung.registry.errors import not_found, role_not_allowed, rule_error
from tiemchung.registry.models import AdminUnit, Lot, Product, Site
from tiemchung.registry.scope import Actor, Role
from tiemchung.store.audit import audit
from tiemchung.vaccines import VACCINES


def load_products(session: Session) -> int:
    """Insert the vaccine products of :data:`tiemchung.vaccines.VACCINES` that are not stored
    yet (the caller commits); returns how many were inserted. Every product carries its EU DCC
    codes, primary series and interval.

    Idempotent, because ``tiemchung init`` runs it on every install and again on every later
    ``init``: a product already stored keeps what an operator edited (:func:`update_product`).
    """
    stored = set(session.scalars(select(Product.code)))
    rows = [
        {
            "code": v.code,
            "name": v.name,
            "mp": v.mp,
            "ma": v.ma,
            "vp": v.vp,
            "primary_doses": v.primary_doses,
            "min_interval_days": v.min_interval_days,
            "active": True,
        }
        for v in VACCINES
        if v.code not in stored
    ]
    if rows:
        session.execute(insert(Product), rows)
    return len(rows)


@dataclass(frozen=True)
class ProductChanges:
    """What an operator may change in a product (None: as is). The schedule (primary doses,
    interval) is not here: the dose rules of doses already stored were judged by it."""

    name: str | None = None
    mp: str | None = None
    ma: str | None = None
    vp: str | None = None
    active: bool | None = None


def update_product(session: Session, actor: Actor, code: str, changes: ProductChanges) -> Product:
    """Edit a product of the national catalogue (central only; audited; the caller commits).
    An inactive product receives no new lots; doses of it stay valid."""
    if actor.role is not Role.CENTRAL:
        raise role_not_allowed(
            "Chỉ cấp trung ương được sửa danh mục vắc xin",
            "only central users may edit the vaccine catalogue",
        )
    product = session.get(Product, code)
    if product is None:
        raise not_found("code", f"loại vắc xin {code}", f"vaccine product {code}")
    before = _product_detail(product)
    for name, limit in (("name", 120), ("mp", 60), ("ma", 60), ("vp", 60)):
        value = getattr(changes, name)
        if value is None:
            continue
        value = " ".join(value.split())
        if not value or len(value) > limit:
            raise rule_error(
                name,
                "invalid_length",
                f"Trường {name} phải có từ 1 đến {limit} ký tự",
                f"{name} must have 1 to {limit} characters",
            )
        setattr(product, name, value)
    if changes.active is not None:
        product.active = changes.active
    after = _product_detail(product)
    if after != before:
        session.flush()
        changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
        audit(session, actor, "product.update", "product", code, changed)
    return product


def list_products(session: Session) -> list[Product]:
    """Every product of the catalogue, in use or not, by code: the catalogue page's rows
    (any staff reads them; :func:`update_product` decides who edits)."""
    return list(session.scalars(select(Product).order_by(Product.code)))


def _product_detail(p: Product) -> dict[str, object]:
    return {"name": p.name, "mp": p.mp, "ma": p.ma, "vp": p.vp, "active": bool(p.active)}


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
