"""An uploaded workbook with a DTD gets a clear 422 on every upload path (issue 20 point 5)."""

from __future__ import annotations

from tests.api.conftest import Api
from tests.test_workbooks import LAUGHS, _with_sheet, _workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_an_upload_with_a_dtd_gets_a_clear_422(api: Api) -> None:
    bomb = _with_sheet(_workbook([["x"]]), LAUGHS.encode())
    r = api.post("/worklist.xlsx", "ward_a1", files={"file": ("w.xlsx", bomb, XLSX)})
    assert r.status_code == 422
    item = r.json()["errors"][0]
    assert item["rule"] == "unsafe_xml" and "DTD" in item["message_en"]
    r = api.post("/imports", "site_a1", files=[("files", ("so.xlsx", bomb, XLSX))])
    assert r.status_code == 422
    assert "DTD" in r.json()["errors"][0]["message_en"]
