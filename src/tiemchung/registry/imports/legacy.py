"""Old spreadsheets of the sites (CSV, XLSX, Parquet) into the backlog import (issue 17 point 3).

A site's file is not in the canonical columns: its headers are Vietnamese ("Họ và tên", "Ngày
sinh", "Số CCCD", "Loại vắc xin", "Mũi", "Ngày tiêm"...), sometimes in TCVN3 or VNI, below a
title ("DANH SÁCH TIÊM CHỦNG..."), sometimes on two rows under a merged cell ("Thông tin mũi
tiêm" over "Mũi" and "Ngày tiêm"), in several sheets. This module finds each sheet's header,
maps its columns to ``RECORD_COLUMNS`` (:func:`guess_columns`, or the user's ``--map`` file),
repairs legacy encodings (``identity.repair_encoding``) and hands the rows, each with its file,
sheet and row number, to ``backlog.store_dose_rows``: the row rules and the storing stay there.

A row with no ``record_id`` column gets a fingerprint of its content as its record id, so the
same file imported again stores nothing twice. A sheet whose header cannot be found is not
dropped: each of its non-empty rows is refused with that reason.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from tiemchung.columns import RECORD_COLUMNS
from tiemchung.identity import repair_encoding
from tiemchung.registry.imports.backlog import BATCH_ROWS, BacklogReport, store_dose_rows
from tiemchung.registry.imports.rejects import RejectsFile
from tiemchung.registry.imports.synonyms import vaccine_key
from tiemchung.registry.scope import Actor
from tiemchung.vaccines import BY_CODE
from tiemchung.workbooks import WorkbookError, open_workbook

#: header as people write it (compared by ``vaccine_key``: no case, diacritics, spaces) -> column
HEADER_GUESSES: dict[str, str] = {
    **dict.fromkeys(("Mã bản ghi", "Mã hồ sơ", "Mã mũi tiêm", "record_id"), "record_id"),
    **dict.fromkeys(
        (
            "Số CCCD",
            "CCCD",
            "Số CMND",
            "CMND",
            "CMND/CCCD",
            "Số CMND/CCCD",
            "Số định danh",
            "Số định danh cá nhân",
            "national_id",
        ),
        "national_id",
    ),
    **dict.fromkeys(("Họ và tên", "Họ tên", "Tên", "full_name"), "full_name"),
    **dict.fromkeys(("Ngày sinh", "Năm sinh", "Ngày tháng năm sinh", "dob"), "dob"),
    **dict.fromkeys(("Giới tính", "Giới", "sex"), "sex"),
    **dict.fromkeys(("Số điện thoại", "Điện thoại", "SĐT", "SDT", "phone"), "phone"),
    **dict.fromkeys(("Mã xã", "Mã phường xã", "Mã phường/xã", "ward_code"), "ward_code"),
    **dict.fromkeys(("Địa chỉ", "Nơi ở", "Địa chỉ thường trú", "address"), "address"),
    **dict.fromkeys(
        ("Loại vắc xin", "Tên vắc xin", "Vắc xin", "Loại vaccine", "Vaccine", "vaccine"),
        "vaccine",
    ),
    **dict.fromkeys(("Mũi", "Mũi số", "Mũi tiêm", "Mũi thứ", "dose_number"), "dose_number"),
    **dict.fromkeys(("Ngày tiêm", "Ngày tiêm chủng", "dose_date"), "dose_date"),
    **dict.fromkeys(("Mã điểm tiêm", "Điểm tiêm", "Mã cơ sở tiêm", "site_id"), "site_id"),
}
_GUESS = {vaccine_key(k): v for k, v in HEADER_GUESSES.items()}
#: a row is the header when it names at least this many columns
_MIN_HEADER = 3
#: how far down a sheet its header may be (title rows above it)
_HEADER_SEARCH_ROWS = 20
#: rows per chunk handed to the store (one look-up of stored rows each; the store commits per
#: burst of ``backlog.COMMIT_ROWS``): larger than the canonical import's 5,000 rows
CHUNK_ROWS = 25_000
#: the columns whose text may be in a legacy encoding
_TEXT = ("full_name", "address", "vaccine", "sex")
#: the columns a row's fingerprint is made of (all but record_id)
_PRINT = tuple(c for c in RECORD_COLUMNS if c != "record_id")
REJECT_COLUMNS = ("file", "sheet", *RECORD_COLUMNS, "original")


class LegacyFileError(Exception):
    """A file or mapping that cannot be used at all; ``str()`` is bilingual."""


@dataclass
class ColumnMap:
    """The ``--map`` file: ``[columns]`` header -> column, ``[vaccines]`` typed name -> code."""

    columns: dict[str, str] = field(default_factory=dict)
    vaccines: dict[str, str] = field(default_factory=dict)


def load_mapping(path: Path) -> ColumnMap:
    """Read a ``--map`` TOML file; an unknown column or product code is refused by name."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise LegacyFileError(
            f"{path}: không đọc được tệp ánh xạ / cannot read the mapping ({exc})"
        ) from exc
    columns = {str(k): str(v) for k, v in dict(data.get("columns", {})).items()}
    vaccines = {str(k): str(v) for k, v in dict(data.get("vaccines", {})).items()}
    for header, col in columns.items():
        if col not in RECORD_COLUMNS:
            raise LegacyFileError(
                f"{path} [columns] '{header}' = '{col}': không có cột này / no such column; "
                f"columns: {', '.join(RECORD_COLUMNS)}"
            )
    for typed, code in vaccines.items():
        if code not in BY_CODE:
            raise LegacyFileError(
                f"{path} [vaccines] '{typed}' = '{code}': không có vắc xin này / no such "
                f"product; products: {', '.join(BY_CODE)}"
            )
    return ColumnMap(columns, vaccines)


