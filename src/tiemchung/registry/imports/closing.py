"""How every import of the registry ends: the report's refusals, one audit event, the commit.

The register, backlog and tallies imports (register.py, backlog.py, tallies.py) each stream
their rows, refuse some into a :class:`~tiemchung.registry.imports.rejects.RejectsFile`, and
then close the same way; written once here so the three cannot drift (an import whose audit
event forgot the refusals would hide them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from sqlalchemy.orm import Session

from tiemchung.registry.imports.rejects import RejectsFile
from tiemchung.registry.scope import Actor
from tiemchung.store.audit import audit

#: the audit detail's count names, and the report attribute each one reads
_COUNTS = {
    "read": "rows_read",
    "imported": "rows_imported",
    "skipped": "rows_skipped",
    "rejected": "rows_rejected",
    "reasons": "reasons",
}
#: what an import's audit event counts, unless it says otherwise
ALL_COUNTS = tuple(_COUNTS)


class Counted(Protocol):
    """What an import reports (registry/imports/rejects.py RowsReport and its kin)."""

    rows_read: int
    rows_imported: int
    rows_rejected: int
    rejects_file: str | None
    reasons: dict[str, int]


def close_import(
    session: Session,
    actor: Actor,
    report: Counted,
    rejects: RejectsFile,
    *,
    action: str,
    entity: str,
    entity_id: str,
    where: Mapping[str, str],
    counts: tuple[str, ...] = ALL_COUNTS,
) -> None:
    """Close ``rejects`` into ``report`` (how many rows were refused and why, and the file
    that keeps them, if any), record one ``action`` audit event with ``where`` the rows came
    from and the ``counts``, and commit."""
    report.rows_rejected, report.reasons = rejects.count, rejects.reasons
    report.rejects_file = rejects.close()
    detail: dict[str, Any] = dict(where)
    for name in counts:
        detail[name] = getattr(report, _COUNTS[name])
    audit(session, actor, action, entity, entity_id[-64:], detail)
    session.commit()
