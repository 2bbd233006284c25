"""Issue 17's "Done when", from a fresh ``tiemchung init`` with no demo and no test seed:
the CLI and the API alone create a site, receive a lot, add a site user and record a dose
through ``POST /api/v1/doses``; the stock goes down by one; an expired lot and an exhausted
lot are refused with a problem document naming the lot. Both backends."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.pgserver import PostgresServer
from tiemchung.cli.main import app as cli
from tiemchung.config import Settings, get_settings
from tiemchung.core import Platform
from tiemchung.registry.catalog.lots import LotReceipt, receive_lot
from tiemchung.registry.models import AdminUnit, AuditEvent, Product
from tiemchung.registry.scope import Actor
from tiemchung.server import create_app

runner = CliRunner()
_fresh = itertools.count()
PASSWORD = "fresh-pass-2026"
#: two real 2021 wards of Nghệ An (40) and one of Hà Nội (01), from the units init loads
PROVINCE = "40"


@pytest.fixture
def fresh(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """An empty database (no template: nothing migrated, nothing seeded) and its settings."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
    else:
        server: PostgresServer = request.getfixturevalue("pg_server")
        url = server.create_database(f"fresh_{next(_fresh)}")
    monkeypatch.setenv("TIEMCHUNG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TIEMCHUNG_DATABASE_URL", url)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def _ok(args: list[str]) -> str:
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, (args, result.output)
    return result.output


