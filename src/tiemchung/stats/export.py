"""CSV and XLSX files of a statistics table, with bilingual headers.

CSV: UTF-8 with a byte-order mark (Excel in Vietnamese locales reads the diacritics right),
one header row "Tiếng Việt / English". XLSX: one sheet, the same header, numbers as numbers
and percentages as numbers (the header says "%"), dates as dates.
"""

from __future__ import annotations

import csv
import io

from tiemchung.stats.tables import Table

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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