def repair_header(headers: Sequence[str | None]) -> list[str | None]:
    """A header row's cells in Unicode. Repaired as one text: a short cell alone may read
    as Vietnamese in its legacy encoding too (TCVN3 "Mũi" is the syllable "Mòi"); its
    neighbours decide."""
    cells = [None if h is None else str(h).strip() or None for h in headers]
    texts = [c for c in cells if c is not None]
    if all(t.isascii() for t in texts):
        return cells
    joined = repair_encoding(" | ".join(texts)).split(" | ")
    fixed = iter(joined if len(joined) == len(texts) else map(repair_encoding, texts))
    return [None if c is None else next(fixed) for c in cells]


def guess_columns(
    headers: Sequence[str | None], mapping: ColumnMap | None = None
) -> dict[int, str]:
    """Column index -> canonical column for a header row: the mapping's names first, then
    :data:`HEADER_GUESSES`; a column named twice keeps its first header."""
    own = {vaccine_key(k): v for k, v in (mapping.columns if mapping else {}).items()}
    found: dict[int, str] = {}
    for i, head in enumerate(repair_header(headers)):
        if head is None:
            continue
        key = vaccine_key(head)
        col = own.get(key) or _GUESS.get(key)
        if col is not None and col not in found.values():
            found[i] = col
    return found


def mapping_toml(headers: Sequence[str | None], found: Mapping[int, str]) -> str:
    """The guess as a ``--map`` file the user can save and edit."""
    lines = ["[columns]"]
    fixed = repair_header(headers)
    for i, col in sorted(found.items()):
        lines.append(f'{json.dumps(fixed[i], ensure_ascii=False)} = "{col}"')
    return "\n".join(lines) + "\n"


@dataclass
class Sheet:
    """One table of a file: its name, the header's cells and the rows below with numbers."""

    name: str
    header: list[str | None]
    header_row: int
    rows: Iterator[tuple[int, Sequence[Any]]]
    columns: dict[int, str]


def _header(
    top: list[tuple[int, Sequence[Any]]], mapping: ColumnMap | None
) -> tuple[int, list[str | None], dict[int, str]] | None:
    """The header within the first rows: the row naming the most columns; a row just above or
    below naming some too is a two-level header (merged cells): each column takes the lower
    row's name, or the upper's where the lower is empty."""
    best, best_n = -1, 0
    for i, (_n, cells) in enumerate(top):
        n = len(guess_columns([_text(c) for c in cells], mapping))
        if n > best_n:
            best, best_n = i, n
    if best < 0 or best_n < _MIN_HEADER:
        return None
    band = [best]
    for j in (best - 1, best + 1):
        if 0 <= j < len(top) and guess_columns([_text(c) for c in top[j][1]], mapping):
            band.append(j)
    band.sort()
    width = max(len(top[j][1]) for j in band)
    header: list[str | None] = [None] * width
    for j in band:
        for k, cell in enumerate(top[j][1]):
            text = _text(cell)
            if text is not None:
                header[k] = text
    return band[-1], header, guess_columns(header, mapping)


def _text(cell: Any) -> str | None:
    if cell is None:
        return None
    text = str(cell).strip()
    return text or None


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """A CSV's rows numbered from 1. A file that is UTF-8 throughout (with or without BOM) is
    read as such; any other is decoded line by line: a line that is UTF-8 as UTF-8, else its
    bytes as Latin-1 — how a TCVN3 or VNI line's 8-bit text reaches ``repair_encoding``. (A
    sheet kept for years mixes them: headers retyped in Unicode over rows typed in TCVN3;
    reading the whole file as Latin-1 garbled the Unicode headers beyond repair.)"""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as fh:
        try:
            while chunk := fh.read(1 << 24):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            with path.open("rb") as raw:
                yield from enumerate(csv.reader(_lines_each_decoded(raw)), start=1)
            return
    with path.open(encoding="utf-8-sig", newline="") as text:
        yield from enumerate(csv.reader(text), start=1)


