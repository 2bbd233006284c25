"""Uploaded workbooks are opened safely (issue 20 point 5): a DTD (entity expansion, external
entities) and a zip bomb are refused before any cell is read, openpyxl itself parses through
defusedxml here, and the refusal reaches an uploader as a clear 422."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
from defusedxml import DefusedXmlException

from tiemchung.workbooks import WorkbookError, open_workbook

LAUGHS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol3;</t></is></c></row>'
    "</sheetData></worksheet>"
)


def _workbook(rows: list[list[object]]) -> bytes:
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _with_sheet(book: bytes, sheet_xml: bytes) -> bytes:
    """The same workbook with its first sheet's XML replaced."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(book)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = sheet_xml
            dst.writestr(info.filename, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def test_an_ordinary_workbook_opens() -> None:
    book = open_workbook(_workbook([["Họ tên", "Ngày sinh"], ["Lê Thị Mai", "05/03/1990"]]))
    try:
        rows = list(book.worksheets[0].iter_rows(values_only=True))
    finally:
        book.close()
    assert rows == [("Họ tên", "Ngày sinh"), ("Lê Thị Mai", "05/03/1990")]


def test_a_dtd_is_refused_before_parsing() -> None:
    bomb = _with_sheet(_workbook([["x"]]), LAUGHS.encode())
    with pytest.raises(WorkbookError) as err:
        open_workbook(bomb)
    assert err.value.code == "unsafe_xml"
    assert "xl/worksheets/sheet1.xml" in err.value.message_en


def test_openpyxl_parses_through_defusedxml_here(tmp_path: Path) -> None:
    """Even past the up-front check, the parse itself refuses the entities."""
    path = tmp_path / "b.xlsx"
    path.write_bytes(_with_sheet(_workbook([["x"]]), LAUGHS.encode()))
    assert openpyxl.DEFUSEDXML is True
    with pytest.raises(ValueError) as err:  # openpyxl wraps the parser's refusal
        book = openpyxl.load_workbook(path, read_only=True)
        list(book.worksheets[0].iter_rows(values_only=True))
    causes = [err.value, err.value.__cause__, err.value.__context__]
    assert any(isinstance(c, DefusedXmlException) for c in causes), causes


def test_no_workbook_opens_without_defusedxml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(openpyxl, "DEFUSEDXML", False)
    with pytest.raises(WorkbookError) as err:
        open_workbook(_workbook([["x"]]))
    assert err.value.code == "unsafe_xml" and "defusedxml" in err.value.message_en


def test_a_zip_bomb_is_refused_by_its_expanded_size_and_ratio() -> None:
    """12 MB of whitespace between two elements: valid XML that packs to a few kilobytes."""
    sheet = (
        '<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main"><sheetData/>' + " " * (12 * 2**20) + "</worksheet>"
    ).encode()
    bomb = _with_sheet(_workbook([["x"]]), sheet)
    assert len(bomb) < 2**20
    with pytest.raises(WorkbookError) as err:
        open_workbook(bomb, max_expanded_mb=5)
    assert err.value.code == "too_large" and "5 MB" in err.value.message_en
    with pytest.raises(WorkbookError) as err:  # within the size limit, not the ratio
        open_workbook(bomb)
    assert err.value.code == "too_large" and "zip bomb" in err.value.message_en


def test_not_a_workbook() -> None:
    with pytest.raises(WorkbookError) as err:
        open_workbook(b"PK not a zip")
    assert err.value.code == "invalid_xlsx"