def _token(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _dose(site: str, lot: str, name: str) -> dict[str, Any]:
    return {
        "client_uuid": str(uuid.uuid4()),
        "full_name": name,
        "national_id": "040190123456",
        "dob": "1990-05-12",
        "sex": "F",
        "product_code": "PFIZER",
        "lot_number": lot,
        "dose_number": 1,
        "dose_date": date.today().isoformat(),
        "site_id": site,
    }


def _on_hand(client: TestClient, headers: dict[str, str], site: str, lot: str) -> int:
    r = client.get("/api/v1/stock", params={"site_id": site}, headers=headers)
    assert r.status_code == 200, r.text
    found = [x["on_hand"] for x in r.json()["items"] if x["lot_number"] == lot]
    assert len(found) == 1, r.json()
    return int(found[0])


def _problem(r: Any, status: int, rule: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["errors"][0]["rule"] == rule
    return body


def test_a_fresh_install_records_a_dose_and_counts_its_stock(fresh: Settings) -> None:
    _ok(["init"])
    with Platform(fresh) as platform, platform.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Product)) == 7  # vaccines.VACCINES
        wards = list(
            s.scalars(
                select(AdminUnit.code)
                .where(
                    AdminUnit.scheme == "2021",
                    AdminUnit.level == "ward",
                    AdminUnit.province_code == PROVINCE,
                )
                .order_by(AdminUnit.code)
                .limit(2)
            )
        )
    _ok(["init"])  # again: nothing doubled
    ward, other_ward = wards

    # CLI: a site, a delivery of 2 doses, a province user and a site user.
    _ok(["sites", "add", "TYT-A", "--name", "Trạm Y tế A", "--ward", ward])
    _ok(
        [
            "lots",
            "receive",
            "--site",
            "TYT-A",
            "--product",
            "PFIZER",
            "--lot",
            "FR-001",
            "--expiry",
            "2099-12-31",
            "--doses",
            "2",
        ]
    )
    _ok(
        [
            "users",
            "add",
            "tinh40",
            "--role",
            "province",
            "--province",
            PROVINCE,
            "--password",
            PASSWORD,
        ]
    )
    _ok(["users", "add", "nurse-a", "--role", "site", "--site", "TYT-A", "--password", PASSWORD])
    listed = _ok(["sites", "list"])
    assert f"TYT-A\tcommune_health_station\t{ward}\t{PROVINCE}\topen" in listed

    with Platform(fresh) as platform:
        # A lot received in 2021 that has expired since (the API refuses receiving it now).
        with platform.sessions() as s:
            receipt = LotReceipt("PFIZER", "FR-OLD", date(2021, 12, 31), "TYT-A", 50)
            receive_lot(s, Actor.system("test"), receipt, today=date(2021, 6, 1))
            s.commit()
        with TestClient(create_app(platform)) as client:
            province = _token(client, "tinh40")
            # API: a second site (a mobile team) and a delivery there.
            r = client.post(
                "/api/v1/sites",
                json={
                    "site_id": "LD-B",
                    "name": "Đội lưu động B",
                    "ward_code": other_ward,
                    "kind": "mobile_team",
                },
                headers=province,
            )
            assert r.status_code == 201, r.text
            assert (r.json()["province_code"], r.json()["kind"]) == (PROVINCE, "mobile_team")
            r = client.post(
                "/api/v1/lots",
                json={
                    "site_id": "LD-B",
                    "product_code": "PFIZER",
                    "lot_number": "FR-002",
                    "expiry": "2099-12-31",
                    "doses": 5,
                },
                headers=province,
            )
            assert r.status_code == 201, r.text
            assert r.json()["movement"]["quantity"] == 5

            nurse = _token(client, "nurse-a")
            assert _on_hand(client, nurse, "TYT-A", "FR-001") == 2
            first = client.post(
                "/api/v1/doses", json=_dose("TYT-A", "FR-001", "Lê Thị Hoa"), headers=nurse
            )
            assert first.status_code == 201, first.text
            assert _on_hand(client, nurse, "TYT-A", "FR-001") == 1  # down by one

            expired = client.post(
                "/api/v1/doses", json=_dose("TYT-A", "FR-OLD", "Lê Văn An"), headers=nurse
            )
            body = _problem(expired, 422, "lot_expired")
            item = body["errors"][0]
            assert item["field"] == "lot_number"
            assert "FR-OLD" in item["message_vi"] and "FR-OLD" in item["message_en"]
            assert "31/12/2021" in item["message_vi"] and "2021-12-31" in item["message_en"]

            second = client.post(
                "/api/v1/doses", json=_dose("TYT-A", "FR-001", "Lê Văn Bình"), headers=nurse
            )
            assert second.status_code == 201, second.text
            assert _on_hand(client, nurse, "TYT-A", "FR-001") == 0
            exhausted = client.post(
                "/api/v1/doses", json=_dose("TYT-A", "FR-001", "Lê Văn Cường"), headers=nurse
            )
            body = _problem(exhausted, 409, "lot_exhausted")
            assert "FR-001" in body["errors"][0]["message_vi"]
            assert "FR-001" in body["errors"][0]["message_en"]
            assert "TYT-A" in body["errors"][0]["message_en"]
            # a lot the site never received has no stock there either
            elsewhere = client.post(
                "/api/v1/doses", json=_dose("TYT-A", "FR-002", "Lê Văn Dũng"), headers=nurse
            )
            _problem(elsewhere, 409, "lot_exhausted")
            assert _on_hand(client, nurse, "TYT-A", "FR-001") == 0
            # the province sees both sites, and the commune level adds them up per ward
            r = client.get("/api/v1/stock", params={"level": "province"}, headers=province)
            lines = {x["lot_number"]: x for x in r.json()["items"]}
            assert lines["FR-001"]["administered"] == 2 and lines["FR-001"]["received"] == 2
            assert lines["FR-002"]["on_hand"] == 5 and lines["FR-002"]["place_code"] == PROVINCE
            assert lines["FR-OLD"]["expired"] is True

            # a site closed through the API refuses its next dose at once
            r = client.post("/api/v1/sites/TYT-A:close", headers=province)
            assert r.status_code == 200 and r.json()["active"] is False, r.text
            closed = client.post(
                "/api/v1/doses", json=_dose("TYT-A", "FR-001", "Lê Văn Em"), headers=nurse
            )
            _problem(closed, 422, "unknown_site")

        with platform.sessions() as s:
            actions = set(s.scalars(select(AuditEvent.action)))
    assert {"site.create", "site.close", "lot.create", "lot.receive", "dose.create"} <= actions
