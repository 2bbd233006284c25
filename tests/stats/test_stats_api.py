"""The statistics API over a real database: figures, scoping, problem documents, exports."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.api.conftest import Api
from tests.factories import PROVINCE_A, PROVINCE_B
from tests.stats.scenario import Scenario, make
from tiemchung.core import Platform
from tiemchung.server import create_app


@pytest.fixture
def api_sc(platform: Platform) -> Iterator[tuple[Api, Scenario]]:
    with platform.sessions() as s:
        sc = make(s, seed=11)
    with TestClient(create_app(platform)) as client:
        yield Api(client), sc


def test_tables_scoped_and_fresh(api_sc: tuple[Api, Scenario]) -> None:
    api, sc = api_sc
    r = api.get("/stats", "prov_a")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["province"] == PROVINCE_A and "coverage" in body["tables"]
    assert body["snapshot"]["rows"]["doses"] == len(sc.doses)
    r = api.get("/stats/doses_per_day", "prov_a", params={"date_to": "2021-12-31"})
    assert r.status_code == 200, r.text
    total = sum(row["total"] for row in r.json()["table"]["rows"])
    want = sum(
        1
        for d in sc.doses
        if d["status"] != "duplicate"
        and d["area"][1] == PROVINCE_A
        and d["day"] <= date(2021, 12, 31)
    )
    assert total == want > 0
    r = api.get("/stats/coverage", "prov_a", params={"province": PROVINCE_B})
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == "province"
    r = api.get("/stats/coverage", "citizen_an")
    assert r.status_code == 403, r.text
    # issue 17: a commune and a site read their own ward, and nothing else
    wards = {user: sc.sites[f"S-{user[-2:].upper()}"][0] for user in ("ward_a1", "site_a1")}
    for user, ward in wards.items():
        r = api.get("/stats/coverage", user)
        assert r.status_code == 200, (user, r.text)
        assert [row["code"] for row in r.json()["table"]["rows"]] == [ward]
        r = api.get("/stats/coverage", user, params={"province": PROVINCE_B})
        assert r.status_code == 403 and r.json()["errors"][0]["field"] == "province"
        assert r.headers["content-type"].startswith("application/problem+json")
    # coverage by sex: the site's ward's register persons per sex (counted here)
    r = api.get("/stats/coverage_by_sex", "site_a1")
    assert r.status_code == 200, r.text
    got = {row["sex"]: row["registered"] for row in r.json()["table"]["rows"] if row["registered"]}
    want: dict[str, int] = {}
    for p in sc.persons:
        if p["ward"] == wards["site_a1"]:
            sex = p["sex"] if p["sex"] in ("M", "F") else "U"
            want[sex] = want.get(sex, 0) + 1
    assert got == want and sum(want.values()) > 0
    assert "coverage_by_sex" in api.get("/stats", "ward_a1").json()["tables"]
    r = api.get("/stats", "site_a1")
    assert r.status_code == 200 and r.json()["site"] == "S-A1"
    assert r.json()["ward"] == wards["site_a1"]
    assert api.get("/stats/coverage", None).status_code == 401
    assert api.get("/stats/nonsense", "central").status_code == 404
    r = api.get("/stats/coverage", "central", params={"date_from": "2021-13-01"})
    assert r.status_code == 422


def test_exports_parse_back(api_sc: tuple[Api, Scenario]) -> None:
    api, sc = api_sc
    j = api.get("/stats/quality", "central").json()["table"]
    r = api.get("/stats/quality", "central", params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == 'attachment; filename="quality_toan-quoc.csv"'
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][0] == "Mã tỉnh / Province code"
    keys = [c["key"] for c in j["columns"]]
    parsed = [dict(zip(keys, row, strict=True)) for row in rows[1:]]
    assert sum(int(p["total"]) for p in parsed) == len(sc.doses)
    assert sum(int(p["duplicate"]) for p in parsed) == sum(
        d["status"] == "duplicate" for d in sc.doses
    )
    r = api.get("/stats/recorded_vs_reported_by_day", "prov_b", params={"format": "xlsx"})
    assert r.status_code == 200
    assert r.headers["content-disposition"] == (  # named after the filter as applied
        f'attachment; filename="recorded_vs_reported_by_day_tinh-{PROVINCE_B}.xlsx"'
    )
    # the age group is no filter of the tallies, nor the dates of the backlog: not in the name
    params = {"format": "csv", "age_group": "18-49", "date_from": "2021-09-01"}
    r2 = api.get("/stats/backlog", "prov_b", params=params)
    assert r2.headers["content-disposition"] == (
        f'attachment; filename="backlog_tinh-{PROVINCE_B}.csv"'
    )
    r2 = api.get("/stats/recorded_vs_reported", "prov_b", params=params)
    assert r2.headers["content-disposition"] == (
        f'attachment; filename="recorded_vs_reported_tinh-{PROVINCE_B}_tu-2021-09-01.csv"'
    )
    ws = load_workbook(io.BytesIO(r.content)).active
    values = list(ws.iter_rows(values_only=True))
    assert values[0][0] == "Ngày / Day"
    reported = sum(v[2] for v in values[1:])
    in_b = {s for s, (_w, p) in sc.sites.items() if p == PROVINCE_B}
    assert reported == sum(t["reported"] for t in sc.tallies if t["site_id"] in in_b) > 0
    assert all(hasattr(v[0], "year") for v in values[1:])  # dates stay dates


def test_refresh_is_for_dashboard_users(api_sc: tuple[Api, Scenario]) -> None:
    api, _sc = api_sc
    assert api.post("/stats:refresh", "ward_a1").status_code == 403
    r = api.post("/stats:refresh", "central")
    assert r.status_code == 202 and r.json()["snapshot"]["built_at"]


def test_no_snapshot_yet_is_503_with_retry_after(
    api_sc: tuple[Api, Scenario], platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh install: the first snapshot builds in the background; nobody waits past the
    first wait (here 0 s) but is told to come back, and then gets the figures."""
    from tiemchung.stats.service import stats_for, wait_refreshed

    api, sc = api_sc
    monkeypatch.setenv("TIEMCHUNG_STATS_FIRST_WAIT_SECONDS", "0")
    r = api.get("/stats", "prov_a")
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == "15"
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["rule"] == "snapshot_pending"
    svc = stats_for(platform)
    wait_refreshed(svc)
    assert svc.last_error is None
    r = api.get("/stats", "prov_a")
    assert r.status_code == 200 and r.json()["snapshot"]["rows"]["doses"] == len(sc.doses)
