"""The shape every statistic is returned in: a titled table of typed columns.

One shape for the page (tables beside the charts), the JSON API and the CSV/XLSX exports, so
an exported file says exactly what the page shows, with bilingual headers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

Kind = Literal["text", "int", "pct", "date"]


@dataclass(frozen=True)
class Column:
    key: str
    vi: str
    en: str
    kind: Kind = "int"


@dataclass
class Table:
    name: str
    vi: str
    en: str
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    note_vi: str = ""
    note_en: str = ""
    truncated: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": {"vi": self.vi, "en": self.en},
            "note": {"vi": self.note_vi, "en": self.note_en},
            "columns": [
                {"key": c.key, "vi": c.vi, "en": c.en, "kind": c.kind} for c in self.columns
            ],
            "rows": [
                {k: (v.isoformat() if isinstance(v, date) else v) for k, v in r.items()}
                for r in self.rows
            ],
            "truncated": self.truncated,
        }


def pct(part: int | None, whole: int | None) -> float | None:
    """``part`` of ``whole`` in percent to one decimal; None when there is no whole."""
    if not whole or part is None:
        return None
    return round(100.0 * part / whole, 1)
