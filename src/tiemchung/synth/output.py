"""Writing the tables: Parquet, CSV or xlsx, byte-identical for the same content.

* Parquet: row groups of exactly :data:`ROW_GROUP` rows whatever the size of the pieces handed
  in (a carry-over buffer), each written from one contiguous chunk, zstd, no timestamps.
* CSV: pyarrow's writer (its bytes do not depend on how the rows were batched).
* xlsx: openpyxl in write-only mode, then the zip is rewritten with fixed timestamps and fixed
  document dates, because a plain save stamps the current time into the file twice.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

ROW_GROUP = 1 << 17
FIXED_TIME = (2022, 7, 1, 0, 0, 0)
FIXED_ISO = "2022-07-01T00:00:00Z"
XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header


class Sink:
    """One output table, fed piece by piece."""

    def __init__(self, path: Path, schema: pa.Schema, fmt: str) -> None:
        self.path = path.with_suffix("." + fmt)
        self.schema = schema
        self.fmt = fmt
        self.rows = 0
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._writer: Any = None
        if fmt == "parquet":
            self._writer = pq.ParquetWriter(
                self.path, schema, compression="zstd", write_statistics=True, store_schema=True
            )
        elif fmt == "csv":
            self._writer = pacsv.CSVWriter(self.path, schema)
        elif fmt != "xlsx":
            raise ValueError(f"unknown format '{fmt}'; expected parquet, csv or xlsx")

    def add(self, table: pa.Table) -> None:
        table = table.cast(self.schema)
        self.rows += table.num_rows
        if self.fmt == "csv":
            self._writer.write_table(table)
            return
        if self.fmt == "xlsx" and self.rows > XLSX_MAX_ROWS:
            raise ValueError(
                f"{self.path.name}: more rows than an Excel sheet holds; "
                "use --format parquet or csv"
            )
        self._pending.append(table)
        self._pending_rows += table.num_rows
        if self.fmt == "parquet":
            while self._pending_rows >= ROW_GROUP:
                self._flush(ROW_GROUP)

    def _flush(self, rows: int) -> None:
        whole = pa.concat_tables(self._pending)
        head, tail = whole.slice(0, rows), whole.slice(rows)
        self._writer.write_table(head.combine_chunks(), row_group_size=rows)
        self._pending = [tail] if tail.num_rows else []
        self._pending_rows = tail.num_rows

    def close(self) -> Path:
        if self.fmt == "parquet":
            if self._pending_rows:
                self._flush(self._pending_rows)
            self._writer.close()
        elif self.fmt == "csv":
            self._writer.close()
        else:
            table = pa.concat_tables(self._pending) if self._pending else self.schema.empty_table()
            rows = [self.schema.names]
            rows += [list(r.values()) for r in table.to_pylist()]
            write_xlsx(self.path, [(self.path.stem, rows)])
        return self.path


def write_table(path: Path, table: pa.Table, fmt: str) -> Path:
    sink = Sink(path, table.schema, fmt)
    sink.add(table)
    return sink.close()


def write_xlsx(path: Path, sheets: list[tuple[str, list[list[Any]]]]) -> Path:
    """A workbook with the given sheets (rows of cell values), deterministic to the byte."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    for title, rows in sheets:
        ws = wb.create_sheet(title[:31])
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    path.write_bytes(_freeze_zip(buf.getvalue()))
    return path


_DATES = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


def _freeze_zip(data: bytes) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = _DATES.sub(rb"\g<1>" + FIXED_ISO.encode() + rb"\g<3>", body)
            zi = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            dst.writestr(zi, body)
    return out.getvalue()
