"""Invitations and the overdue list through the API (both backends): preview and send with
counts by hand, the list, problem+json refusals naming their field in both languages, the
overdue page and its spreadsheet, and the OpenAPI page's examples."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from openpyxl import load_workbook

from tests.api.conftest import Api
from tests.registry.invite_world import CENTRAL, dose, person
from tiemchung.core import Platform
from tiemchung.registry.catalog import sessions as planning


def _problem(r: Any, status: int, rule: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    item: dict[str, Any] = r.json()["errors"][0]
    assert item["rule"] == rule, item
    assert item["message_vi"] and item["message_en"]
    return item


def _session(platform: Platform) -> int:
    with platform.sessions() as s:
        today = platform.today()
        vs = planning.plan_session(
            s,
            CENTRAL,
            planning.SessionPlan(
                site_id="S-A1",
                session_date=today + timedelta(days=3),
                products=["PFIZER"],
                time_slots=[
                    planning.TimeSlot("07:30", "09:00", 1),
                    planning.TimeSlot("09:00", "10:00", 1),
                ],
            ),
            today,
        )
        for i in range(3):
            person(s, f"api{i}", dob=f"194{i}-01-01", phone=f"091244400{i}")
        late = person(s, "late", phone="0912444099")
        dose(s, late, 1, today - timedelta(days=31), "PFIZER")  # dose 2 due 10 days ago
        s.commit()
        return vs.id


def test_preview_send_and_list(api: Api, platform: Platform) -> None:
    sid = _session(platform)
    r = api.post(f"/sessions/{sid}/invitations:preview", "site_a1", json={"max_age": 90})
    assert r.status_code == 200, r.text
    # the three api people (born 1940-42), late (dose 2 due 10 days ago), the world's an
    # and binh: six with a phone in ward a1
    assert r.json()["free_places"] == 2 and r.json()["would_invite"] == 2
    assert r.json()["eligible"] == 6
    r = api.post(f"/sessions/{sid}/invitations", "site_a1", json={"wait_list": 1})
    assert r.status_code == 201, r.text
    assert r.json() == {
        "session_id": sid,
        "invited": 2,
        "waitlisted": 1,
        "texts_queued": 2,
        "texts_not_sendable": 0,
    }
    listed = api.get(f"/sessions/{sid}/invitations", "ward_a1").json()
    assert listed["counts"]["invited"] == 2 and listed["counts"]["waitlisted"] == 1
    assert [i["slot"] for i in listed["items"]] == ["07:30-09:00", "09:00-10:00", ""]
    # a dose due comes before a first dose, then the eldest
    assert [i["person_id"] for i in listed["items"]] == ["P-late", "P-api0", "P-api1"]
    shows = api.get(f"/sessions/{sid}/invitations?no_shows=true", "ward_a1").json()
    assert len(shows["items"]) == 2  # nobody has come yet


def test_refusals_are_problems(api: Api, platform: Platform) -> None:
    sid = _session(platform)
    item = _problem(api.post(f"/sessions/{sid}/invitations", "ward_b1", json={}), 404, "not_found")
    assert item["field"] == "session_id"
    item = _problem(
        api.post(f"/sessions/{sid}/invitations", "site_a1", json={"min_age": 60, "max_age": 20}),
        422,
        "age_band",
    )
    assert item["field"] == "min_age"
    r = api.post(f"/sessions/{sid}/invitations", "site_a1", json={"due_by": "tomorrow"})
    assert r.status_code == 422 and "due_by" in r.text
    _problem(
        api.post(f"/sessions/{sid}/invitations", "citizen_an", json={}), 403, "role_not_allowed"
    )


def test_overdue_and_its_spreadsheet(api: Api, platform: Platform) -> None:
    _session(platform)
    r = api.get("/overdue", "ward_a1")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 1
    row = body["items"][0]
    assert (row["person_id"], row["phone"], row["days_overdue"]) == ("P-late", "0912444099", 10)
    assert row["last_contact"] is None
    x = api.get("/overdue.xlsx", "ward_a1")
    assert x.status_code == 200
    sheet = load_workbook(io.BytesIO(x.content)).active
    assert sheet is not None and sheet.cell(2, 1).value == "P-late"
    _problem(api.get("/overdue", "site_a1"), 403, "role_not_allowed")
    assert api.get("/overdue", "ward_b1").json()["total"] == 0


def test_openapi_has_examples(api: Api) -> None:
    spec = api.client.get("/api/v1/openapi.json").json()
    post = spec["paths"]["/api/v1/sessions/{session_id}/invitations"]["post"]
    assert "201" in post["responses"] and "422" in post["responses"]
    schemas = spec["components"]["schemas"]
    assert schemas["InvitationRequest"]["examples"][0]["groups"] == ["G1"]
    assert schemas["OverduePage"]["examples"][0]["items"][0]["days_overdue"] == 46
