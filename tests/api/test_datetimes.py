"""Every datetime the API answers with carries its offset (UTC), on both backends.

SQLite gave ``created_at`` / ``decided_at`` back without a time zone, sent as
``"2026-12-07T03:18:25"`` against ``format: date-time``, which requires one (issue 14).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.api.conftest import Api
from tests.factories import payload, review_item, world
from tiemchung.core import Platform


def _utc(value: Any) -> datetime:
    assert isinstance(value, str), value
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None, f"{value!r} has no time zone"
    assert parsed.utcoffset() == timedelta(0), value
    # and it is now-ish: the offset is right, not merely present
    assert abs(datetime.now(UTC) - parsed) < timedelta(hours=1), value
    return parsed


def _unverified_item(api: Api, platform: Platform, national_id: str) -> int:
    body = payload(None, full_name="Nguyễn Văn Ân", national_id=national_id, dob="1985-04-12")
    body["ward_code"] = world().wards["a1"]
    r = api.post("/doses", "central", json=body)
    assert r.status_code == 201, r.text
    dose_id = int(r.json()["id"])
    return platform.writer.run(
        lambda s: review_item(s, dose_id, [("an", 0.9, {"national_id": "001085123456"})])
    )


def test_worklist_and_decisions_answer_aware_datetimes(api: Api, platform: Platform) -> None:
    first = _unverified_item(api, platform, "001085123457")
    second = _unverified_item(api, platform, "001085123458")
    third = _unverified_item(api, platform, "001085123459")

    page = api.get("/worklist", "ward_a1").json()
    assert page["items"], page
    for item in page["items"]:
        _utc(item["created_at"])
        assert item["decided_at"] is None
    _utc(api.get(f"/worklist/{first}", "ward_a1").json()["created_at"])

    accepted = api.post(f"/worklist/{first}:accept", "ward_a1")
    assert accepted.status_code == 200, accepted.text
    _utc(accepted.json()["decided_at"])  # DecisionResult
    rejected = api.post(f"/worklist/{second}:reject", "ward_a1", json={"reason": "khác người"})
    assert rejected.status_code == 200, rejected.text
    _utc(rejected.json()["decided_at"])
    detail = api.get(f"/worklist/{first}", "ward_a1").json()  # read back from the store
    _utc(detail["created_at"])
    _utc(detail["decided_at"])
    reopened = api.post(f"/worklist/{first}:reopen", "prov_a", json={"reason": "xem lại"})
    assert reopened.status_code == 200, reopened.text
    _utc(reopened.json()["created_at"])
    bulk = api.post("/worklist:bulk-accept", "ward_a1", json={"ids": [third]})
    assert bulk.status_code == 200, bulk.text
    _utc(bulk.json()["results"][0]["result"]["decided_at"])


def test_tickets_answer_aware_datetimes(api: Api) -> None:
    dose = api.post("/doses", "central", json=payload("an"))
    assert dose.status_code == 201, dose.text
    r = api.post(
        "/tickets",
        "citizen_an",
        json={"dose_id": dose.json()["id"], "field": "dob", "proposed_value": "13/04/1985"},
    )
    assert r.status_code == 201, r.text
    ticket = r.json()
    _utc(ticket["created_at"])
    listed = api.get("/tickets", "citizen_an").json()["items"]
    _utc(listed[0]["created_at"])
    decided = api.post(f"/tickets/{ticket['id']}:accept", "ward_a1")
    assert decided.status_code == 200, decided.text
    _utc(decided.json()["created_at"])
    _utc(decided.json()["decided_at"])
    _utc(api.get(f"/tickets/{ticket['id']}", "citizen_an").json()["decided_at"])
