"""The AEFI routes through the real app (both backends): a report recorded by a site, read,
corrected (the history in the audit log), listed with filters and keyset pages, exported, and
counted with its lot's flag; a refused report is a problem document naming the field."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import select

from tests.api.conftest import Api
from tests.factories import PROVINCE_A, payload, world
from tiemchung.core import Platform
from tiemchung.registry.models import AuditEvent

BODY: dict[str, Any] = {
    "onset_at": "2021-10-01T15:00:00+07:00",
    "symptoms": ["anaphylaxis"],
    "seriousness": ["life_threatening"],
    "outcome": "recovering",
    "reporter_name": "Bác sĩ Thử",
}


def _doses(api: Api, n: int) -> list[int]:
    out = []
    for _ in range(n):
        r = api.post("/doses", "site_a1", json=payload(None, site_id=world().sites["a1"]))
        assert r.status_code == 201, r.text
        out.append(r.json()["id"])
    return out


def test_record_correct_list_and_count(api: Api, platform: Platform) -> None:
    doses = _doses(api, 3)
    ids = []
    for n, dose in enumerate(doses):
        onset = f"2021-10-0{2 + n}T09:00:00+07:00"
        r = api.post("/aefi", "site_a1", json=BODY | {"dose_id": dose, "onset_at": onset})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    # three serious onsets on the 2nd, 3rd and 4th October: a burst → PF-OK flagged
    body = r.json()
    assert body["lot_number"] == "PF-OK" and body["serious"] is True
    assert body["lot_flagged"] is True and body["flag_reason"] == "burst"
    assert body["onset_at"] == "2021-10-04T09:00:00+07:00"
    # a correction: the first report was not serious after all
    r = api.client.patch(
        f"/api/v1/aefi/{ids[0]}",
        headers=api.headers("site_a1"),
        json={"seriousness": [], "symptoms": ["fever"], "outcome": "recovered"},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["serious"], r.json()["version"]) == (False, 2)
    with platform.sessions() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "aefi.update"))
        assert event is not None and event.detail["seriousness"] == [["life_threatening"], []]
    # two serious left in 3 doses: flagged now by the rate
    r = api.get(f"/aefi/{ids[1]}", "ward_a1")
    assert r.status_code == 200 and r.json()["flag_reason"] == "rate"
    r = api.get("/aefi", "prov_a", params={"serious": "true", "limit": 1})
    page = r.json()
    assert [x["id"] for x in page["items"]] == [ids[2]] and page["next_before"] == ids[2]
    r = api.get("/aefi", "prov_a", params={"serious": "true", "before": ids[2]})
    assert [x["id"] for x in r.json()["items"]] == [ids[1]] and r.json()["next_before"] is None
    r = api.get("/aefi", "central", params={"from": "2021-10-03", "to": "2021-10-03"})
    assert [x["id"] for x in r.json()["items"]] == [ids[1]]
    r = api.get("/aefi", "central", params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == 4 and rows[0][0] == "Mã báo cáo / Report id"
    r = api.get("/aefi/summary", "central", params={"by": "province"})
    summary = r.json()
    assert summary["rule"] == {
        "burst_count": 3,
        "burst_days": 7,
        "per_10k": 10.0,
        "rate_min_serious": 2,
    }
    (row,) = summary["items"]
    assert (row["place_code"], row["lot_number"], row["reports"], row["serious"]) == (
        PROVINCE_A,
        "PF-OK",
        3,
        2,
    )
    assert (row["flagged"], row["flag_reason"]) == (True, "rate")


def test_a_refused_report_names_its_field(api: Api) -> None:
    (dose,) = _doses(api, 1)
    bad = BODY | {"dose_id": dose, "onset_at": "2021-09-30T08:00:00+07:00", "outcome": "died"}
    r = api.post("/aefi", "site_a1", json=bad)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    errors = {e["field"]: e for e in r.json()["errors"]}
    assert set(errors) == {"onset_at", "seriousness", "death_date"}
    assert "before the dose date 2021-10-01" in errors["onset_at"]["message_en"]
    assert "trước ngày tiêm 01/10/2021" in errors["onset_at"]["message_vi"]
    r = api.post("/aefi", "site_a1", json=BODY | {"dose_id": 999999})
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "dose_id"
