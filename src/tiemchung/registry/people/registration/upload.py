"""An organisation's file (XLSX, CSV, Parquet) into registrant rows, through a column mapping.

The reading is the backlog import's (``registry/imports/legacy.py``): ``read_sheets`` finds
each sheet's header (title rows above it, two rows under merged cells, TCVN3/VNI repaired),
``guess_columns`` maps Vietnamese headers; the mapping given here adds a list's own columns
(priority group, underlying condition) and the user's ``--map`` file. Legacy-encoded cells
are repaired with ``identity.repair_encoding``. A sheet with no header is not dropped: each
non-empty row comes back with the reason, so the check stores it ``rejected``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from tiemchung.identity import repair_encoding
from tiemchung.registry.imports.legacy import ColumnMap, LegacyFileError, Sheet, read_sheets
from tiemchung.registry.people.registration.checking import ROW_COLUMNS
from tiemchung.registry.people.registration.registrations import MAX_BATCH, submit_rows
from tiemchung.registry.scope import Actor

#: a list's headers beyond the backlog's guesses (compared without case or diacritics)
LIST_HEADERS: dict[str, str] = {
    **dict.fromkeys(
        ("Nhóm ưu tiên", "Đối tượng ưu tiên", "Nhóm đối tượng", "Mã nhóm", "priority_group"),
        "priority_group",
    ),
    **dict.fromkeys(
        ("Bệnh nền", "Có bệnh nền", "Bệnh lý nền", "underlying_condition"), "underlying_condition"
    ),
}
NO_HEADER = "no_header"


class MappingError(ValueError):
    """A ``--map`` file that cannot be used; ``str()`` is bilingual."""


def load_list_mapping(path: Path) -> dict[str, str]:
    """A ``--map`` TOML file's ``[columns]`` (header = column); an unknown column is refused
    by name with the list of those allowed."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MappingError(
            f"{path}: không đọc được tệp ánh xạ / cannot read the map ({exc})"
        ) from exc
    columns = {str(k): str(v) for k, v in dict(data.get("columns", {})).items()}
    for header, col in columns.items():
        if col not in ROW_COLUMNS:
            raise MappingError(
                f"{path} [columns] '{header}' = '{col}': không có cột này / no such column; "
                f"columns: {', '.join(ROW_COLUMNS)}"
            )
    return columns


@dataclass(frozen=True)
class ListRow:
    row_number: int
    values: dict[str, Any]


def _cell(value: Any, column: str) -> str | None:
    """A cell as the text the organisation typed: a date as ISO, ``2.0`` as ``2``, an ID or
    phone Excel kept as a number with its leading zeros back."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    if not isinstance(value, str):
        if text.endswith(".0"):
            text = text[:-2]
        if text.isdigit() and column == "national_id":
            text = text.zfill(9) if len(text) <= 9 else text.zfill(12)
        elif text.isdigit() and column == "phone" and len(text) == 9:
            text = "0" + text
    return text or None


def _repaired(row: dict[str, str | None], seen: dict[str, list[str]]) -> dict[str, str]:
    """The row's cells in Unicode, repaired as one text: a short cell alone may read as
    Vietnamese in its legacy encoding too (TCVN3 "có" is "cã"); its neighbours decide, as
    ``legacy.repair_header`` does for a header. ``seen`` remembers the answers: a list
    repeats its names and yes/no cells, and the repair is a scoring of every reading."""
    cells = {k: v for k, v in row.items() if v is not None}
    odd = [k for k, v in cells.items() if not v.isascii()]
    if not odd:
        return cells
    text = " | ".join(cells[k] for k in odd)
    fixed = seen.get(text)
    if fixed is None:
        joined = repair_encoding(text).split(" | ")
        fixed = joined if len(joined) == len(odd) else [repair_encoding(cells[k]) for k in odd]
        if len(seen) > 200_000:
            seen.clear()
        seen[text] = fixed
    return cells | dict(zip(odd, fixed, strict=True))


def read_list(path: Path, columns: Mapping[str, str] | None = None) -> Iterator[ListRow]:
    """Every non-empty row of every sheet, numbered as in the file (a second sheet's rows
    go on from the first's count, so each row has one number in the organisation's view).
    Raises :class:`LegacyFileError` (bilingual) for a file that cannot be read at all."""
    mapping = ColumnMap(columns=dict(LIST_HEADERS) | dict(columns or {}))
    offset = 0
    seen: dict[str, list[str]] = {}
    for sheet in read_sheets(path, mapping):
        last = 0
        if not isinstance(sheet, Sheet):
            _name, rows = sheet
            for n, cells in rows:
                last = n
                texts = [str(c).strip() for c in cells if c is not None and str(c).strip()]
                if texts:
                    yield ListRow(offset + n, {"cells": texts, "_problem": NO_HEADER})
            offset += last
            continue
        pairs = [(i, c) for i, c in sheet.columns.items() if c in ROW_COLUMNS]
        for n, cells in sheet.rows:
            last = n
            row = {c: _cell(cells[i] if i < len(cells) else None, c) for i, c in pairs}
            if any(v is not None for v in row.values()):
                yield ListRow(offset + n, _repaired(row, seen))
        offset += last


@dataclass
class ImportSummary:
    """What a file's import did: its batches (each committed on its own), rows per result."""

    batches: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    registrations_new: int = 0
    registrations_joined: int = 0


def import_list(
    sessions: Callable[[], Session],
    actor: Actor,
    organisation_id: int,
    path: Path,
    columns: Mapping[str, str] | None = None,
    *,
    batch_rows: int = MAX_BATCH,
) -> ImportSummary:
    """An organisation's file, in batches of at most :data:`MAX_BATCH` rows, each checked,
    stored and committed on its own (``submit_rows``): a file of 100,000 rows is ten
    batches, and a failure midway keeps the batches before it. ``tiemchung registrations
    import`` and the upload page call this."""
    summary = ImportSummary()
    for chunk in batches(read_list(path, columns), batch_rows):
        with sessions() as s:
            report = submit_rows(
                s,
                actor,
                [r.values for r in chunk],
                organisation_id=organisation_id,
                row_numbers=[r.row_number for r in chunk],
            )
            s.commit()
        summary.batches.append(report.batch)
        summary.rows += len(chunk)
        summary.registrations_new += report.registrations_new
        summary.registrations_joined += report.registrations_joined
        for k, v in report.counts.items():
            summary.counts[k] = summary.counts.get(k, 0) + v
    return summary


def batches(rows: Iterator[ListRow], size: int) -> Iterator[Sequence[ListRow]]:
    chunk: list[ListRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


__all__ = [
    "LegacyFileError",
    "ListRow",
    "MappingError",
    "batches",
    "load_list_mapping",
    "read_list",
]
