"""Finding one's way through a worklist: the wards a reviewer may choose, an item's open
neighbours, where to go once an item is decided, and an item's page as a whole.

The web worklist's pages read through these (the API answers one item or one page at a time
and needs none of them). Every query is limited to the items the caller may see
(:func:`tiemchung.registry.review.items.item_filter`), so a neighbour or the next item is
never one of another ward's.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tiemchung.registry.errors import ServiceError, rule_error
from tiemchung.registry.models import ReviewItem
from tiemchung.registry.people.persons import PersonQuery, find_persons
from tiemchung.registry.review import tickets as tk
from tiemchung.registry.review import worklists as wl
from tiemchung.registry.scope import Actor, Role

#: What a register search on an item's page may be given (a PersonQuery field each).
FIND = ("national_id", "full_name", "dob")
#: At most this many register persons answer a search on an item's page.
FOUND_MAX = 10


def wards_with_items(session: Session, actor: Actor) -> list[str]:
    """The wards with items the caller may see (a province's or central's ward choice; a
    commune has its own ward only)."""
    if actor.role is Role.COMMUNE:
        return [actor.ward_code or ""]
    return list(
        session.scalars(
            select(ReviewItem.ward_code)
            .where(wl.item_filter(actor))
            .distinct()
            .order_by(ReviewItem.ward_code)
        )
    )


def worklist_page(
    session: Session, actor: Actor, query: wl.WorklistQuery
) -> tuple[wl.WorklistPage, list[str]]:
    """A page of the worklist and the wards the caller may choose between."""
    return wl.list_items(session, actor, query), wards_with_items(session, actor)


def next_open(session: Session, actor: Actor, after: int, ward_code: str | None) -> int | None:
    """The ward's next open item after ``after`` (wrapping to its first), within the caller's
    area: where a reviewer goes once an item is decided."""
    where = [wl.item_filter(actor), ReviewItem.status == wl.OPEN, ReviewItem.id != after]
    if ward_code:
        where.append(ReviewItem.ward_code == ward_code)
    later = session.scalar(
        select(ReviewItem.id).where(*where, ReviewItem.id > after).order_by(ReviewItem.id).limit(1)
    )
    if later is not None:
        return int(later)
    first = session.scalar(select(ReviewItem.id).where(*where).order_by(ReviewItem.id).limit(1))
    return int(first) if first is not None else None


def neighbours(session: Session, actor: Actor, item_id: int, ward_code: str) -> dict[str, Any]:
    """The previous and next open items of the same ward (j/k on the item page)."""
    base = [
        wl.item_filter(actor),
        ReviewItem.status == wl.OPEN,
        ReviewItem.ward_code == ward_code,
    ]
    prev = session.scalar(
        select(ReviewItem.id)
        .where(*base, ReviewItem.id < item_id)
        .order_by(ReviewItem.id.desc())
        .limit(1)
    )
    nxt = session.scalar(
        select(ReviewItem.id).where(*base, ReviewItem.id > item_id).order_by(ReviewItem.id).limit(1)
    )
    return {"prev_id": prev, "next_id": nxt}


def find_for_item(session: Session, actor: Actor, find: dict[str, str]) -> list[dict[str, Any]]:
    """The register persons of the caller's area matching a search typed on an item's page
    (an ID number, or a full name with or without a date of birth), at most FOUND_MAX."""
    if not (find.get("national_id") or find.get("full_name")):
        raise rule_error(
            "national_id",
            "search_needs_id_or_name",
            "Nhập số định danh, hoặc họ tên (và ngày sinh) để tìm",
            "type an ID number, or a full name (and date of birth) to search",
        )
    query = PersonQuery(**{f: find.get(f) for f in FIND})
    rows, _total = find_persons(session, actor, query, limit=FOUND_MAX)
    return [
        {c: getattr(p, c) for c in ("person_id", "full_name", "national_id", "dob", "sex")}
        | {"ward_code": p.ward_code}
        for p in rows
    ]


def item_page(
    session: Session, actor: Actor, item_id: int, find: dict[str, str] | None
) -> dict[str, Any]:
    """One item as its page shows it: the item, its open neighbours, the citizen's report
    (a ticket's item), and — with ``find`` — the register persons found or why the search
    could not run (``find_error``: said next to the search, not instead of the page).
    Raises ``ServiceError`` (404) for an item the caller may not see."""
    item = wl.get_item(session, actor, item_id)
    around = neighbours(session, actor, item_id, item["ward_code"])
    ticket = tk.item_ticket(session, item_id) if item["kind"] == "ticket" else None
    found: list[dict[str, Any]] | None = None
    find_error: ServiceError | None = None
    if find is not None:
        try:
            found = find_for_item(session, actor, find)
        except ServiceError as exc:  # a malformed ID or date
            find_error = exc
    return {"item": item, "ticket": ticket, "found": found, "find_error": find_error, **around}


def after_refusal(
    session: Session, actor: Actor, item_id: int
) -> tuple[dict[str, Any] | None, int | None]:
    """The item as it stands now and the ward's next open item, after a decision on it was
    refused (someone decided first); (None, None) when the caller can no longer see it."""
    try:
        item = wl.get_item(session, actor, item_id)
    except ServiceError:
        return None, None
    return item, next_open(session, actor, item_id, item["ward_code"])


def after_decision(session: Session, actor: Actor, item_id: int) -> tuple[int | None, str, str]:
    """Where to go once ``item_id`` (just decided by the caller) is done: the ward's next open
    item, the item's ward (``""`` if gone) and its kind (``""`` if gone)."""
    row = session.execute(
        select(ReviewItem.ward_code, ReviewItem.kind).where(ReviewItem.id == item_id)
    ).first()
    ward, kind = (row[0], row[1]) if row is not None else (None, "")
    return next_open(session, actor, item_id, ward), ward or "", kind
