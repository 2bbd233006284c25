"""CSV and XLSX files of a statistics table, with bilingual headers.

CSV: UTF-8 with a byte-order mark (Excel in Vietnamese locales reads the diacritics right),
one header row "Tiếng Việt / English". XLSX: one sheet, the same header, numbers as numbers
and percentages as numbers (the header says "%"), dates as dates.
"""

from __future__ import annotations

import csv
import io
import re

from tiemchung.stats.filters import Filters
from tiemchung.stats.queries import applied
from tiemchung.stats.tables import Table

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def filename(name: str, f: Filters, ext: str) -> str:
    """The download's file name, after the table and the filters *that table applied*
    (:data:`.queries.APPLIED`), so two exports of the same table for different wards, ages or
    dates do not overwrite each other, and no file claims a filter it ignored (the backlog
    has no age, coverage is as of the end date):
    ``doses_per_day_tinh-40_xa-16941_tuoi-18-49_tu-2021-09-01_den-2021-12-31.csv``;
    ``toan-quoc`` (the whole country) when no area was chosen. ASCII only (a
    ``Content-Disposition`` header)."""
    f = applied(name, f)
    parts = [name]
    if f.province:
        parts.append(f"tinh-{f.province}")
    if f.ward:
        parts.append(f"xa-{f.ward}")
    if f.site:
        parts.append(f"diem-{f.site}")
    if not f.province and not f.ward and not f.site:
        parts.append("toan-quoc")
    if f.age_group:
        age = "khong-ro" if f.age_group == "unknown" else f.age_group.replace("+", "-plus")
        parts.append(f"tuoi-{age}")
    if f.date_from:
        parts.append(f"tu-{f.date_from}")
    if f.date_to:
        parts.append(f"den-{f.date_to}")
    safe = re.sub(r"[^A-Za-z0-9_.-]", "-", "_".join(parts))
    return f"{safe}.{ext}"


def table_file(t: Table, fmt: str, name: str | None = None) -> tuple[bytes, str, str]:
    """The table as a download: (body, media type, file name), CSV for ``fmt`` "csv", else
    XLSX; saved as ``name`` (default: the table's). The API and the dashboard both answer it."""
    if fmt == "csv":
        body, media, ext = to_csv(t), CSV_TYPE, "csv"
    else:
        body, media, ext = to_xlsx(t), XLSX_TYPE, "xlsx"
    return body, media, name or f"{t.name}.{ext}"


def headers(t: Table) -> list[str]:
    return [f"{c.vi} / {c.en}" for c in t.columns]


def to_csv(t: Table) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(headers(t))
    for r in t.rows:
        w.writerow(["" if r.get(c.key) is None else r.get(c.key) for c in t.columns])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(t: Table) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = t.name[:31]
    ws.append(headers(t))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in t.rows:
        ws.append([r.get(c.key) for c in t.columns])
    for i, c in enumerate(t.columns, start=1):
        if c.kind == "date":
            for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                cell.number_format = "yyyy-mm-dd"
        ws.column_dimensions[ws.cell(1, i).column_letter].width = max(12, len(c.vi) + 2)
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
