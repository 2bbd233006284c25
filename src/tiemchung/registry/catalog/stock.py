"""Stock on hand per lot and site, and the wastage recorded against a session.

Stock on hand = received + transferred in − transferred out − wasted (the rows of
``stock_movements``) − administered (the doses recorded from the lot at the site, a double
entry of the same dose not counted). Nothing stores the figure itself: it is always the sum
of what happened, so a dose recorded anywhere (the desk, ``POST /doses``, a batch) takes the
stock down by one without a second write that could be forgotten.

A lot is *tracked* once it has any movement. A lot that never had one (the lots stored before
stock existed, the tests' seeds; the demo records its deliveries, ``demo.seed_stock``) has no
stock figure and refuses nothing for lack of stock; a tracked lot at a site that never
received it has none there, and the dose path refuses it (:func:`stock_left`,
registry/doses/record.py).
"""

from __future__ import annotations

import csv
import io
import threading
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import (
    Connection,
    Executable,
    Integer,
    String,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from tiemchung.registry.errors import ServiceError, not_found, role_not_allowed, rule_error
from tiemchung.registry.models import (
    AdminUnit,
    Dose,
    Lot,
    Site,
    StockMovement,
    VaccinationSession,
)
from tiemchung.registry.scope import Actor, Role
from tiemchung.store.audit import audit

RECEIVED, TRANSFER_IN, TRANSFER_OUT, WASTED = "received", "transfer_in", "transfer_out", "wasted"
_SIGN = {RECEIVED: 1, TRANSFER_IN: 1, TRANSFER_OUT: -1, WASTED: -1}
#: a dose record that is a double entry of another is not a second vial used
_NOT_A_DOSE_GIVEN = "duplicate"
LEVELS = ("site", "commune", "province")
STAFF = (Role.CENTRAL, Role.PROVINCE, Role.COMMUNE, Role.SITE)


@dataclass
class Balance:
    """The movements of one lot at one place, and what is left."""

    received: int = 0
    transferred_in: int = 0
    transferred_out: int = 0
    wasted: int = 0
    administered: int = 0

    @property
    def on_hand(self) -> int:
        return (
            self.received
            + self.transferred_in
            - self.transferred_out
            - self.wasted
            - self.administered
        )

    def add(self, other: Balance) -> None:
        self.received += other.received
        self.transferred_in += other.transferred_in
        self.transferred_out += other.transferred_out
        self.wasted += other.wasted
        self.administered += other.administered


_FIELD = {
    RECEIVED: "received",
    TRANSFER_IN: "transferred_in",
    TRANSFER_OUT: "transferred_out",
    WASTED: "wasted",
}


def stock_left(
    conn: Connection, pairs: Iterable[tuple[int, str]], *, memo: bool = False
) -> dict[tuple[int, str], int]:
    """On hand for each (lot id, site id) whose lot is tracked; an untracked lot is absent.

    The dose path's check (``memo=True``): run inside the writer, once per group commit
    whatever the group's size, so that no other write interleaves between the count and the
    insert. Counting every dose a site gave from a lot on each group grew with the doses
    stored (``bench/ingest.py --stock --stored N``); with ``memo`` the count since the last
    one is added to it (:class:`_GivenMemo`), and whenever fewer than :data:`EXACT_BELOW`
    doses would be left the count is made in full: a lot is only ever refused on a full count.
    """
    wanted = set(pairs)
    if not wanted:
        return {}
    lot_ids = {lot for lot, _ in wanted}
    moves = conn.execute(
        select(
            StockMovement.lot_id,
            StockMovement.site_id,
            StockMovement.kind,
            func.sum(StockMovement.quantity),
        )
        .where(StockMovement.lot_id.in_(lot_ids))
        .group_by(StockMovement.lot_id, StockMovement.site_id, StockMovement.kind)
    ).all()
    tracked = {lot for lot, _, _, _ in moves}
    net = {pair: 0 for pair in wanted if pair[0] in tracked}
    if not net:
        return {}
    for lot, site, kind, quantity in moves:
        if (lot, site) in net:
            net[(lot, site)] += _SIGN[kind] * int(quantity)
    if not memo:
        given = _count_given(conn, {pair: 0 for pair in net})
        return {pair: net[pair] - given[pair][0] for pair in net}
    known = _GivenMemo.of(conn)
    since = {pair: known.since(pair) for pair in net}
    given = _count_given(conn, {pair: mark for pair, (_, mark) in since.items()})
    left: dict[tuple[int, str], int] = {}
    for pair, (before, _) in since.items():
        count, last = given[pair]
        if before is not None and net[pair] - before - count < EXACT_BELOW:
            count, last = _count_given(conn, {pair: 0})[pair]  # near empty: count it all
            before = None
        known.keep(pair, count + (before or 0), max(last, since[pair][1]), full=before is None)
        left[pair] = net[pair] - count - (before or 0)
    return left


#: doses left under which the dose path counts what a site gave in full (see stock_left)
EXACT_BELOW = 200


class _GivenMemo:
    """What each (lot, site) gave up to a dose id, per database, kept by the writer for a
    minute: the dose path then counts only the doses recorded since. A dose id at or below
    the mark changed afterwards (made a double entry, or committed late by another process)
    can make the sum off by that many for at most :attr:`SECONDS`; :func:`stock_left` counts
    in full whenever fewer than :data:`EXACT_BELOW` doses would be left, so a refusal never
    rests on it."""

    SECONDS = 60.0

    def __init__(self) -> None:
        self.kept: dict[tuple[int, str], tuple[int, int, float]] = {}

    @classmethod
    def of(cls, conn: Connection) -> _GivenMemo:
        with _MEMOS_LOCK:
            found = _MEMOS.get(conn.engine)
            if found is None:
                found = _MEMOS[conn.engine] = cls()
            return found

    def since(self, pair: tuple[int, str]) -> tuple[int | None, int]:
        """(given up to the mark, the mark) or (None, 0) when nothing fresh is kept."""
        kept = self.kept.get(pair)
        if kept is None or time.monotonic() - kept[2] > self.SECONDS:
            return None, 0
        return kept[0], kept[1]

    def keep(self, pair: tuple[int, str], given: int, mark: int, *, full: bool) -> None:
        """Keep what was counted; a full count starts the minute again."""
        old = self.kept.get(pair)
        born = time.monotonic() if full or old is None else old[2]
        self.kept[pair] = (given, mark, born)


#: one memo per database (engine): the tests run several in one process
_MEMOS: weakref.WeakKeyDictionary[Any, _GivenMemo] = weakref.WeakKeyDictionary()
_MEMOS_LOCK = threading.Lock()


def _count_given(
    conn: Connection, after: dict[tuple[int, str], int]
) -> dict[tuple[int, str], tuple[int, int]]:
    """Per (lot, site): the doses given there with an id above ``after``'s mark (0: all),
    and the highest such id."""
    out = {pair: (0, 0) for pair in after}
    pairs = list(after)
    for start in range(0, len(pairs), _PAIRS_PER_QUERY):
        chunk = pairs[start : start + _PAIRS_PER_QUERY]
        for dose_lot, dose_site, count, last in conn.execute(_given(chunk, after)):
            out[(int(dose_lot), str(dose_site))] = (int(count), int(last or 0))
    return out


#: pairs counted in one statement (SQLite allows 500 terms in a compound select)
_PAIRS_PER_QUERY = 200


def _given(pairs: list[tuple[int, str]], after: dict[tuple[int, str], int]) -> Executable:
    """The doses given per (lot, site) above a dose id: one count per pair, each an equality
    on both columns and a range of ids, so that it reads only those entries of
    ``ix_doses_stock`` (the index alone: the status is in it). A ``(lot, site) IN (...)``
    lets SQLite seek on the lot only and count the lot's doses at every site."""
    counts = [
        select(literal(lot, Integer), literal(site, String), func.count(), func.max(Dose.id)).where(
            Dose.lot_id == lot,
            Dose.site_id == site,
            Dose.id > after[(lot, site)],
            Dose.status != _NOT_A_DOSE_GIVEN,
        )
        for lot, site in pairs
    ]
    return counts[0] if len(counts) == 1 else union_all(*counts)


def balances(
    session: Session, actor: Actor, **narrow: str | None
) -> dict[tuple[int, str], Balance]:
    """Every tracked lot's balance at each site of the caller's area (narrowed by
    ``site_id``, ``ward_code`` or ``province_code``), keyed by (lot id, site id)."""
    sites = select(Site.site_id).where(actor.site_filter(), *_narrowing(narrow))
    found: dict[tuple[int, str], Balance] = {}
    for lot, site, kind, quantity in session.execute(
        select(
            StockMovement.lot_id,
            StockMovement.site_id,
            StockMovement.kind,
            func.sum(StockMovement.quantity),
        )
        .where(StockMovement.site_id.in_(sites))
        .group_by(StockMovement.lot_id, StockMovement.site_id, StockMovement.kind)
    ):
        b = found.setdefault((lot, site), Balance())
        setattr(b, _FIELD[kind], getattr(b, _FIELD[kind]) + int(quantity))
    tracked = select(StockMovement.lot_id).distinct()
    for dose_lot, dose_site, count in session.execute(
        select(Dose.lot_id, Dose.site_id, func.count())
        .where(
            Dose.lot_id.in_(tracked),
            Dose.site_id.in_(sites),
            Dose.status != _NOT_A_DOSE_GIVEN,
        )
        .group_by(Dose.lot_id, Dose.site_id)
    ):
        found.setdefault((int(dose_lot or 0), dose_site), Balance()).administered += int(count)
    return found


def _narrowing(narrow: dict[str, str | None]) -> list[Any]:
    where = []
    if narrow.get("site_id"):
        where.append(Site.site_id == narrow["site_id"])
    if narrow.get("ward_code"):
        where.append(Site.ward_code == narrow["ward_code"])
    if narrow.get("province_code"):
        where.append(Site.province_code == narrow["province_code"])
    return where


@dataclass
class StockRow:
    """One line of the stock table: a lot at a place (a site, a commune or a province)."""

    level: str
    place_code: str
    place_name: str
    product_code: str
    lot_id: int
    lot_number: str
    expiry: date
    balance: Balance = field(default_factory=Balance)

    def as_dict(self, today: date) -> dict[str, Any]:
        b = self.balance
        return {
            "level": self.level,
            "place_code": self.place_code,
            "place_name": self.place_name,
            "product_code": self.product_code,
            "lot_id": self.lot_id,
            "lot_number": self.lot_number,
            "expiry": self.expiry,
            "expired": self.expiry < today,
            "received": b.received,
            "transferred_in": b.transferred_in,
            "transferred_out": b.transferred_out,
            "administered": b.administered,
            "wasted": b.wasted,
            "on_hand": b.on_hand,
        }


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise rule_error(
            "level",
            "unknown_level",
            f"Cấp '{level}' không hợp lệ; chọn site, commune hoặc province",
            f"unknown level '{level}'; one of site, commune, province",
        )


def stock_rows(
    session: Session,
    actor: Actor,
    level: str = "site",
    *,
    site_id: str | None = None,
    ward_code: str | None = None,
    province_code: str | None = None,
) -> list[StockRow]:
    """Stock per lot at each site, commune (ward) or province of the caller's area, by
    place then product, expiry and lot: the API's ``/stock``, its export and the web page."""
    if actor.role not in STAFF:
        raise role_not_allowed(
            "Chỉ cán bộ y tế được xem tồn kho", "only health staff may see the stock"
        )
    _check_level(level)
    found = balances(
        session, actor, site_id=site_id, ward_code=ward_code, province_code=province_code
    )
    if not found:
        return []
    lots = {
        lot.id: lot for lot in session.scalars(select(Lot).where(Lot.id.in_({k[0] for k in found})))
    }
    sites = {
        s.site_id: s
        for s in session.scalars(select(Site).where(Site.site_id.in_({k[1] for k in found})))
    }
    names = _unit_names(session, level, sites.values())
    rows: dict[tuple[str, int], StockRow] = {}
    for (lot_id, site_id_), b in found.items():
        site, lot = sites[site_id_], lots[lot_id]
        code = {
            "site": site.site_id,
            "commune": site.ward_code,
            "province": site.province_code,
        }[level]
        name = site.name if level == "site" else names.get(code, code)
        row = rows.setdefault(
            (code, lot_id),
            StockRow(level, code, name, lot.product_code, lot.id, lot.lot_number, lot.expiry),
        )
        row.balance.add(b)
    return sorted(
        rows.values(), key=lambda r: (r.place_code, r.product_code, r.expiry, r.lot_number)
    )


def _unit_names(session: Session, level: str, sites: Iterable[Site]) -> dict[str, str]:
    if level == "site":
        return {}
    codes = {s.ward_code if level == "commune" else s.province_code for s in sites}
    return dict(
        session.execute(
            select(AdminUnit.code, AdminUnit.name).where(
                AdminUnit.scheme == "2021", AdminUnit.code.in_(codes)
            )
        ).all()
    )


#: the export's columns: key, Vietnamese, English
EXPORT_COLUMNS = (
    ("place_code", "Mã nơi", "Place code"),
    ("place_name", "Tên nơi", "Place name"),
    ("product_code", "Vắc xin", "Product"),
    ("lot_number", "Số lô", "Lot number"),
    ("expiry", "Hạn dùng", "Expiry"),
    ("received", "Nhận", "Received"),
    ("transferred_in", "Chuyển đến", "Transferred in"),
    ("transferred_out", "Chuyển đi", "Transferred out"),
    ("administered", "Đã tiêm", "Administered"),
    ("wasted", "Hủy/hao hụt", "Wasted"),
    ("on_hand", "Tồn kho", "On hand"),
)
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export_stock(rows: list[StockRow], fmt: str, today: date) -> tuple[bytes, str, str]:
    """The stock table as a file: (body, media type, file name); CSV (UTF-8 with a BOM, so
    Excel in Vietnamese locales reads the diacritics) or XLSX, headers in both languages."""
    level = rows[0].level if rows else "site"
    header = [f"{vi} / {en}" for _, vi, en in EXPORT_COLUMNS]
    values = [[r.as_dict(today)[k] for k, _, _ in EXPORT_COLUMNS] for r in rows]
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(header)
        w.writerows(values)
        return ("\ufeff" + buf.getvalue()).encode("utf-8"), CSV_TYPE, f"ton-kho_{level}.csv"
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "stock"
    ws.append(header)
    for v in values:
        ws.append(v)
    for (cell,) in ws.iter_rows(min_row=2, min_col=5, max_col=5):
        cell.number_format = "yyyy-mm-dd"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), XLSX_TYPE, f"ton-kho_{level}.xlsx"


