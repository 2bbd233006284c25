"""A NUL character anywhere in a request is a 422 naming where, on both backends.

PostgreSQL cannot store U+0000 in text and psycopg raised DataError — a 500 for
``/sites?ward_code=%00`` and a revoke of ``{"uvci": "\\u0000"}`` (found by bench/api_fuzz.py).
"""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api
from tests.factories import payload


def _names(r: Any, field: str) -> None:
    assert r.status_code == 422, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/problem+json")
    errors = r.json()["errors"]
    assert [(e["field"], e["rule"]) for e in errors] == [(field, "nul_character")], errors
    assert "NUL" in errors[0]["message"]


def test_nul_in_query_path_form_and_json(api: Api) -> None:
    _names(api.get("/sites", "central", params={"ward_code": "\x00"}), "ward_code")
    _names(api.get("/sessions", "site_a1", params={"site_id": "a\x00"}), "site_id")
    _names(api.get("/worklist.xlsx", "central", params={"ward_code": "\x00"}), "ward_code")
    _names(api.get("/persons/P-%00", "central"), "person_id")
    _names(api.post("/certificates/revoke", "central", json={"uvci": "\x00", "reason": "x"}),
           "uvci")
    _names(api.post("/doses", "site_a1", json=payload("an", full_name="An\x00")), "full_name")
    batch = {"doses": [payload("an"), payload("binh", address="\x00")]}
    _names(api.post("/doses:batch", "site_a1", json=batch), "doses.1.address")
    r = api.client.post("/api/v1/auth/token", data={"username": "central\x00", "password": "x"})
    _names(r, "username")


def test_ordinary_text_still_passes(api: Api) -> None:
    """The guard looks for NUL only: a backslash-u in text is text."""
    r = api.post("/doses", "site_a1", json=payload("an", address="Thôn 1 \\u0000 ngõ 2"))
    assert r.status_code == 201, r.text
    assert api.get("/sites", "central", params={"ward_code": "00001"}).status_code == 200


def test_a_value_the_database_refuses_is_a_422_not_a_500(api: Api) -> None:
    """The safety net behind validation: any DataError (here raised by a route of the test's
    own) is answered as a problem naming the rule, never a 500."""
    from sqlalchemy.exc import DataError

    def boom() -> None:
        raise DataError("INSERT …", {}, ValueError("integer out of range"))

    api.client.app.add_api_route("/api/v1/_test_data_error", boom)  # type: ignore[attr-defined]
    r = api.client.get("/api/v1/_test_data_error")
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["rule"] == "value_not_storable"
