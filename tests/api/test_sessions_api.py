"""Session planning through the API and the CLI, from a fresh ``tiemchung init`` (no demo,
no seed): the CLI plans a session, the API opens it, a dose naming it is recorded only while
it is open, the closing answers the reconciliation, and the refusals are problem documents
in both languages naming the session. Both backends."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.api.test_fresh_install import PASSWORD, PROVINCE, fresh  # noqa: F401 (fixture)
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
