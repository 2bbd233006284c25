"""The two inputs (dose records, register snapshot): formats, column mappings and the checks
that run before any work starts.

Files are CSV, Parquet or XLSX with the canonical column names, or any names through a mapping
TOML file like the register import's::

    [columns]              # applies to both files
    full_name = "Họ và tên"
    [records.columns]      # only the records file
    national_id = "Số CCCD/CMND"
    [register.columns]     # only the register file
    person_id = "ma_dinh_danh"

A ``[columns]`` entry is used for each file that has the named column; one that no file has
is an error, and so is a per-file entry that its file lacks. Every problem names the file,
the column and what was expected, and is raised by :func:`inspect_input` before anything is
read in full.
"""

from __future__ import annotations

import csv
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from tiemchung.columns import RECORD_COLUMNS, REGISTER_COLUMNS

from .errors import ReconcileInputError

Role = Literal["records", "register"]

COLUMNS: dict[Role, tuple[str, ...]] = {"records": RECORD_COLUMNS, "register": REGISTER_COLUMNS}
KEY: dict[Role, str] = {"records": "record_id", "register": "person_id"}
#: Identity columns compared between a record and a register person; any subset may be present.
IDENTITY = ("national_id", "full_name", "dob", "sex", "ward_code", "phone")
FORMATS = (".csv", ".txt", ".parquet", ".xlsx")


