"""Integers beyond 64 bits are refused with a 422 naming the parameter, never a 500.

SQLite's driver raised ``OverflowError`` for ``?offset=9223372036854775808`` (issue 14). The
operations and parameters are read from the OpenAPI document itself, so a route added later
is covered without editing this file; and every integer a request may carry must declare a
``maximum`` that the database can hold.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api
from tests.factories import payload
from tiemchung.serving.types import API_INT_MAX

BIG = 2**63  # one past SQLite INTEGER / PostgreSQL BIGINT
DB_MAX = 2**63 - 1
INT32 = 2**31 - 1  # PostgreSQL INTEGER: the ids of tickets and sessions


def test_ids_of_integer_keyed_tables_stop_at_2_31(api: Api) -> None:
    """PostgreSQL's INTEGER columns (tickets, sessions) refused 2^31 with a DataError: a 500."""
    _problem_names(api.get(f"/tickets/{INT32 + 1}", "central"), "ticket_id", INT32)
    _problem_names(api.post(f"/tickets/{INT32 + 1}:reject", "central", json={"reason": "x"}),
                   "ticket_id", INT32)
    body = payload("an", session_id=INT32 + 1)
    _problem_names(api.post("/doses", "site_a1", json=body), "session_id", INT32)
    assert api.get(f"/tickets/{INT32}", "central").status_code == 404


def _spec(api: Api) -> dict[str, Any]:
    r = api.client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


def _resolve(spec: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = spec["components"]["schemas"][name]
    return node


def _integers(spec: dict[str, Any], node: Any, where: str, seen: set[str]) -> list[tuple]:
    """(where, schema) of every integer schema reachable from ``node``."""
    if isinstance(node, dict) and "$ref" in node:
        if node["$ref"] in seen:
            return []
        seen = seen | {node["$ref"]}
    node = _resolve(spec, node)
    if not isinstance(node, dict):
        return []
    found: list[tuple] = []
    if node.get("type") == "integer":
        found.append((where, node))
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in node.get(key, []):
            found += _integers(spec, sub, where, seen)
    for name, sub in node.get("properties", {}).items():
        found += _integers(spec, sub, f"{where}.{name}", seen)
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            found += _integers(spec, node[key], f"{where}[]", seen)
    return found


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, methods in spec["paths"].items()
        for method, op in methods.items()
    ]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_every_integer_a_request_carries_is_bounded(api: Api) -> None:
    spec = _spec(api)
    found: list[tuple] = []
    for method, path, op in _operations(spec):
        for p in op.get("parameters", []):
            found += _integers(spec, p["schema"], f"{method} {path} {p['name']}", set())
        for media in op.get("requestBody", {}).get("content", {}).values():
            found += _integers(spec, media.get("schema", {}), f"{method} {path} body", set())
    assert len(found) >= 20  # the walk reached the ids, offsets and body integers
    # <= 2^63 - 1 is what the database holds; the API publishes 2^53 - 1 (see serving/types.py)
    unbounded = [w for w, s in found if s.get("maximum", BIG) > DB_MAX]
    assert not unbounded, f"integers without a database-sized maximum: {unbounded}"
    too_low = [w for w, s in found if s.get("minimum", -BIG - 1) < -BIG]
    assert not too_low, too_low


def _problem_names(r: Any, field: str, bound: int = API_INT_MAX) -> None:
    assert r.status_code == 422, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/problem+json")
    errors = r.json()["errors"]
    assert any(e["field"] == field and e["rule"] == "less_than_equal" for e in errors), errors
    assert any(f"{bound} /" in e["message"] for e in errors), errors  # Vietnamese / English


def test_each_integer_parameter_of_the_openapi_refuses_2_63(api: Api) -> None:
    """Every integer path or query parameter of every operation, from the document."""
    spec = _spec(api)
    checked = 0
    for method, path, op in _operations(spec):
        params = op.get("parameters", [])
        ints = [p for p in params if _integers(spec, p["schema"], "", set())]
        for p in ints:
            url = path
            query: dict[str, Any] = {}
            for other in params:
                if other["in"] == "path":
                    value = BIG if other is p else 1
                    url = url.replace("{" + other["name"] + "}", str(value))
            if p["in"] == "query":
                query[p["name"]] = str(BIG)
            kw: dict[str, Any] = {"params": query, "headers": api.headers("central")}
            if method != "get":  # POST, and PATCH /users/{id}
                kw["json"] = {}
            bound = _integers(spec, p["schema"], "", set())[0][1]["maximum"]
            _problem_names(api.client.request(method.upper(), url, **kw), p["name"], int(bound))
            checked += 1
    assert checked >= 15  # ids of doses, items, tickets and the offsets of every list


def test_the_reported_ones(api: Api) -> None:
    """The four of issue 14, by hand."""
    _problem_names(api.get("/doses", "central", params={"offset": str(BIG)}), "offset")
    _problem_names(api.get(f"/doses/{BIG}", "central"), "dose_id")
    _problem_names(api.get(f"/worklist/{BIG}", "central"), "item_id")
    _problem_names(api.post(f"/tickets/{BIG}:accept", "central"), "ticket_id", INT32)
    # the largest id accepted is a valid id: simply not there
    assert api.get(f"/doses/{API_INT_MAX}", "central").status_code == 404


def test_integers_in_bodies(api: Api) -> None:
    body = payload("an", session_id=BIG)
    _problem_names(api.post("/doses", "site_a1", json=body), "session_id", INT32)
    r = api.post("/doses:batch", "site_a1", json={"doses": [payload("an", session_id=BIG)]})
    assert r.status_code == 200, r.text
    item = r.json()["results"][0]
    assert item["status"] == 422
    assert item["problem"]["errors"][0]["field"] == "doses.0.session_id"
    _problem_names(
        api.post("/tickets", "citizen_an", json={"field": "dob", "dose_id": BIG}), "dose_id"
    )
    _problem_names(api.post("/worklist:bulk-accept", "central", json={"ids": [1, BIG]}), "ids.1")