def _lines_each_decoded(raw: Iterator[bytes]) -> Iterator[str]:
    """Each line of a mixed file as UTF-8 when it is, else as Latin-1 (line ends kept, so the
    CSV reader still joins a quoted cell that runs over two lines)."""
    for n, line in enumerate(raw):
        if n == 0 and line.startswith(codecs.BOM_UTF8):
            line = line[len(codecs.BOM_UTF8) :]
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError:
            yield line.decode("latin-1")


def _xlsx_sheets(path: Path) -> Iterator[tuple[str, Iterator[tuple[int, Sequence[Any]]]]]:
    try:
        book = open_workbook(path)
    except WorkbookError as exc:
        raise LegacyFileError(f"{path.name}: {exc}") from None
    try:
        for ws in book.worksheets:
            yield ws.title, enumerate(ws.iter_rows(values_only=True), start=1)
    finally:
        book.close()


def _parquet_sheets(path: Path) -> Iterator[tuple[str, Iterator[tuple[int, Sequence[Any]]]]]:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)

    def rows() -> Iterator[tuple[int, Sequence[Any]]]:
        yield 1, pf.schema_arrow.names
        n = 1
        for batch in pf.iter_batches(batch_size=BATCH_ROWS):
            for values in zip(*(c.to_pylist() for c in batch.columns), strict=True):
                n += 1
                yield n, values

    yield "", rows()


