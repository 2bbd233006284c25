"""Reading the reference data a caller may see: sites, products with their lots, sessions.

The API's ``/sites``, ``/products`` and ``/sessions`` and the vaccination desk's page read
through these functions, so a session planned at a site is offered at the desk exactly when
``/sessions`` lists it to the same actor (one filter: :func:`sessions_where`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from tiemchung.registry.catalog.sessions import OPEN
from tiemchung.registry.catalog.stock import stock_left
from tiemchung.registry.models import Lot, Product, Site, VaccinationSession
from tiemchung.registry.scope import Actor


def _count(session: Session, stmt: Select[tuple[object]]) -> int:
    return int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


def list_sites(
    session: Session, actor: Actor, *, ward_code: str | None, limit: int, offset: int
) -> tuple[list[Site], int]:
    """The sites of the caller's area (of one ward if asked), by site ID, and how many."""
    stmt = select(Site).where(actor.site_filter())
    if ward_code:
        stmt = stmt.where(Site.ward_code == ward_code)
    total = _count(session, stmt)  # type: ignore[arg-type]
    rows = session.scalars(stmt.order_by(Site.site_id).limit(limit).offset(offset)).all()
    return list(rows), total


def get_site(session: Session, actor: Actor, site_id: str) -> Site | None:
    """One site of the caller's area (None outside it, as for no such site)."""
    return session.scalar(select(Site).where(Site.site_id == site_id, actor.site_filter()))


def sites_after(
    session: Session,
    actor: Actor,
    *,
    after_site_id: str = "",
    limit: int,
    ward_code: str | None = None,
    province_code: str | None = None,
    name: str | None = None,
) -> list[Site]:
    """Up to ``limit`` sites of the caller's area (as :func:`list_sites`) with an id above
    ``after_site_id``, by id: keyset pages for partner systems (the FHIR ``Location``
    search). ``name``: contained in the site's name, case aside (on SQLite, for ASCII letters
    only: its ``lower`` knows no others)."""
    stmt = select(Site).where(actor.site_filter(), Site.site_id > after_site_id)
    if ward_code:
        stmt = stmt.where(Site.ward_code == ward_code)
    if province_code:
        stmt = stmt.where(Site.province_code == province_code)
    if name:
        escaped = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(func.lower(Site.name).like(f"%{escaped.lower()}%", escape="\\"))
    return list(session.scalars(stmt.order_by(Site.site_id).limit(limit)).all())


def products_with_lots(session: Session) -> list[tuple[Product, list[Lot]]]:
    """Every product by code, with its lots soonest expiry first: reference data any role reads."""
    lots: dict[str, list[Lot]] = {}
    for lot in session.scalars(select(Lot).order_by(Lot.expiry)):
        lots.setdefault(lot.product_code, []).append(lot)
    products = session.scalars(select(Product).order_by(Product.code))
    return [(p, lots.get(p.code, [])) for p in products]


def sessions_where(
    actor: Actor,
    *,
    site_id: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    status: str | None = None,
) -> list[ColumnElement[bool]]:
    """The sessions an actor may see (the sites of its area), narrowed by site, dates and
    status: the one filter of ``/sessions`` and of the desk's sessions of the day."""
    where = [actor.session_filter()]
    if status:
        where.append(VaccinationSession.status == status)
    if site_id:
        where.append(VaccinationSession.site_id == site_id)
    if date_from:
        where.append(VaccinationSession.session_date >= date_from)
    if date_to:
        where.append(VaccinationSession.session_date <= date_to)
    return where


def list_sessions(
    session: Session,
    actor: Actor,
    *,
    site_id: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    status: str | None = None,
    limit: int,
    offset: int,
) -> tuple[list[VaccinationSession], int]:
    """The sessions of the caller's area, by date then ID, and how many."""
    where = sessions_where(
        actor, site_id=site_id, date_from=date_from, date_to=date_to, status=status
    )
    stmt = select(VaccinationSession).where(*where)
    total = _count(session, stmt)  # type: ignore[arg-type]
    rows = session.scalars(
        stmt.order_by(VaccinationSession.session_date, VaccinationSession.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), total


@dataclass(frozen=True)
class SessionRow:
    """A session of the day as the desk offers it."""

    id: int
    product_code: str
    product_name: str
    planned_count: int


@dataclass(frozen=True)
class DeskOffer:
    """What the desk offers today: its sessions, every product, and the usable lots."""

    sessions: list[SessionRow]
    #: (code, name) of every product, by code
    products: list[tuple[str, str]]
    #: (product, lot number, expiry): the lots of today's products (of every product when no
    #: session is planned), not expired today, in the sessions' product order then by expiry
    lots: list[tuple[str, str, date]]


def todays_sessions(session: Session, actor: Actor, today: date) -> list[SessionRow]:
    """The sessions open ``today`` that ``/sessions?status=open`` would list to this actor:
    the desk records doses only in an open session (the dose path refuses any other)."""
    rows = session.execute(
        select(VaccinationSession, Product.name)
        .join(Product, Product.code == VaccinationSession.product_code)
        .where(*sessions_where(actor, date_from=today, date_to=today, status=OPEN))
        .order_by(VaccinationSession.session_date, VaccinationSession.id)
    ).all()
    return [SessionRow(s.id, s.product_code, name, s.planned_count) for s, name in rows]


def usable_lots(session: Session, products: list[str], on: date) -> list[tuple[str, str, date]]:
    """(product, lot number, expiry) of the lots not expired on ``on``, for these products,
    in the order the products are given, then by expiry and number."""
    if not products:
        return []
    rows = session.execute(
        select(Lot.product_code, Lot.lot_number, Lot.expiry).where(
            Lot.product_code.in_(products), Lot.expiry >= on
        )
    ).all()
    return sorted(((p, n, e) for p, n, e in rows), key=lambda x: (products.index(x[0]), x[2], x[1]))


def all_products(session: Session) -> list[tuple[str, str]]:
    """(code, name) of every product, by code."""
    return [(p.code, p.name) for p in session.scalars(select(Product).order_by(Product.code))]


def desk_offer(session: Session, actor: Actor, today: date) -> DeskOffer:
    """The sessions, products and lots the vaccination desk offers ``today``; a site is not
    offered the tracked lots it has none of (the dose path would refuse them)."""
    sessions = todays_sessions(session, actor, today)
    products = all_products(session)
    wanted = [s.product_code for s in sessions] or [code for code, _ in products]
    lots = usable_lots(session, list(dict.fromkeys(wanted)), today)
    if actor.site_id is not None:
        lots = _in_stock(session, actor.site_id, lots)
    return DeskOffer(sessions, products, lots)


def _in_stock(
    session: Session, site_id: str, lots: list[tuple[str, str, date]]
) -> list[tuple[str, str, date]]:
    """``lots`` less the tracked ones with nothing left at the site (catalog/stock.py)."""
    if not lots:
        return lots
    ids = {
        (p, n): i
        for i, p, n in session.execute(
            select(Lot.id, Lot.product_code, Lot.lot_number).where(
                Lot.product_code.in_({p for p, _, _ in lots})
            )
        )
    }
    left = stock_left(session.connection(), [(ids[(p, n)], site_id) for p, n, _ in lots])
    return [x for x in lots if left.get((ids[(x[0], x[1])], site_id), 1) > 0]
