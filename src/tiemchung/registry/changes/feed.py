"""The change feed partners read by cursor (issue 19 point 3): ``GET /api/v1/changes``,
``tiemchung changes list`` and, later, the partner clients' tokens all call
:func:`read_changes`.

The contract (docs/changes.md): the changes after ``after`` in ``seq`` order, at most
``limit``; ``next`` is the cursor to send next time (the last ``seq`` of the page, or
``after`` itself when nothing is new). ``seq`` grows in commit order
(``registry/changes/log.py``), so a reader that moves its cursor never skips a committed
change. Delivery is at least once: a partner that loses its place reads some changes again,
and a change says only *that* a resource changed, so the partner re-reads the resource at its
FHIR URL and always gets its state now.

Scope, as ``registry/scope.py`` gives ``/api/v1`` its areas: central reads every change, a
province its province's, a commune its ward's (the area of the dose, or of the register
person, when the change was written). A site, a citizen or an organisation reads none: a
site's own system learns of its doses from ``POST /doses``' answers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from tiemchung.registry.errors import role_not_allowed, rule_error
from tiemchung.registry.scope import Actor, Role
from tiemchung.registry.tables.changes import ChangeEntry
from tiemchung.store.audit import audit

DEFAULT_LIMIT = 500
MAX_LIMIT = 5_000
#: the largest ``seq`` (a signed 64-bit column)
MAX_SEQ = 2**63 - 1
#: where a partner re-reads a resource (``api/routes/fhir.PREFIX``; a test keeps them equal)
FHIR_BASE = "/fhir/R4"


@dataclass(frozen=True)
class ChangeOut:
    """One change as partners read it."""

    seq: int
    at: datetime
    resource: str
    id: str
    action: str
    url: str


@dataclass(frozen=True)
class ChangePage:
    changes: list[ChangeOut]
    #: the cursor for the next call: the last seq here, or ``after`` when nothing is new
    next: int
    #: True when more changes wait after ``next`` (ask again at once)
    more: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _utc(at: datetime) -> datetime:
    """``at`` with its zone: SQLite gives back the UTC instant it stored without one."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def feed_filter(actor: Actor) -> ColumnElement[bool]:
    """The changes ``actor`` may read; a 403 for a role that reads none."""
    match actor.role:
        case Role.CENTRAL:
            return true()
        case Role.PROVINCE:
            return ChangeEntry.province_code == actor.province_code
        case Role.COMMUNE:
            return ChangeEntry.ward_code == actor.ward_code
    raise role_not_allowed(
        "Chỉ trung ương, tỉnh hoặc xã được đọc nguồn thay đổi",
        "only central, province or commune users may read the change feed",
    )


def check_cursor(after: int, limit: int) -> None:
    """Refuse a cursor or a page size out of range, naming the parameter."""
    if not 0 <= after <= MAX_SEQ:
        raise rule_error(
            "after",
            "out_of_range",
            f"after phải là một số seq từ 0 đến {MAX_SEQ} (nhận {after})",
            f"after must be a seq number from 0 to {MAX_SEQ} (got {after})",
        )
    if not 1 <= limit <= MAX_LIMIT:
        raise rule_error(
            "limit",
            "out_of_range",
            f"limit phải từ 1 đến {MAX_LIMIT:,} (nhận {limit})",
            f"limit must be 1 to {MAX_LIMIT:,} (got {limit})",
        )


def read_changes(
    session: Session, actor: Actor, *, after: int = 0, limit: int = DEFAULT_LIMIT
) -> ChangePage:
    """The page of changes after ``after`` that ``actor`` may read, and one ``changes.read``
    audit event for it (in ``session``: the caller commits)."""
    check_cursor(after, limit)
    where = feed_filter(actor)
    rows = session.execute(
        select(
            ChangeEntry.seq,
            ChangeEntry.at,
            ChangeEntry.resource,
            ChangeEntry.resource_id,
            ChangeEntry.action,
        )
        .where(ChangeEntry.seq > after, where)
        .order_by(ChangeEntry.seq)
        .limit(limit + 1)
    ).all()
    more = len(rows) > limit
    changes = [
        ChangeOut(seq, _utc(at), resource, rid, action, f"{FHIR_BASE}/{resource}/{rid}")
        for seq, at, resource, rid, action in rows[:limit]
    ]
    page = ChangePage(changes, changes[-1].seq if changes else after, more)
    detail = {"after": after, "next": page.next, "count": len(changes)}
    audit(session, actor, "changes.read", "changes", None, detail)
    return page
