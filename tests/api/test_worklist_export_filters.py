"""Every worklist filter a request carries is applied or refused, never silently dropped.

Found by hand on the demo: ``GET /api/v1/worklist.xlsx?kind=ư`` and ``?status=ư`` answered 200
with every open item, as if no filter had been asked for; a ward code that is no code
(``ư``, ``abc``) must be a 422 naming the parameter, from a province and from a commune.
"""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook

from tests.api.conftest import Api
from tests.factories import payload, review_item, world
from tiemchung.core import Platform
from tiemchung.registry.review.xlsx import COLUMNS, SHEET


def _refused(r: Any, field: str) -> None:
    assert r.status_code == 422, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == [field]


def test_bad_filters_of_the_list_and_the_spreadsheet_are_422s(api: Api) -> None:
    for who in ("prov_a", "ward_a1"):
        for bad in ("ư", "abc"):
            _refused(api.get("/worklist.xlsx", who, params={"ward_code": bad}), "ward_code")
            _refused(api.get("/worklist", who, params={"ward_code": bad}), "ward_code")
            _refused(api.get("/worklist.xlsx", who, params={"kind": bad}), "kind")
            _refused(api.get("/worklist", who, params={"kind": bad}), "kind")
            _refused(api.get("/worklist.xlsx", who, params={"status": bad}), "status")
        # the sheet is for deciding: a real status other than open is refused, not ignored
        _refused(api.get("/worklist.xlsx", who, params={"status": "accepted"}), "status")
        assert api.get("/worklist.xlsx", who, params={"status": "open"}).status_code == 200


def _ids(r: Any) -> set[int]:
    assert r.status_code == 200, r.text[:300]
    ws = load_workbook(io.BytesIO(r.content))[SHEET]
    head = [c.value for c in ws[1]]
    col = head.index(dict(COLUMNS)["id"])
    return {int(row[col]) for row in ws.iter_rows(min_row=2, values_only=True) if row[col]}


def test_the_spreadsheets_kind_filter_is_applied(api: Api, platform: Platform) -> None:
    made: dict[str, int] = {}
    for kind, nid in (("review", "001085123457"), ("not_found", "001085123458")):
        body = payload(None, full_name="Nguyễn Văn Ân", national_id=nid, dob="1985-04-12")
        body["ward_code"] = world().wards["a1"]
        r = api.post("/doses", "central", json=body)
        assert r.status_code == 201, r.text
        dose = int(r.json()["id"])
        made[kind] = platform.writer.run(lambda s, d=dose, k=kind: review_item(s, d, [], kind=k))
    r = api.get("/worklist.xlsx", "ward_a1", params={"kind": "not_found"})
    got = _ids(r)
    assert made["not_found"] in got and made["review"] not in got
    assert "not_found" in r.headers["content-disposition"]
    assert {made["review"], made["not_found"]} <= _ids(api.get("/worklist.xlsx", "ward_a1"))
