"""A ward code that is no code at all is a 422, not a 500 (found by schemathesis as a
province and a commune user: ``GET /worklist?ward_code=:`` let an IdentityError escape)."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api
from tests.factories import payload, review_item, world
from tiemchung.core import Platform


def _rule(r: Any, field: str, rule: str) -> None:
    assert r.status_code == 422, (r.status_code, r.text)
    assert [(e["field"], e["rule"]) for e in r.json()["errors"]] == [(field, rule)]


def test_a_ward_filter_that_is_no_code(api: Api) -> None:
    for who in ("prov_a", "ward_a1"):
        for bad in (":", "null", "12a45", "１２３４５"):
            _rule(api.get("/worklist", who, params={"ward_code": bad}), "ward_code",
                  "invalid_ward_code")
            _rule(api.get("/worklist.xlsx", who, params={"ward_code": bad}), "ward_code",
                  "invalid_ward_code")
    # a real code outside the area is still a 403, and central may filter by anything
    assert api.get("/worklist", "ward_a1", params={"ward_code": world().wards["b1"]}
                   ).status_code == 403
    assert api.get("/worklist", "central", params={"ward_code": ":"}).status_code == 200


def test_editing_a_ward_code_that_is_no_code(api: Api, platform: Platform) -> None:
    body = payload(None, full_name="Nguyễn Văn Ân", national_id="001085123457", dob="1985-04-12")
    body["ward_code"] = world().wards["a1"]
    r = api.post("/doses", "central", json=body)
    assert r.status_code == 201, r.text
    dose_id = int(r.json()["id"])
    item = platform.writer.run(lambda s: review_item(s, dose_id, []))
    r = api.post(f"/worklist/{item}:edit", "ward_a1",
                 json={"fields": {"ward_code": "abc"}, "reason": "sửa địa chỉ"})
    _rule(r, "ward_code", "unknown_ward")
