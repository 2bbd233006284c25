"""The worklist and ticket endpoints over the real app, on SQLite and PostgreSQL.

World (tests/factories.py): wards a1, a2 (province A), b1, b2 (province B); ward_a1 is the
commune user of a1, prov_a the province user of A; citizen_an is the person 'an' (ward a1).
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests.api.conftest import Api
from tests.factories import payload, review_item, world
from tiemchung.core import Platform
from tiemchung.registry.models import AuditEvent, Correction, Dose, ReviewItem
from tiemchung.registry.review.xlsx import COLUMNS

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _dose(api: Api, **overrides: Any) -> int:
    body = payload(
        None,
        full_name=overrides.pop("full_name", "NGUYỄN VĂN AN"),
        national_id=overrides.pop("national_id", "001085123457"),
        dob="1985-04-12",
        sex="M",
        ward_code=world().wards["a1"],
        **overrides,
    )
    r = api.post("/doses", "central", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "unverified"
    return int(r.json()["id"])


def _item(platform: Platform, dose_id: int, *cands: Any, ward: str = "a1") -> int:
    return platform.writer.run(lambda s: review_item(s, dose_id, list(cands), ward=ward))


def _setup(api: Api, platform: Platform) -> dict[str, int]:
    a = _item(platform, _dose(api), ("an", 0.97, {"national_id": "001085123456"}))
    b = _item(
        platform,
        _dose(api, national_id="001085123458"),
        ("an", 0.9, {"national_id": "001085123456"}),
        ("binh", 0.05, {"national_id": "001190654321", "full_name": "Trần Thị Bình"}),
    )
    c = _item(
        platform,
        _dose(api, full_name="Phạm Văn Dũng", national_id="040065333440"),
        ("dung", 0.9, {"national_id": "040065333444"}),
        ward="b1",
    )
    return {"a": a, "b": b, "c": c}


# role -> (list total, GET item a, accept item c)
MATRIX = {
    "central": (3, 200, 200),
    "prov_a": (2, 200, 404),
    "prov_b": (1, 404, 200),
    "ward_a1": (2, 200, 404),
    "ward_b1": (1, 404, 200),
    "site_a1": (403, 403, 403),
    "site_b1": (403, 403, 403),
    "citizen_an": (403, 403, 403),
}


@pytest.mark.parametrize("role", list(MATRIX))
def test_worklist_role_area_matrix(api: Api, platform: Platform, role: str) -> None:
    ids = _setup(api, platform)
    total, get_a, accept_c = MATRIX[role]
    r = api.get("/worklist", role)
    assert (r.json()["total"] if r.status_code == 200 else r.status_code) == total
    assert api.get(f"/worklist/{ids['a']}", role).status_code == get_a
    assert api.post(f"/worklist/{ids['c']}:accept", role).status_code == accept_c


def test_list_detail_and_counts(api: Api, platform: Platform) -> None:
    ids = _setup(api, platform)
    r = api.get("/worklist", "ward_a1")
    assert r.status_code == 200
    body = r.json()
    assert [x["id"] for x in body["items"]] == [ids["a"], ids["b"]]
    assert body["counts"]["open"] == 2
    detail = api.get(f"/worklist/{ids['b']}", "ward_a1").json()
    assert [c["person_id"] for c in detail["candidates"]] == ["P-AN", "P-BINH"]
    assert detail["candidates"][0]["differing"] == ["national_id"]
    side = {f["field"]: f for f in detail["candidates"][0]["fields"]}
    assert (side["national_id"]["record"], side["national_id"]["register"]) == (
        "001085123458",
        "001085123456",
    )
    r = api.get("/worklist", "ward_a1", params={"ward_code": world().wards["b1"]})
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    r = api.get("/worklist", "ward_a1", params={"field": "colour"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "field"
    with platform.sessions() as s:
        reads = s.scalars(
            select(AuditEvent.entity_id).where(AuditEvent.action == "review_item.read")
        ).all()
    assert str(ids["b"]) in reads


def test_decisions_over_http(api: Api, platform: Platform) -> None:
    ids = _setup(api, platform)
    r = api.post(f"/worklist/{ids['a']}:accept", "ward_a1")
    assert r.status_code == 200, r.text
    assert r.json()["person_id"] == "P-AN"
    assert r.json()["changes"] == [
        {"field": "national_id", "old": "001085123457", "new": "001085123456"}
    ]
    again = api.post(f"/worklist/{ids['a']}:accept", "ward_a1")
    assert again.status_code == 409
    assert again.json()["errors"][0]["rule"] == "already_decided"
    r = api.post(f"/worklist/{ids['b']}:edit", "ward_a1", json={"fields": {"dob": "1985"}})
    assert r.status_code == 422 and r.json()["errors"][0]["rule"] == "reason_required"
    r = api.post(f"/worklist/{ids['b']}:reject", "ward_a1", json={"person_id": "P-BINH"})
    assert r.status_code == 200 and r.json()["person_id"] == "P-BINH"
    assert (
        api.post(f"/worklist/{ids['b']}:reopen", "ward_a1", json={"reason": "x"}).status_code == 403
    )
    r = api.post(f"/worklist/{ids['b']}:reopen", "prov_a", json={"reason": "kiểm tra lại"})
    assert r.status_code == 200 and r.json()["status"] == "open"
    r = api.post(
        f"/worklist/{ids['b']}:edit",
        "ward_a1",
        json={"fields": {"phone": "0912 000 001"}, "reason": "gọi điện xác nhận"},
    )
    assert r.status_code == 200 and r.json()["status"] == "edited"


def test_bulk_accept_with_a_bad_id(api: Api, platform: Platform) -> None:
    ids = _setup(api, platform)
    r = api.post(
        "/worklist:bulk-accept", "ward_a1", json={"ids": [ids["a"], 424242, ids["c"], ids["b"]]}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(x["id"], x["status"]) for x in body["results"]] == [
        (ids["a"], 200),
        (424242, 404),
        (ids["c"], 404),
        (ids["b"], 200),
    ]
    assert (body["accepted"], body["failed"]) == (2, 2)
    assert body["results"][1]["problem"]["errors"][0]["rule"] == "not_found"


def _fill(data: bytes, decisions: dict[int, dict[str, Any]], extra: list[list[Any]]) -> bytes:
    wb = load_workbook(io.BytesIO(data))
    ws = wb.worksheets[0]
    col = {k: i + 1 for i, (k, _) in enumerate(COLUMNS)}
    for r in range(2, ws.max_row + 1):
        item_id = ws.cell(row=r, column=col["id"]).value
        for key, value in decisions.get(int(item_id), {}).items():
            ws.cell(row=r, column=col[key], value=value)
    for values in extra:
        row = [None] * len(COLUMNS)
        for key, value in zip(("id", "decision", "value", "reason"), values, strict=False):
            row[col[key] - 1] = value
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_xlsx_round_trip_reports_bad_rows(api: Api, platform: Platform) -> None:
    ids = _setup(api, platform)
    d = _item(platform, _dose(api, national_id="001085123450"), ("an", 0.9, {}))
    e = _item(platform, _dose(api, national_id="001085123451"), ("an", 0.9, {}))
    r = api.get("/worklist.xlsx", "ward_a1")
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    wb = load_workbook(io.BytesIO(r.content))
    ws = wb.worksheets[0]
    headers = [c.value for c in ws[1]]
    assert headers[0] == "Mã mục" and "Quyết định" in headers and "Giải thích" in headers
    assert [ws.cell(row=i, column=1).value for i in range(2, ws.max_row + 1)] == [
        ids["a"],
        ids["b"],
        d,
        e,
    ]
    # the decision column offers the three words; differing cells are highlighted
    dv = ws.data_validations.dataValidation[0]
    assert dv.formula1 == '"chấp nhận,từ chối,sửa"'
    cid = headers.index("Số định danh (hồ sơ)") + 1
    assert ws.cell(row=2, column=cid).fill.fgColor.rgb.endswith("FFE699")
    assert ws.cell(row=2, column=headers.index("Họ và tên (hồ sơ)") + 1).fill.fill_type is None
    # ward b1's item is decided by someone else before the import: already decided
    filled = _fill(
        r.content,
        {
            ids["a"]: {"decision": "chấp nhận"},
            ids["b"]: {"decision": "Sửa", "value": "001085123456"},  # edit without reason
            d: {"decision": "từ chối", "reason": "không phải"},
            e: {"decision": "đồng ý?"},  # unknown word
        },
        [[ids["c"], "chấp nhận"], [999_999, "chấp nhận"], [ids["a"], "từ chối"], ["x", "sửa"]],
    )
    r = api.post("/worklist.xlsx", "ward_a1", files={"file": ("w.xlsx", filled, XLSX)})
    assert r.status_code == 200, r.text
    rep = r.json()
    outcome = {(x["row"], x["item_id"]): (x["outcome"], x["rule"]) for x in rep["rows"]}
    assert outcome == {
        (2, ids["a"]): ("applied", None),
        (3, ids["b"]): ("failed", "reason_required"),
        (4, d): ("applied", None),
        (5, e): ("failed", "unknown_decision"),
        (6, ids["c"]): ("failed", "out_of_area"),
        (7, 999_999): ("failed", "unknown_id"),
        (8, ids["a"]): ("failed", "duplicate_row"),
        (9, None): ("failed", "unknown_id"),
    }
    assert (rep["applied"], rep["failed"], rep["skipped"]) == (2, 6, 0)
    with platform.sessions() as s:
        status = {i: s.get(ReviewItem, i).status for i in (ids["a"], ids["b"], d, e, ids["c"])}  # type: ignore[union-attr]
        assert status == {
            ids["a"]: "accepted",
            ids["b"]: "open",
            d: "rejected",
            e: "open",
            ids["c"]: "open",
        }
        src = s.scalars(select(Correction.source)).all()
        assert src == ["review"]  # item a's ID correction; the reject changed nothing
    # a second import of the same file: the applied rows are now "already decided"
    r = api.post("/worklist.xlsx", "ward_a1", files={"file": ("w.xlsx", filled, XLSX)})
    again = {x["item_id"]: x["rule"] for x in r.json()["rows"] if x["row"] in (2, 4)}
    assert again == {ids["a"]: "already_decided", d: "already_decided"}
    bad = api.post("/worklist.xlsx", "ward_a1", files={"file": ("w.xlsx", b"not xlsx", XLSX)})
    assert bad.status_code == 422 and bad.json()["errors"][0]["rule"] == "invalid_xlsx"
    assert api.get("/worklist.xlsx", "site_a1").status_code == 403


def test_ticket_end_to_end(api: Api, platform: Platform) -> None:
    r = api.post("/doses", "central", json=payload("an"))
    assert r.status_code == 201 and r.json()["status"] == "verified"
    dose_id = r.json()["id"]
    r = api.post(
        "/tickets",
        "citizen_an",
        json={"dose_id": dose_id, "field": "phone", "proposed_value": "0912 999 888"},
    )
    assert r.status_code == 201, r.text
    ticket = r.json()
    assert (ticket["status"], ticket["current_value"], ticket["proposed_value"]) == (
        "open",
        "0912000001",
        "0912999888",
    )
    assert ticket["ward_code"] == world().wards["a1"] and ticket["deadline"] is not None
    # the same field again while open: 409; a commune may not open tickets
    again = api.post(
        "/tickets",
        "citizen_an",
        json={"dose_id": dose_id, "field": "phone", "proposed_value": "0912999887"},
    )
    assert again.status_code == 409
    assert api.post("/tickets", "ward_a1", json={"field": "phone"}).status_code == 403
    # the commune sees it in its worklist and its ticket list; ward b1 does not
    wl = api.get("/worklist", "ward_a1", params={"kind": "ticket"}).json()
    assert [x["id"] for x in wl["items"]] == [ticket["review_item_id"]]
    assert api.get("/tickets", "ward_a1").json()["total"] == 1
    assert api.get("/tickets", "ward_b1").json()["total"] == 0
    assert api.get(f"/tickets/{ticket['id']}", "ward_b1").status_code == 404
    assert api.get("/tickets", "site_a1").status_code == 403
    r = api.post(f"/tickets/{ticket['id']}:start-review", "ward_a1")
    assert r.status_code == 200 and r.json()["status"] == "in_review"
    assert api.get(f"/tickets/{ticket['id']}", "citizen_an").json()["status"] == "in_review"
    # accepting the worklist item decides the ticket: the phone is corrected, source citizen
    r = api.post(f"/worklist/{ticket['review_item_id']}:accept", "ward_a1")
    assert r.status_code == 200, r.text
    mine = api.get(f"/tickets/{ticket['id']}", "citizen_an").json()
    assert mine["status"] == "accepted" and mine["decision"]
    assert (
        api.post(f"/tickets/{ticket['id']}:reject", "ward_a1", json={"reason": "x"}).status_code
        == 409
    )
    with platform.sessions() as s:
        dd = s.get(Dose, dose_id)
        assert dd is not None and (dd.phone, dd.link_source) == ("0912999888", "citizen")
        rows = s.execute(select(Correction.field, Correction.source, Correction.new_value)).all()
        assert [tuple(x) for x in rows] == [("phone", "citizen", "0912999888")]
    # a second ticket, rejected with a reason the citizen reads
    r = api.post(
        "/tickets",
        "citizen_an",
        json={"dose_id": dose_id, "field": "dob", "proposed_value": "1985-05-12"},
    )
    assert r.status_code == 201
    t2 = r.json()["id"]
    assert api.post(f"/tickets/{t2}:reject", "ward_a1", json={}).status_code == 422
    r = api.post(f"/tickets/{t2}:reject", "ward_a1", json={"reason": "Sổ tiêm ghi đúng 12/04"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    mine = api.get("/tickets", "citizen_an").json()
    assert {t["id"]: (t["status"], t["decision"]) for t in mine["items"]} == {
        ticket["id"]: ("accepted", mine["items"][0]["decision"]),
        t2: ("rejected", "Sổ tiêm ghi đúng 12/04"),
    }
