"""Lots: received at a site, transferred between sites, listed with what is left.

A lot is a product's batch (number and expiry; unique per product). Receiving one at a site
creates it on first sight and adds a ``received`` movement; receiving it again (a second
delivery) only adds the movement, and must name the same expiry — a different one is a typo
or another lot, and either way the stock must not silently merge them. A transfer is two
movements written together (out at one site, in at the other), never more than is on hand.

Who may: any health staff at a site they may record doses at (registry/scope.Actor
.can_record_at): a site its own, a commune its ward's, a province its province's, central
all. A transfer's receiving site may be anywhere (a province supplies other provinces' sites
in an outbreak); it must exist and be open. Every write is audited; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tiemchung.registry.catalog.stock import (
    RECEIVED,
    STAFF,
    TRANSFER_IN,
    TRANSFER_OUT,
    Balance,
    balances,
    check_quantity,
    check_taking,
)
from tiemchung.registry.errors import forbidden, not_found, role_not_allowed, rule_error
from tiemchung.registry.models import Lot, Product, Site, StockMovement
from tiemchung.registry.scope import Actor
from tiemchung.store.audit import audit


@dataclass(frozen=True)
class LotReceipt:
    """What a site received: so many doses of a product's lot.

    ``note`` says where the delivery came from (kept on the movement and in the audit
    event); ``received_at`` dates a delivery recorded after the fact (default: now)."""

    product_code: str
    lot_number: str
    expiry: date
    site_id: str
    doses: int
    note: str | None = None
    received_at: datetime | None = None


def _staff(actor: Actor) -> None:
    if actor.role not in STAFF:
        raise role_not_allowed(
            "Chỉ cán bộ y tế được quản lý lô vắc xin", "only health staff may manage lots"
        )


def _site_to_stock(session: Session, actor: Actor, site_id: str, field_: str) -> Site:
    """An open site of the caller's area (its stock is the caller's to move)."""
    site = session.get(Site, site_id)
    if site is None:
        raise not_found(field_, f"điểm tiêm {site_id}", f"site {site_id}")
    if not actor.can_record_at(site):
        raise forbidden(
            field_,
            f"Bạn không quản lý kho của điểm tiêm {site_id}",
            f"you do not manage the stock of site {site_id}",
        )
    _open(site, field_)
    return site


def _open(site: Site, field_: str) -> None:
    if not site.active:
        raise rule_error(
            field_,
            "site_closed",
            f"Điểm tiêm {site.site_id} đã đóng",
            f"site {site.site_id} is closed",
            status=409,
        )


def receive_lot(
    session: Session, actor: Actor, receipt: LotReceipt, *, today: date
) -> tuple[Lot, StockMovement]:
    """Record a delivery; creates the lot on first sight. Refuses an unknown or inactive
    product, an expired lot, a different expiry for a known lot and a closed site."""
    _staff(actor)
    site = _site_to_stock(session, actor, receipt.site_id, "site_id")
    product = session.get(Product, receipt.product_code)
    if product is None or not product.active:
        raise rule_error(
            "product_code",
            "unknown_product",
            f"Không có loại vắc xin {receipt.product_code} (hoặc đã ngừng sử dụng)",
            f"no active vaccine product {receipt.product_code}",
        )
    number = receipt.lot_number.strip()
    if not number or len(number) > 40:
        raise rule_error(
            "lot_number",
            "invalid_lot_number",
            "Số lô phải có từ 1 đến 40 ký tự",
            "a lot number has 1 to 40 characters",
        )
    check_quantity(receipt.doses)
    if receipt.expiry < today:
        raise rule_error(
            "expiry",
            "lot_expired",
            f"Lô {number} đã hết hạn ngày {receipt.expiry:%d/%m/%Y}: không nhận vào kho",
            f"lot {number} expired on {receipt.expiry.isoformat()}: not received",
        )
    lot = session.scalar(
        select(Lot).where(Lot.product_code == product.code, Lot.lot_number == number)
    )
    if lot is None:
        lot = Lot(product_code=product.code, lot_number=number, expiry=receipt.expiry)
        session.add(lot)
        session.flush()
        audit(
            session,
            actor,
            "lot.create",
            "lot",
            lot.id,
            {"product_code": product.code, "lot_number": number, "expiry": str(lot.expiry)},
        )
    elif lot.expiry != receipt.expiry:
        raise rule_error(
            "expiry",
            "expiry_differs",
            f"Lô {number} đã có hạn dùng {lot.expiry:%d/%m/%Y}, khác {receipt.expiry:%d/%m/%Y}",
            f"lot {number} is stored with expiry {lot.expiry.isoformat()}, "
            f"not {receipt.expiry.isoformat()}",
            status=409,
        )
    move = StockMovement(
        lot_id=lot.id,
        site_id=site.site_id,
        kind=RECEIVED,
        quantity=receipt.doses,
        user_id=actor.user_id,
        note=receipt.note,
    )
    if receipt.received_at is not None:
        move.created_at = receipt.received_at
    session.add(move)
    session.flush()
    detail: dict[str, object] = {
        "lot_number": number,
        "site_id": site.site_id,
        "doses": receipt.doses,
    }
    if receipt.note:
        detail["note"] = receipt.note
    audit(session, actor, "lot.receive", "lot", lot.id, detail)
    return lot, move


def find_lot(session: Session, product_code: str, lot_number: str) -> Lot:
    """A lot by product and number (how people name one), or the 404 naming it."""
    lot = session.scalar(
        select(Lot).where(Lot.product_code == product_code, Lot.lot_number == lot_number.strip())
    )
    if lot is None:
        raise not_found(
            "lot_number",
            f"lô {lot_number} của vắc xin {product_code}",
            f"lot {lot_number} of {product_code}",
        )
    return lot


def transfer_lot(
    session: Session, actor: Actor, lot_id: int, from_site: str, to_site: str, doses: int
) -> tuple[StockMovement, StockMovement]:
    """Move doses of a lot from a site of the caller's area to another open site."""
    _staff(actor)
    lot = session.get(Lot, lot_id)
    if lot is None:
        raise not_found("lot_id", f"lô {lot_id}", f"lot {lot_id}")
    source = _site_to_stock(session, actor, from_site, "from_site")
    target = session.get(Site, to_site)
    if target is None:
        raise not_found("to_site", f"điểm tiêm {to_site}", f"site {to_site}")
    _open(target, "to_site")
    if target.site_id == source.site_id:
        raise rule_error(
            "to_site",
            "same_site",
            "Điểm nhận phải khác điểm chuyển",
            "the receiving site must differ from the sending site",
        )
    check_taking(session, lot, source.site_id, doses)
    out = StockMovement(
        lot_id=lot.id,
        site_id=source.site_id,
        kind=TRANSFER_OUT,
        quantity=doses,
        other_site_id=target.site_id,
        user_id=actor.user_id,
    )
    into = StockMovement(
        lot_id=lot.id,
        site_id=target.site_id,
        kind=TRANSFER_IN,
        quantity=doses,
        other_site_id=source.site_id,
        user_id=actor.user_id,
    )
    session.add_all([out, into])
    session.flush()
    audit(
        session,
        actor,
        "lot.transfer",
        "lot",
        lot.id,
        {
            "lot_number": lot.lot_number,
            "from": source.site_id,
            "to": target.site_id,
            "doses": doses,
        },
    )
    return out, into


