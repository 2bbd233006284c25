"""Session planning through the API and the CLI, from a fresh ``tiemchung init`` (no demo,
no seed): the CLI plans a session, the API opens it, a dose naming it is recorded only while
it is open, the closing answers the reconciliation, and the refusals are problem documents
in both languages naming the session. Both backends."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.api.conftest import Api
from tests.api.test_fresh_install import PASSWORD, PROVINCE, fresh  # noqa: F401 (fixture)
from tests.factories import PROVINCE_A, payload, world
from tiemchung.cli.main import app as cli
from tiemchung.config import Settings
from tiemchung.core import Platform
from tiemchung.registry.models import AdminUnit
from tiemchung.server import create_app

runner = CliRunner()


def _ok(args: list[str]) -> str:
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, (args, result.output)
    return result.output


def _problem(r: Any, status: int, rule: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    item: dict[str, Any] = r.json()["errors"][0]
    assert item["rule"] == rule, item
    return item


def test_plan_open_record_and_close_a_session(fresh: Settings) -> None:  # noqa: F811
    _ok(["init"])
    with Platform(fresh) as platform, platform.sessions() as s:
        ward = (
            s.query(AdminUnit.code)
            .filter(
                AdminUnit.scheme == "2021",
                AdminUnit.level == "ward",
                AdminUnit.province_code == PROVINCE,
            )
            .order_by(AdminUnit.code)
            .limit(1)
            .scalar()
        )
        today = platform.today()
    _ok(["sites", "add", "TYT-S", "--name", "Trạm Y tế S", "--ward", str(ward)])
    _ok(["lots", "receive", "--site", "TYT-S", "--product", "PFIZER", "--lot", "SS-1",
         "--expiry", "2099-12-31", "--doses", "10"])  # fmt: skip
    _ok(["users", "add", "nurse-s", "--role", "site", "--site", "TYT-S", "--password", PASSWORD])

    # the CLI refuses a bad plan with both languages and exit 2
    bad = runner.invoke(
        cli, ["sessions", "plan", "TYT-S", "--date", today.isoformat(), "--product", "PFIZER",
              "--slot", "07:00-09:00=5", "--slot", "08:00-10:00=5"],
    )  # fmt: skip
    assert bad.exit_code == 2 and "08:00-10:00" in bad.output and "overlaps" in bad.output
    out = _ok(
        ["sessions", "plan", "TYT-S", "--date", today.isoformat(), "--product", "PFIZER",
         "--lot", "SS-1", "--slot", "07:30-11:00=6", "--slot", "13:30-16:00=4",
         "--group", "G1", "--member", "Nguyễn Thị Lan:điều dưỡng"],
    )  # fmt: skip
    assert "planned" in out and "capacity 10" in out and "07:30-11:00=6" in out
    session_id = int(out.split("session ", 1)[1].split(" ", 1)[0])

    def dose(name: str) -> dict[str, Any]:
        return {
            "client_uuid": str(uuid.uuid4()),
            "full_name": name,
            "national_id": "040190123456",
            "dob": "1990-05-12",
            "sex": "F",
            "product_code": "PFIZER",
            "lot_number": "SS-1",
            "dose_number": 1,
            "dose_date": today.isoformat(),
            "site_id": "TYT-S",
            "session_id": session_id,
        }

    with Platform(fresh) as platform, TestClient(create_app(platform)) as client:
        r = client.post("/api/v1/auth/token", data={"username": "nurse-s", "password": PASSWORD})
        nurse = {"Authorization": f"Bearer {r.json()['access_token']}"}
        listed = client.get("/api/v1/sessions", params={"status": "planned"}, headers=nurse)
        assert [x["id"] for x in listed.json()["items"]] == [session_id]
        assert listed.json()["items"][0]["groups"] == ["G1"]

        item = _problem(client.post("/api/v1/doses", json=dose("Lê Thị Hoa"), headers=nurse),
                        409, "session_not_open")  # fmt: skip
        assert item["field"] == "session_id"
        assert str(session_id) in item["message_vi"] and "not open" in item["message_en"]

        r = client.post(f"/api/v1/sessions/{session_id}:open", headers=nurse)
        assert r.status_code == 200 and r.json()["status"] == "open", r.text
        item = _problem(client.post(f"/api/v1/sessions/{session_id}:open", headers=nurse),
                        409, "wrong_status")  # fmt: skip
        assert "open" in item["message_en"]
        for name in ("Lê Thị Hoa", "Trần Văn Nam"):
            r = client.post("/api/v1/doses", json=dose(name), headers=nurse)
            assert r.status_code == 201, r.text
        r = client.post(
            f"/api/v1/sessions/{session_id}/wastage",
            json={"lot_number": "SS-1", "doses": 3},
            headers=nurse,
        )
        assert r.status_code == 201, r.text
        r = client.post(f"/api/v1/sessions/{session_id}:close", json={"opened": 6}, headers=nurse)
        assert r.status_code == 200, r.text
        # 2 recorded + 3 wasted of 6 opened: 1 unaccounted for
        assert r.json()["closing"] == {
            "recorded": 2,
            "wasted": 3,
            "opened": 6,
            "difference": 1,
            "by_lot": {"SS-1": {"recorded": 2, "wasted": 3}},
        }
        _problem(client.post(f"/api/v1/sessions/{session_id}:cancel", headers=nurse),
                 409, "wrong_status")  # fmt: skip
        _problem(client.post("/api/v1/doses", json=dose("Phạm Thu"), headers=nurse),
                 409, "session_not_open")  # fmt: skip
        r = client.post(
            "/api/v1/sessions",
            json={"site_id": "TYT-S", "session_date": today.isoformat(), "products": ["PFIZER"],
                  "capacity": 5, "time_slots": [{"start": "07:00", "end": "08:00", "capacity": 4}]},
            headers=nurse,
        )  # fmt: skip
        item = _problem(r, 422, "capacity_mismatch")
        assert "(5)" in item["message_vi"] and "(4)" in item["message_en"]
    listed_cli = _ok(["sessions", "list", "--site", "TYT-S"])
    assert f"session {session_id} · TYT-S · {today.isoformat()} · closed" in listed_cli


def test_the_province_sees_planned_capacity_against_the_population_due(
    api: Api, platform: Platform
) -> None:
    w = world()
    today = platform.today()
    # An (ward a1) completes the primary series (Pfizer: two doses); Bình (a1) and Cường (a2)
    # have none: due a1 = 2 registered − 1 full = 1, due a2 = 1
    for n, day in ((1, date(2021, 10, 1)), (2, date(2021, 10, 25))):
        r = api.post("/doses", "central", json=payload("an", dose_number=n, dose_date=day))
        assert r.status_code == 201 and r.json()["status"] == "verified", r.text
    for day, capacity, cancel in ((0, 30, False), (3, 20, False), (5, 50, True), (40, 70, False)):
        body = {"site_id": w.sites["a1"], "session_date": (today + timedelta(days=day)).isoformat(),
                "products": ["PFIZER"], "capacity": capacity}  # fmt: skip
        r = api.post("/sessions", "prov_a", json=body)
        assert r.status_code == 201, r.text
        if cancel:
            assert api.post(f"/sessions/{r.json()['id']}:cancel", "prov_a").status_code == 200
    span = {"date_from": today.isoformat(), "date_to": (today + timedelta(days=30)).isoformat()}
    r = api.get("/sessions/capacity", "prov_a", params=span)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["province_code"] == PROVINCE_A and "full primary" in body["source"]
    rows = {x["ward_code"]: x for x in body["items"]}
    a1, a2 = rows[w.wards["a1"]], rows[w.wards["a2"]]
    # the cancelled session and the one after the range are not counted
    assert (a1["sessions"], a1["capacity"], a1["registered"], a1["due"]) == (2, 50, 2, 1)
    assert a1["capacity_minus_due"] == 49
    assert (a2["sessions"], a2["capacity"], a2["registered"], a2["due"]) == (0, 0, 1, 1)
    r = api.get("/sessions/capacity", "central", params=span | {"province_code": PROVINCE_A})
    assert r.status_code == 200 and {x["ward_code"] for x in r.json()["items"]} == set(rows)
    assert api.get("/sessions/capacity", "ward_a1", params=span).status_code == 403
    refused = api.get("/sessions/capacity", "prov_b", params=span | {"province_code": PROVINCE_A})
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    backwards = {"date_from": span["date_to"], "date_to": span["date_from"]}
    item = _problem(api.get("/sessions/capacity", "prov_a", params=backwards), 422, "range")
    assert item["field"] == "date_from" and "start date" in item["message_en"]