def on_hand(session: Session, lot_id: int, site_id: str) -> int | None:
    """What is left of a lot at a site (None: the lot is not tracked)."""
    return stock_left(session.connection(), [(lot_id, site_id)]).get((lot_id, site_id))


def record_wastage(
    session: Session,
    actor: Actor,
    session_id: int,
    lot_number: str,
    doses: int,
    note: str | None = None,
) -> StockMovement:
    """Doses of a lot lost at a session (an opened vial's doses left unused, a broken vial):
    they leave the session's site's stock. The lot must be the session's product and have
    that much on hand there; the caller commits; audited."""
    if actor.role not in STAFF:
        raise role_not_allowed(
            "Chỉ cán bộ y tế được ghi hao hụt", "only health staff may record wastage"
        )
    vs = session.scalar(
        select(VaccinationSession).where(
            VaccinationSession.id == session_id, actor.session_filter()
        )
    )
    if vs is None:
        raise not_found("session_id", f"buổi tiêm {session_id}", f"session {session_id}")
    lot = session.scalar(
        select(Lot).where(
            Lot.product_code.in_(vs.products or [vs.product_code]), Lot.lot_number == lot_number
        )
    )
    if lot is None:
        raise rule_error(
            "lot_number",
            "unknown_lot",
            f"Lô {lot_number} không phải lô vắc xin {vs.product_code} của buổi tiêm",
            f"lot {lot_number} is not a {vs.product_code} lot (the session's product)",
        )
    check_taking(session, lot, vs.site_id, doses)
    move = StockMovement(
        lot_id=lot.id,
        site_id=vs.site_id,
        kind=WASTED,
        quantity=doses,
        session_id=vs.id,
        user_id=actor.user_id,
        note=note,
    )
    session.add(move)
    session.flush()
    audit(
        session,
        actor,
        "stock.waste",
        "lot",
        lot.id,
        {"lot_number": lot.lot_number, "site_id": vs.site_id, "session_id": vs.id, "doses": doses},
    )
    return move


