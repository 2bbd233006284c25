"""`tiemchung stats show` answers every level's tables: a site's breakdown by vaccine and sex
and the stock panel, from the same service the API and the dashboard use (issue 17)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.factories import submission, world
from tiemchung.cli.main import app
from tiemchung.config import Settings, get_settings
from tiemchung.core import Platform
from tiemchung.registry.catalog.lots import LotReceipt, receive_lot
from tiemchung.registry.doses.record import record_doses
from tiemchung.registry.scope import Actor

runner = CliRunner()
TODAY = date(2022, 6, 1)


@pytest.fixture
def env(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("TIEMCHUNG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TIEMCHUNG_DATABASE_URL", database_url)
    get_settings.cache_clear()
    settings = get_settings()
    settings.token_secret(create=True)
    system = Actor.system("tests")
    with Platform(settings) as platform:
        # An (M, a1) dose 1 of Pfizer at site a1; Bình (F, a1) AZ at a1; Dũng (M, b1) at b1
        subs = [
            submission("an"),
            submission("binh", product_code="AZ", lot_number="AZ-OK"),
            submission("dung", site_id=world().sites["b1"]),
        ]
        done = platform.writer.run(
            lambda s: record_doses(s, platform.catalog, system, subs, today=TODAY)
        )
        assert [r.error for r in done] == [None, None, None]
        with platform.sessions() as s:
            receipt = LotReceipt("AZ", "AZ-OK", date(2030, 1, 1), world().sites["a1"], 4)
            receive_lot(s, system, receipt, today=TODAY)
            s.commit()
    yield settings
    get_settings.cache_clear()


def test_stats_show_a_sites_breakdown_and_stock(env: Settings) -> None:
    a1 = world().sites["a1"]
    result = runner.invoke(app, ["stats", "show", "doses_by_product", "--site", a1])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["table"]["rows"]
    got = {r["product"]: (r["male"], r["female"], r["total"]) for r in rows}
    # Dũng's dose was given at b1: not this site's
    assert got == {"PFIZER": (1, 0, 1), "AZ": (0, 1, 1), "Tổng / Total": (1, 1, 2)}
    result = runner.invoke(app, ["stats", "show", "coverage_by_sex", "--site", a1])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["table"]["rows"]
    # the site's ward a1: An (M) and Bình (F), each with one dose
    got = {r["sex"]: (r["registered"], r["first"], r["full"]) for r in rows}
    assert got == {"M": (1, 1, 0), "F": (1, 1, 0)}
    result = runner.invoke(app, ["stats", "show", "stock", "--site", a1])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["table"]["rows"]
    # 4 received, Bình's dose taken from it
    assert [(r["lot_number"], r["on_hand"], r["state"]) for r in rows] == [("AZ-OK", 3, "ok")]
    result = runner.invoke(app, ["stats", "show", "coverage", "--site", "NO-SUCH"])
    assert result.exit_code == 1 and "NO-SUCH" in result.output
