"""`tiemchung sites|lots|products|stock` over the seeded test world (both backends): each
command calls its service, prints, and a refusal exits 2 with the rule's words."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.factories import world
from tiemchung.cli.main import app
from tiemchung.config import Settings
from tiemchung.core import Platform
from tiemchung.registry.models import AuditEvent, Product, Site, VaccinationSession

runner = CliRunner()


def _run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (args, result.output)
    return result.output


def test_lots_move_between_sites_and_the_stock_file_says_so(env: Settings, tmp_path: Path) -> None:
    _run(
        "lots",
        "receive",
        "--site",
        "S-A1",
        "--product",
        "MODERNA",
        "--lot",
        "MO-9",
        "--expiry",
        "2099-01-31",
        "--doses",
        "20",
    )
    _run(
        "lots",
        "transfer",
        "--product",
        "MODERNA",
        "--lot",
        "MO-9",
        "--from",
        "S-A1",
        "--to",
        "S-B1",
        "--doses",
        "8",
    )
    too_many = _run(
        "lots",
        "transfer",
        "--product",
        "MODERNA",
        "--lot",
        "MO-9",
        "--from",
        "S-A1",
        "--to",
        "S-B1",
        "--doses",
        "13",
        code=2,
    )
    assert "MO-9" in too_many and "not_enough_stock" in too_many
    with Platform(env) as platform, platform.sessions() as s:
        vs = s.scalar(select(VaccinationSession).where(VaccinationSession.site_id == "S-B1"))
        assert vs is not None
        vs.product_code = "MODERNA"  # the seed's sessions are Pfizer's
        s.commit()
        session_id = vs.id
    _run("lots", "waste", "--session", str(session_id), "--lot", "MO-9", "--doses", "3")
    listed = _run("lots", "list", "--product", "MODERNA").strip().split("\t")
    assert listed[2:5] == ["MO-9", "2099-01-31", str(20 - 3)]
    assert listed[5] == "S-A1=12,S-B1=5"

    out = tmp_path / "stock.csv"
    _run("stock", "--level", "province", "--out", str(out))
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert rows[0][-1] == "Tồn kho / On hand"
    # province A: 20 received − 8 sent; province B: 8 received − 3 wasted
    assert sorted((r[0], r[-1]) for r in rows[1:]) == [("01", "12"), ("40", "5")]


def test_sites_and_products_are_edited_and_audited(env: Settings) -> None:
    w = world()
    _run(
        "sites",
        "add",
        "LD-9",
        "--name",
        "Đội lưu động 9",
        "--ward",
        w.wards["b2"],
        "--kind",
        "workplace",
    )
    bad = _run(
        "sites", "add", "LD-10", "--name", "X", "--ward", w.wards["b2"], "--kind", "boat", code=2
    )
    assert "unknown_kind" in bad
    _run("sites", "edit", "LD-9", "--name", "Đội lưu động số 9")
    _run("sites", "close", "LD-9")
    assert "LD-9\tworkplace\t" in _run("sites", "list", "--ward", w.wards["b2"])
    _run("products", "edit", "HAYATVAX", "--inactive")
    assert "HAYATVAX\tHayat-Vax\t" in _run("products", "list")
    with Platform(env) as platform, platform.sessions() as s:
        site = s.get(Site, "LD-9")
        assert site is not None and (site.name, site.active) == ("Đội lưu động số 9", False)
        product = s.get(Product, "HAYATVAX")
        assert product is not None and product.active is False
        actions = set(s.scalars(select(AuditEvent.action).where(AuditEvent.username == "cli")))
    assert {"site.create", "site.update", "site.close", "product.update"} <= actions


@pytest.mark.parametrize("group", ["sites", "lots", "products"])
def test_help_is_in_both_languages(group: str) -> None:
    text = _run(group, "--help")
    assert {"sites": "Điểm tiêm", "lots": "Lô vắc xin", "products": "Danh mục"}[group] in text
    english = {
        "sites": "Vaccination sites",
        "lots": "Vaccine lots",
        "products": "vaccine catalogue",
    }
    assert english[group] in text
