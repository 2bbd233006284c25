"""The worklist spreadsheet as a commune reads it (issue 14): words, not codes; dates as real
Excel dates shown dd/mm/yyyy; sex as Nam/Nữ; the codes only in hidden columns. And the round
trip: an export filled in the way Excel fills it (a typed date becomes a date cell) imports,
and so does a sheet of the older layout without the hidden columns.

World (tests/factories.py): persons an (ID 001085123456, born 1985-04-12, M), binh in ward a1.
"""

from __future__ import annotations

import io
import re
from datetime import datetime
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import select

from tests.registry.test_worklists import an_item, dose, item, run, who
from tiemchung.core import Platform
from tiemchung.registry.models import Correction, ReviewItem
from tiemchung.registry.review import xlsx as wx

HEADERS = dict(wx.COLUMNS)


def _export(platform: Platform) -> Any:
    ward = who(platform, "ward_a1")
    with platform.sessions() as s:
        data, _ids = wx.export_workbook(s, ward, None)
    return load_workbook(io.BytesIO(data))


def _rows(ws: Any) -> tuple[dict[str, int], dict[int, int]]:
    """Column (1-based) of each key by its header, and the sheet row of each item id."""
    header = [c.value for c in ws[1]]
    col = {k: header.index(h) + 1 for k, h in HEADERS.items() if h in header}
    rows = {
        int(ws.cell(row=r, column=col["id"]).value): r
        for r in range(2, ws.max_row + 1)
        if ws.cell(row=r, column=col["id"]).value is not None
    }
    return col, rows


def test_the_sheet_shows_words_and_real_dates(platform: Platform) -> None:
    _d, i = an_item(platform)
    ws = _export(platform).worksheets[0]
    col, rows = _rows(ws)
    r = rows[i]

    def cell(key: str) -> Any:
        return ws.cell(row=r, column=col[key])

    assert cell("kind").value == "cần đối chiếu"  # not "review"
    assert cell("record.sex").value == "Nam" and cell("register.sex").value == "Nam"
    dob = cell("record.dob")
    assert dob.value == datetime(1985, 4, 12) and dob.number_format == "DD/MM/YYYY"
    assert cell("register.dob").value == datetime(1985, 4, 12)
    given = cell("dose_date")
    assert isinstance(given.value, datetime) and given.number_format == "DD/MM/YYYY"
    assert cell("match_probability").number_format == "0%"
    assert cell("differing").value == "Số định danh"
    # the codes are kept, in hidden columns at the end
    assert cell("kind_code").value == "review" and cell("differing_codes").value == "national_id"
    for key in wx.HIDDEN:
        letter = ws.cell(row=1, column=col[key]).column_letter
        assert ws.column_dimensions[letter].hidden
    visible = [ws.cell(row=r, column=c).value for k, c in col.items() if k not in wx.HIDDEN]
    iso = re.compile(r"^\d{4}-\d{2}-\d{2}")
    for value in visible:
        assert value not in ("review", "not_found", "M", "F"), value
        assert not (isinstance(value, str) and iso.match(value)), value
    guide = " ".join(str(c.value) for c in _export(platform)["Hướng dẫn"]["A"])
    assert "dd/mm/yyyy" in guide


def test_partial_dates_of_birth_and_sex_as_words() -> None:
    assert wx._shown("record.dob", "1985-04") == ("04/1985", None)
    assert wx._shown("register.dob", "1985") == ("1985", None)
    assert wx._shown("register.sex", "F") == ("Nữ", None)
    assert wx._shown("kind", None) == (None, None)


def _save(wb: Any) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_the_import_reads_back_what_the_export_writes(platform: Platform) -> None:
    _d, accepted = an_item(platform, "001085123450")
    wrong_dob = dose(platform, national_id="001085123456", dob="13/04/1985")
    edited = item(platform, wrong_dob, ("an", 0.9, {"dob": "1985-04-12"}))
    wb = _export(platform)
    ws = wb.worksheets[0]
    col, rows = _rows(ws)
    ws.cell(row=rows[accepted], column=col["decision"], value="chấp nhận")
    ws.cell(row=rows[edited], column=col["decision"], value="sửa")
    # Excel turns a typed 12/04/1985 into a date cell; the one differing field is the date
    ws.cell(row=rows[edited], column=col["value"], value=datetime(1985, 4, 12))
    ws.cell(row=rows[edited], column=col["reason"], value="sổ tiêm giấy")
    report = run(platform, lambda s: wx.import_workbook(s, who(platform, "ward_a1"), _save(wb)))
    assert [(r.item_id, r.outcome, r.rule) for r in report.rows] == [
        (accepted, "applied", None),
        (edited, "applied", None),
    ]
    with platform.sessions() as s:
        fixed = s.execute(
            select(Correction.field, Correction.new_value).where(Correction.dose_id == wrong_dob)
        ).all()
        status = s.scalar(select(ReviewItem.status).where(ReviewItem.id == edited))
    assert [tuple(x) for x in fixed] == [("dob", "1985-04-12")] and status == "edited"


