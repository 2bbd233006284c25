"""`tiemchung register pull`: the remote register's changes into the local snapshot.

Page by page from the stored cursor: the persons a page names are upserted set-based
(``register_store.store_persons``: ``Patient`` ``created``/``corrected`` changes, one audit
event) and the page's cursor is stored in the SAME transaction, so a pull stopped anywhere
goes on from the last page it committed and never stores a person twice. Then the stored
doses of the changed persons are checked again (``registry/review/register_recheck``), since
a corrected name or date of birth can make an unverified dose verifiable, or the reverse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tiemchung.registry.people.register_source import RegisterSource
from tiemchung.registry.people.register_store import begin_write, store_persons
from tiemchung.registry.review.register_recheck import recheck_persons
from tiemchung.registry.scope import Actor
from tiemchung.registry.tables.register_pull import RegisterCursor

FEED = "register"


@dataclass
class PullReport:
    """What one pull did; ``changed_pks`` are the persons created or corrected."""

    pages: int = 0
    received: int = 0
    created: int = 0
    corrected: int = 0
    unchanged: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    changed_pks: list[int] = field(default_factory=list)
    cursor: str | None = None
    recheck: Any = None  # the re-check's report, when it ran


def stored_cursor(session: Session, feed: str = FEED) -> str | None:
    """The cursor the last committed page left (``None``: from the beginning)."""
    return session.scalar(select(RegisterCursor.cursor).where(RegisterCursor.name == feed))


def _save_cursor(session: Session, feed: str, cursor: str | None) -> None:
    row = session.get(RegisterCursor, feed)
    if row is None:
        session.add(RegisterCursor(name=feed, cursor=cursor))
    else:
        row.cursor = cursor
    session.flush()


def pull(
    session: Session,
    actor: Actor,
    source: RegisterSource,
    *,
    batch: int = 1000,
    max_pages: int | None = None,
    progress: Callable[[PullReport], None] | None = None,
) -> PullReport:
    """Read ``source.changes_since`` from the stored cursor until it says no ``more`` (or
    ``max_pages``), committing each page with its cursor; then the re-check. Raises
    ``RegisterUnavailable`` when the register cannot answer (the committed pages stay)."""
    report = PullReport(cursor=stored_cursor(session))
    session.commit()  # no transaction open while the register is asked
    while max_pages is None or report.pages < max_pages:
        page = source.changes_since(report.cursor, batch)
        begin_write(session)
        stored = store_persons(
            session, actor, page.persons, source="register", action="register.pull"
        )
        _save_cursor(session, FEED, page.cursor)
        session.commit()
        report.pages += 1
        report.received += len(page.persons) + len(page.rejected)
        report.created += len(stored.created)
        report.corrected += len(stored.corrected)
        report.unchanged += stored.unchanged
        report.rejected += [*page.rejected, *stored.rejected]
        report.changed_pks += stored.changed
        report.cursor = page.cursor
        if progress is not None:
            progress(report)
        if not page.more or not page.persons:
            break
    if report.changed_pks:
        begin_write(session)
        report.recheck = recheck_persons(session, sorted(set(report.changed_pks)), actor=actor)
        session.commit()
    return report