@dataclass(frozen=True)
class LotLine:
    """A lot as listed: its product, number, expiry and what is left at the sites asked."""

    id: int
    product_code: str
    lot_number: str
    expiry: date
    on_hand: int
    #: site id → what is left there, for the sites of the caller's area holding it
    sites: dict[str, int]


def list_lots(
    session: Session,
    actor: Actor,
    *,
    product_code: str | None = None,
    site_id: str | None = None,
) -> list[LotLine]:
    """The tracked lots held at the sites of the caller's area (one site if asked), by
    product, expiry and number, with what is left at each site."""
    _staff(actor)
    found: dict[tuple[int, str], Balance] = balances(session, actor, site_id=site_id)
    if not found:
        return []
    stmt = select(Lot).where(Lot.id.in_({k[0] for k in found}))
    if product_code:
        stmt = stmt.where(Lot.product_code == product_code)
    lines = []
    for lot in session.scalars(stmt):
        per_site = {s: b.on_hand for (lid, s), b in sorted(found.items()) if lid == lot.id}
        lines.append(
            LotLine(
                lot.id,
                lot.product_code,
                lot.lot_number,
                lot.expiry,
                sum(per_site.values()),
                per_site,
            )
        )
    return sorted(lines, key=lambda x: (x.product_code, x.expiry, x.lot_number))