def read_sheets(
    path: Path, mapping: ColumnMap | None = None
) -> Iterator[Sheet | tuple[str, Iterator[tuple[int, Sequence[Any]]]]]:
    """Each table of ``path``: a :class:`Sheet`, or ``(name, rows)`` when no header is found."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise LegacyFileError(f"{path}: không tìm thấy tệp / no such file")
    if suffix in (".csv", ".txt"):
        tables: Iterator[tuple[str, Iterator[tuple[int, Sequence[Any]]]]] = iter(
            [("", _csv_rows(path))]
        )
    elif suffix in (".xlsx", ".xlsm"):
        tables = _xlsx_sheets(path)
    elif suffix == ".parquet":
        tables = _parquet_sheets(path)
    else:
        raise LegacyFileError(
            f"{path}: định dạng '{suffix}' không hỗ trợ / unsupported format; "
            "expected .csv, .xlsx or .parquet"
        )
    for name, rows in tables:
        top: list[tuple[int, Sequence[Any]]] = []
        for item in rows:
            top.append(item)
            if len(top) >= _HEADER_SEARCH_ROWS:
                break
        found = _header(top, mapping)
        if found is None:
            yield name, _chain(top, rows)
            continue
        at, header, columns = found
        yield Sheet(name, header, top[at][0], _chain(top[at + 1 :], rows), columns)


def _chain(
    first: list[tuple[int, Sequence[Any]]], rest: Iterator[tuple[int, Sequence[Any]]]
) -> Iterator[tuple[int, Sequence[Any]]]:
    yield from first
    yield from rest


def _from_number(value: Any, column: str) -> str:
    """A cell Excel stored as a date or a number, as the text the site typed: a date as ISO;
    ``2.0`` as ``2``; an ID number or phone that lost its leading zeros as a number gets them
    back (a CCCD is 12 digits, an old CMND 9, a mobile number 10 with its 0)."""
    if hasattr(value, "date"):
        return str(value.date().isoformat())
    text = str(value)
    if text.endswith(".0"):
        text = text[:-2]
    if text.isdigit():
        if column == "national_id":
            return text.zfill(9) if len(text) <= 9 else text.zfill(12)
        if column == "phone" and len(text) == 9:
            return "0" + text
    return text


def fingerprint(row: Mapping[str, Any]) -> str:
    """A row's record id when its file has none: the same content always gives the same id
    (so a second import skips it), 40 characters as ``doses.record_id`` allows."""
    get = row.get
    content = "\x1f".join([get(c) or "" for c in _PRINT])
    return "fp-" + hashlib.sha256(content.encode()).hexdigest()[:37]


@dataclass
class LegacyImport:
    """What :func:`import_legacy_files` did: the backlog report of all files together, the
    header guessed per sheet (to print as a mapping), and the sheets with no header."""

    report: BacklogReport
    guesses: list[tuple[str, str, str]] = field(default_factory=list)  # file, sheet, toml
    headless: list[tuple[str, str]] = field(default_factory=list)


def _canonical_rows(
    path: Path,
    mapping: ColumnMap | None,
    site: str | None,
    source: str | None,
    result: LegacyImport,
) -> Iterator[dict[str, Any]]:
    repaired: dict[str, str] = {}
    known = repaired.get

    def fix(text: str) -> str:
        if len(repaired) > 200_000:
            repaired.clear()
        out = repaired[text] = repair_encoding(text)
        return out

    for sheet in read_sheets(path, mapping):
        if not isinstance(sheet, Sheet):
            name, rows = sheet
            result.headless.append((str(path), name))
            for n, cells in rows:
                if any(_text(c) is not None for c in cells):
                    yield {
                        "file": str(path),
                        "sheet": name,
                        "row": n,
                        "original": list(cells),
                        "_reject": (
                            "sheet:no_header",
                            "không tìm thấy dòng tiêu đề của trang / no header row found "
                            f"in the first {_HEADER_SEARCH_ROWS} rows of the sheet",
                        ),
                    }
            continue
        result.guesses.append((str(path), sheet.name, mapping_toml(sheet.header, sheet.columns)))
        pairs = [(i, col, col in _TEXT) for i, col in sheet.columns.items()]
        has_id = "record_id" in sheet.columns.values()
        file, name = str(path), sheet.name
        for n, cells in sheet.rows:
            row: dict[str, Any] = {"file": file, "sheet": name, "row": n}
            empty = True
            width = len(cells)
            for i, col, text in pairs:  # the hot loop: once per cell of a million rows
                value = cells[i] if i < width else None
                if value is None:
                    continue
                if type(value) is not str:
                    value = _from_number(value, col)
                value = value.strip()
                if not value:
                    continue
                empty = False
                if text and not value.isascii():  # a legacy encoding, repaired once per value
                    value = known(value) or fix(value)
                row[col] = value
            if empty:
                continue  # a blank line between blocks is not a record
            if site and not row.get("site_id"):
                row["site_id"] = site
            if has_id:
                if row.get("record_id") and source:
                    row["record_id"] = f"{source}:{row['record_id']}"
            else:
                row["record_id"] = fingerprint(row)
            row["original"] = cells if type(cells) is list else list(cells)
            yield row


def import_legacy_files(
    session: Session,
    actor: Actor,
    paths: Sequence[Path],
    *,
    mapping: ColumnMap | None = None,
    site: str | None = None,
    source: str | None = None,
    rejects_path: Path,
    progress: Callable[[int], None] | None = None,
) -> LegacyImport:
    """Import a site's old files as backlog dose records: every row read is stored, skipped
    (already stored) or written to ``rejects_path`` with its file, sheet, row and reason."""
    report = BacklogReport("")
    result = LegacyImport(report)
    for p in paths:  # a missing file or unknown format stops the import before any row
        if not p.exists() or p.suffix.lower() not in (".csv", ".txt", ".xlsx", ".xlsm", ".parquet"):
            list(read_sheets(p, mapping))

    def chunks() -> Iterator[list[dict[str, Any]]]:
        batch: list[dict[str, Any]] = []
        for p in paths:
            for row in _canonical_rows(p, mapping, site, source, result):
                batch.append(row)
                if len(batch) >= CHUNK_ROWS:
                    yield batch
                    batch = []
        if batch:
            yield batch

    label = source or ",".join(p.name for p in paths)
    where = {"source": label, "files": json.dumps([str(p.resolve()) for p in paths])}
    with RejectsFile(rejects_path, REJECT_COLUMNS) as rejects:
        result.report = store_dose_rows(
            session,
            actor,
            label[:64],
            chunks(),
            rejects,
            where=where,
            synonyms=mapping.vaccines if mapping else None,
            progress=progress,
        )
    return result


def count_rows(paths: Sequence[Path]) -> int | None:
    """About how many rows the files hold (title and header rows included), for a progress
    bar's total; ``None`` when a file cannot tell cheaply."""
    total = 0
    for path in paths:
        suffix = path.suffix.lower()
        if not path.is_file():
            return None
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            total += int(pq.ParquetFile(path).metadata.num_rows)
        elif suffix in (".csv", ".txt"):
            with path.open("rb") as fh:
                total += sum(buf.count(b"\n") for buf in iter(lambda: fh.read(1 << 20), b""))
        elif suffix in (".xlsx", ".xlsm"):
            book = open_workbook(path, data_only=False)
            total += sum(ws.max_row or 0 for ws in book.worksheets)
            book.close()
        else:
            return None
    return total