@dataclass(frozen=True)
class ColumnMapping:
    """Column mapping read from a TOML file: shared and per-file ``canonical -> source``."""

    path: Path | None = None
    shared: dict[str, str] = field(default_factory=dict)
    per_file: dict[Role, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class InputSpec:
    """One input after inspection: its format and which file column holds each canonical one.

    ``header_row`` is the 1-based row of an XLSX sheet that holds the column names (legacy
    spreadsheets put a title above the table).
    """

    role: Role
    path: Path
    fmt: str
    columns: dict[str, str]
    file_columns: tuple[str, ...]
    header_row: int = 1

    def has(self, canonical: str) -> bool:
        return canonical in self.columns


def read_mapping(path: Path | None) -> ColumnMapping:
    """Read a mapping TOML file; errors name the file and what was expected."""
    if path is None:
        return ColumnMapping()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ReconcileInputError(f"{path}: cannot read the mapping ({exc})") from exc

    def table(value: Any, where: str) -> dict[str, str]:
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise ReconcileInputError(
                f'{path}: expected a [{where}] table of canonical = "file column" pairs'
            )
        return dict(value)

    shared = table(data.get("columns", {}), "columns")
    per_file: dict[Role, dict[str, str]] = {}
    for role in ("records", "register"):
        sub = data.get(role)
        if sub is not None:
            per_file[role] = table(
                sub.get("columns", {}) if isinstance(sub, dict) else sub, f"{role}.columns"
            )
    known = {"columns", "records", "register"}
    if "columns" not in data and not per_file and data:
        shared = table(data, "columns")  # a bare table of pairs, as the register import allows
    elif set(data) - known:
        raise ReconcileInputError(
            f"{path}: unknown table(s) {sorted(set(data) - known)}; expected [columns], "
            "[records.columns] or [register.columns]"
        )
    for where, pairs in [("columns", shared), *[(f"{r}.columns", p) for r, p in per_file.items()]]:
        allowed = set(RECORD_COLUMNS) | set(REGISTER_COLUMNS)
        if where != "columns":
            allowed = set(COLUMNS[where.split(".")[0]])  # type: ignore[index]
        unknown = sorted(set(pairs) - allowed)
        if unknown:
            raise ReconcileInputError(
                f"{path}: [{where}] names unknown canonical column(s) {unknown}; expected some "
                f"of {sorted(allowed)}"
            )
    return ColumnMapping(Path(path), shared, per_file)


def _xlsx_rows(path: Path, limit: int | None = None) -> list[tuple[Any, ...]]:
    from tiemchung.workbooks import open_workbook

    wb = open_workbook(path)
    try:
        ws = wb.worksheets[0]
        rows = []
        for i, row in enumerate(ws.iter_rows(values_only=True)):
            if limit is not None and i >= limit:
                break
            rows.append(row)
        return rows
    finally:
        wb.close()


def _cell_text(value: Any) -> str | None:
    """A spreadsheet cell as the text a person typed: integers without ``.0``, dates ISO."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    return text if text.strip() else None


def _header(path: Path, fmt: str, wanted: set[str]) -> tuple[tuple[str, ...], int]:
    """The file's column names (and, for XLSX, the row that holds them)."""
    if fmt == ".parquet":
        import pyarrow.parquet as pq

        return tuple(pq.ParquetFile(path).schema_arrow.names), 1
    if fmt in (".csv", ".txt"):
        with path.open(encoding="utf-8-sig", newline="") as fh:
            return tuple(next(csv.reader(fh), [])), 1
    rows = _xlsx_rows(path, limit=30)
    best: tuple[str, ...] = ()
    best_row = 1
    for i, row in enumerate(rows, start=1):
        names = tuple("" if c is None else str(c).strip() for c in row)
        hits = len(wanted & set(names))
        if hits > len(wanted & set(best)):
            best, best_row = names, i
    if not best and rows:
        best = tuple("" if c is None else str(c).strip() for c in rows[0])
    return best, best_row


def inspect_input(path: Path | str, role: Role, mapping: ColumnMapping | None = None) -> InputSpec:
    """Check one input before any work: readable, a known format, every mapped column present,
    the key column present and at least one identity column. Returns where each canonical
    column comes from."""
    path = Path(path)
    mapping = mapping or ColumnMapping()
    label = "dose records" if role == "records" else "register"
    if not path.is_file():
        raise ReconcileInputError(f"{path}: no such file (the {label} file; không tìm thấy tệp)")
    fmt = path.suffix.lower()
    if fmt not in FORMATS:
        raise ReconcileInputError(
            f"{path}: unsupported format '{fmt}' for the {label}; expected .csv, .parquet or .xlsx"
        )
    own = mapping.per_file.get(role, {})
    wanted = set(COLUMNS[role]) | set(own.values()) | set(mapping.shared.values())
    try:
        names, header_row = _header(path, fmt, wanted)
    except Exception as exc:  # any reader failure is the same problem for the user
        raise ReconcileInputError(f"{path}: cannot be read as {fmt[1:]} ({exc})") from exc
    if not names:
        raise ReconcileInputError(f"{path}: the file is empty; expected a header row")
    present = set(names)
    cols: dict[str, str] = {}
    for canonical in COLUMNS[role]:
        if canonical in own:
            source = own[canonical]
            if source not in present:
                raise ReconcileInputError(
                    f"{path}: the mapping {mapping.path} sends '{canonical}' to column "
                    f"'{source}', which the {label} file does not have (its columns: "
                    f"{list(names)})"
                )
            cols[canonical] = source
        elif canonical in mapping.shared and mapping.shared[canonical] in present:
            cols[canonical] = mapping.shared[canonical]
        elif canonical in present:
            cols[canonical] = canonical
    key = KEY[role]
    if key not in cols:
        raise ReconcileInputError(
            f"{path}: required column '{key}' missing from the {label} (thiếu cột bắt buộc); "
            f"the file has {list(names)}; map another name with --map"
        )
    if not any(c in cols for c in ("national_id", "full_name", "dob")):
        raise ReconcileInputError(
            f"{path}: the {label} has no identity column; expected at least one of "
            f"national_id, full_name, dob (the file has {list(names)})"
        )
    return InputSpec(role, path, fmt, cols, tuple(names), header_row)


def check_shared_mapping(mapping: ColumnMapping, specs: list[InputSpec]) -> None:
    """A ``[columns]`` entry must name a column of at least one input."""
    for canonical, source in mapping.shared.items():
        if not any(source in s.file_columns for s in specs):
            files = ", ".join(str(s.path) for s in specs)
            raise ReconcileInputError(
                f"{mapping.path}: [columns] sends '{canonical}' to column '{source}', which "
                f"neither input has ({files})"
            )


def xlsx_table(spec: InputSpec) -> pa.Table:
    """Read the mapped columns of an XLSX sheet as text, keeping every data row."""
    rows = _xlsx_rows(spec.path)
    header = ["" if c is None else str(c).strip() for c in rows[spec.header_row - 1]]
    index = {name: i for i, name in enumerate(header)}
    data: dict[str, list[str | None]] = {c: [] for c in spec.columns}
    for row in rows[spec.header_row :]:
        if all(v is None or str(v).strip() == "" for v in row):
            continue
        for canonical, source in spec.columns.items():
            i = index[source]
            data[canonical].append(_cell_text(row[i]) if i < len(row) else None)
    return pa.table({c: pa.array(v, pa.string()) for c, v in data.items()})
