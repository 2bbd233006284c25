"""Rows an import cannot store, kept whole with their line number and the reason.

Every import of the registry (register snapshots, the dose backlog, site tallies) writes its
refused rows here rather than dropping them; the file disappears when nothing was refused.
The row-level pieces the imports share live here too: :class:`RowRejectedError` (why one row is
refused), :class:`RowsReport` (what an import did) and :func:`cell_text`.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any


class RowRejectedError(Exception):
    """One row cannot be stored; ``key`` (``field:rule``) is what the report counts."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass
class RowsReport:
    """What a row-by-row import did: every row read is imported, skipped or rejected."""

    source: str
    rows_read: int = 0
    rows_imported: int = 0
    rows_skipped: int = 0  # already stored with the same content (a re-import)
    rows_rejected: int = 0
    rejects_file: str | None = None
    reasons: dict[str, int] = field(default_factory=dict)


def cell_text(raw: Mapping[str, Any], key: str) -> str | None:
    """A cell as stripped text; blank and missing are both None."""
    value = raw.get(key)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


class RejectsFile:
    """A CSV of refused rows: ``row, reason, <the file's own columns>``."""

    def __init__(self, path: Path, columns: Sequence[str]) -> None:
        self.path = Path(path)
        self.columns = list(columns)
        self.count = 0
        self.reasons: dict[str, int] = {}
        self._fh = self.path.open("w", encoding="utf-8", newline="")
        self._csv = csv.writer(self._fh)
        self._csv.writerow(["row", "reason", *self.columns])

    def add(self, row: int, key: str, reason: str, raw: Mapping[str, Any]) -> None:
        """Keep ``raw`` with its line number; ``key`` (``field:rule``) is counted."""
        self._csv.writerow([row, reason, *(raw.get(c) for c in self.columns)])
        self.count += 1
        self.reasons[key] = self.reasons.get(key, 0) + 1

    def close(self) -> str | None:
        """The file's path when rows were refused; otherwise the empty file is removed."""
        self._fh.close()
        if self.count:
            return str(self.path)
        self.path.unlink(missing_ok=True)
        return None

    def __enter__(self) -> RejectsFile:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if not self._fh.closed:
            self._fh.close()