def test_a_sheet_of_the_older_layout_still_imports(platform: Platform) -> None:
    wrong_dob = dose(platform, national_id="001085123456", dob="13/04/1985")
    edited = item(platform, wrong_dob, ("an", 0.9, {"dob": "1985-04-12"}))
    wb = _export(platform)
    ws = wb.worksheets[0]
    col, rows = _rows(ws)
    # the older sheet had no hidden code columns and named the differing field in words
    for key in sorted(wx.HIDDEN, key=lambda k: -col[k]):
        ws.delete_cols(col[key])
    ws.cell(row=rows[edited], column=col["kind"], value="review")
    ws.cell(row=rows[edited], column=col["decision"], value="sửa")
    ws.cell(row=rows[edited], column=col["value"], value="12/04/1985")
    ws.cell(row=rows[edited], column=col["reason"], value="sổ tiêm giấy")
    report = run(platform, lambda s: wx.import_workbook(s, who(platform, "ward_a1"), _save(wb)))
    assert [(r.item_id, r.outcome) for r in report.rows] == [(edited, "applied")]


def test_fields_are_named_as_at_the_desk_and_old_names_still_import(platform: Platform) -> None:
    """ "Số định danh" and "Phường/xã" as the desk says them (not "Số CCCD", "Mã xã/phường");
    a sheet exported with the old headers, or a value written 'Số CCCD=…', still imports."""
    header = [c.value for c in _export(platform).worksheets[0][1]]
    assert "Số định danh (hồ sơ)" in header and "Phường/xã (sổ dân cư)" in header
    assert not any("CCCD" in str(h) or "Mã xã" in str(h) for h in header)
    by_pair = dose(platform, national_id="001085123451")
    by_words = dose(platform, national_id="001085123452")
    a = item(platform, by_pair, ("an", 0.9, {"national_id": "001085123456"}))
    b = item(platform, by_words, ("an", 0.9, {"national_id": "001085123456"}))
    wb = _export(platform)
    ws = wb.worksheets[0]
    col, rows = _rows(ws)
    for key in sorted(wx.HIDDEN, key=lambda k: -col[k]):  # an older sheet: no code columns
        ws.delete_cols(col[key])
    for c in ws[1]:  # … and the old headers
        c.value = (
            str(c.value).replace("Số định danh", "Số CCCD").replace("Phường/xã", "Mã xã/phường")
        )
    ws.cell(row=rows[a], column=col["decision"], value="sửa")
    ws.cell(row=rows[a], column=col["value"], value="Số CCCD=001085123456")
    ws.cell(row=rows[a], column=col["reason"], value="CCCD gốc")
    ws.cell(row=rows[b], column=col["differing"], value="Số CCCD")
    ws.cell(row=rows[b], column=col["decision"], value="sửa")
    ws.cell(row=rows[b], column=col["value"], value="001085123456")
    ws.cell(row=rows[b], column=col["reason"], value="CCCD gốc")
    report = run(platform, lambda s: wx.import_workbook(s, who(platform, "ward_a1"), _save(wb)))
    assert sorted((r.item_id, r.outcome) for r in report.rows) == [(a, "applied"), (b, "applied")]
    with platform.sessions() as s:
        fixed = s.execute(
            select(Correction.dose_id, Correction.new_value).where(
                Correction.field == "national_id"
            )
        ).all()
    assert sorted(tuple(x) for x in fixed) == [
        (by_pair, "001085123456"),
        (by_words, "001085123456"),
    ]


def test_a_rows_reason_travels_in_both_languages_apart(platform: Platform) -> None:
    """Each reason a row was not applied is kept in Vietnamese and English apart (the pages
    and the report pick one without splitting a joined line); the joined line stays."""
    _d, first = an_item(platform, "001085123450")
    wb = _export(platform)
    ws = wb.worksheets[0]
    col, rows = _rows(ws)
    ws.cell(row=rows[first], column=col["decision"], value="sửa")  # no reason: refused
    extra = ws.max_row + 1
    ws.cell(row=extra, column=col["id"], value=first)  # the same item again
    ws.cell(row=extra, column=col["decision"], value="không biết")
    report = run(platform, lambda s: wx.import_workbook(s, who(platform, "ward_a1"), _save(wb)))
    by_rule = {r.rule: r for r in report.rows}
    edit, again = by_rule["reason_required"], by_rule["unknown_decision"]
    for r in (edit, again):
        assert r.message_vi and r.message_en and r.message == f"{r.message_vi} / {r.message_en}"
    assert again.message_en == "unknown decision word" and "không biết" in str(again.message_vi)
    rows_out = report.as_dict()["rows"]
    assert {r["rule"]: r["message_en"] for r in rows_out}["unknown_decision"] == (
        "unknown decision word"
    )