#: the most doses one movement may carry (a typo of three zeros too many is refused)
MAX_QUANTITY = 1_000_000


def check_quantity(doses: int) -> None:
    if not 1 <= doses <= MAX_QUANTITY:
        raise rule_error(
            "doses",
            "out_of_range",
            f"Số liều phải từ 1 đến {MAX_QUANTITY:,}".replace(",", "."),
            f"the number of doses must be 1 to {MAX_QUANTITY:,}",
        )


def check_taking(session: Session, lot: Lot, site_id: str, doses: int) -> None:
    """Refuse to take ``doses`` of ``lot`` out of a site (a transfer, wastage) when the number
    is out of range or more than is on hand there (an untracked lot has none to take)."""
    check_quantity(doses)
    left = on_hand(session, lot.id, site_id) or 0
    if doses > left:
        raise not_enough(lot.lot_number, site_id, left, doses)


def not_enough(lot_number: str, site_id: str, left: int, wanted: int) -> ServiceError:
    """The 409 of a movement that would take more than is on hand, naming the lot."""
    return rule_error(
        "doses",
        "not_enough_stock",
        f"Lô {lot_number} tại điểm tiêm {site_id} chỉ còn {left} liều, không đủ {wanted}",
        f"lot {lot_number} has only {left} doses left at site {site_id}, not {wanted}",
        status=409,
    )
