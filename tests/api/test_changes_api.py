"""``GET /api/v1/changes`` and ``tiemchung changes list``: the cursor, the page, the scope,
the audit and the refusals (issue 19 point 3), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.api.conftest import Api
from tests.factories import payload, world
from tiemchung.api.routes.fhir import PREFIX
from tiemchung.cli.main import app
from tiemchung.config import Settings, get_settings
from tiemchung.core import Platform
from tiemchung.registry.changes import feed
from tiemchung.registry.models import AuditEvent


def _dose(api: Api, person: str, site: str, ward: str) -> str:
    w = world()
    body = payload(person, site_id=w.sites[site], ward_code=w.wards[ward])
    r = api.post("/doses", "central", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


@pytest.fixture
def three(api: Api) -> list[str]:
    """Three doses: An (ward a1), Cường (ward a2), Dũng (ward b1, province B), in order."""
    where = (("an", "a1", "a1"), ("cuong", "a1", "a2"), ("dung", "b1", "b1"))
    return [_dose(api, person, site, ward) for person, site, ward in where]


def test_the_cursor_walks_every_change_once_in_order(api: Api, three: list[str]) -> None:
    r = api.get("/changes", "central", params={"after": 0, "limit": 2})
    assert r.status_code == 200, r.text
    page = r.json()
    assert [c["id"] for c in page["changes"]] == three[:2] and page["more"] is True
    first = page["changes"][0]
    assert (first["resource"], first["action"]) == ("Immunization", "created")
    assert first["url"] == f"/fhir/R4/Immunization/{three[0]}"
    assert datetime.fromisoformat(first["at"]).utcoffset() == timedelta(0)  # UTC, SQLite too
    assert page["next"] == page["changes"][1]["seq"] > first["seq"]
    rest = api.get("/changes", "central", params={"after": page["next"]}).json()
    assert [c["id"] for c in rest["changes"]] == three[2:] and rest["more"] is False
    empty = api.get("/changes", "central", params={"after": rest["next"]}).json()
    assert empty == {"changes": [], "next": rest["next"], "more": False}
    # the URL re-reads the resource
    fhir = api.client.get(first["url"], headers=api.headers("central"))
    assert fhir.status_code == 200 and fhir.json()["id"] == three[0]


def test_the_feed_is_scoped_as_the_api(api: Api, three: list[str]) -> None:
    def ids(user: str) -> list[str]:
        r = api.get("/changes", user)
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()["changes"]]

    assert ids("prov_a") == three[:2]
    assert ids("prov_b") == three[2:]
    assert ids("ward_a1") == three[:1]
    assert ids("ward_b1") == three[2:]
    for user in ("site_a1", "citizen_an"):
        r = api.get("/changes", user)
        assert r.status_code == 403
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["errors"][0]["field"] == "role"


def test_bad_cursor_and_limit_are_refused_naming_them(api: Api) -> None:
    for params, field in (({"after": -1}, "after"), ({"limit": 5001}, "limit"),
                          ({"limit": 0}, "limit"), ({"after": 2**64}, "after")):  # fmt: skip
        r = api.get("/changes", "central", params=params)
        assert r.status_code == 422, (params, r.text)
        problem = r.json()["errors"][0]
        assert problem["field"] == field, params
    assert api.get("/changes", None).status_code == 401


def test_each_page_read_is_one_audit_event(api: Api, platform: Platform, three: list[str]) -> None:
    api.get("/changes", "prov_a", params={"limit": 1})
    api.get("/changes", "prov_a", params={"after": 10**6})
    with platform.sessions() as s:
        events = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "changes.read").order_by(AuditEvent.id)
        ).all()
    assert [(e.username, e.detail["count"]) for e in events] == [("prov_a", 1), ("prov_a", 0)]  # type: ignore[index]
    assert events[1].detail["next"] == 10**6  # type: ignore[index]


def test_openapi_documents_the_page_with_an_example(api: Api) -> None:
    spec = api.client.get("/api/v1/openapi.json").json()
    op = spec["paths"]["/api/v1/changes"]["get"]
    schema = op["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/ChangePagePublic")
    model = spec["components"]["schemas"]["ChangePagePublic"]
    assert model["examples"][0]["changes"][0]["url"].startswith(PREFIX)
    assert {"403", "422"} <= set(op["responses"])
    assert feed.FHIR_BASE == PREFIX


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("TIEMCHUNG_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TIEMCHUNG_DATABASE_URL", settings.resolved_database_url)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def test_the_cli_reads_the_same_feed(env: Settings, api: Api, three: list[str]) -> None:
    runner = CliRunner()
    out = runner.invoke(app, ["changes", "list", "--after", "0", "--limit", "2", "--json"])
    assert out.exit_code == 0, out.output
    page = json.loads(out.output)
    assert [c["id"] for c in page["changes"]] == three[:2] and page["more"] is True
    text = runner.invoke(app, ["changes", "list", "--after", str(page["next"])])
    assert text.exit_code == 0, text.output
    assert f"Immunization\t{three[2]}\t/fhir/R4/Immunization/{three[2]}" in text.output
    bad = runner.invoke(app, ["changes", "list", "--limit", "9000"])
    assert bad.exit_code == 2 and "limit" in bad.output


def test_a_batch_is_one_change_per_stored_dose(api: Api) -> None:
    body = {"doses": [payload("an"), payload("binh"), payload("em", lot_number="NO-SUCH")]}
    r = api.post("/doses:batch", "central", json=body)
    assert r.status_code == 200, r.text
    stored = [str(x["dose"]["id"]) for x in r.json()["results"] if x["dose"] is not None]
    assert len(stored) == 2  # the third refused: no dose, no change
    page = api.get("/changes", "central").json()
    assert [(c["id"], c["action"]) for c in page["changes"]] == [(d, "created") for d in stored]
