"""The certificate commands over a real database: keys, certify (one and a ward), verify, revoke."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.certificates.conftest import record
from tests.factories import submission, world
from tiemchung.certificates.pdf import qr_png
from tiemchung.cli.main import app
from tiemchung.config import Settings, get_settings
from tiemchung.core import Platform

runner = CliRunner()


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("TIEMCHUNG_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TIEMCHUNG_DATABASE_URL", settings.resolved_database_url)
    get_settings.cache_clear()
    yield get_settings()  # type: ignore[misc]
    get_settings.cache_clear()


def test_keys_certify_verify_revoke(env: Settings, platform: Platform, tmp_path: Path) -> None:
    record(platform, submission("an"), submission("binh"))
    r = runner.invoke(app, ["keys", "init"])
    assert r.exit_code == 0, r.output
    assert "PRIVATE" not in r.output
    for key in (env.data_dir / "keys" / "dcc").glob("*-key.pem"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert runner.invoke(app, ["keys", "init"]).exit_code == 2  # never overwrites keys
    trust = json.loads(runner.invoke(app, ["keys", "trust-list"]).stdout)
    assert len(trust["dsc"]) == 1

    pdf = tmp_path / "an.pdf"
    r = runner.invoke(app, ["certify", "--person", "P-AN", "--pdf", str(pdf)])
    assert r.exit_code == 0, r.output
    hc1 = r.stdout.strip().splitlines()[-1]
    assert hc1.startswith("HC1:") and pdf.read_bytes().startswith(b"%PDF")

    r = runner.invoke(app, ["verify", hc1, "--json"])
    assert r.exit_code == 0, r.output
    verdict = json.loads(r.stdout)
    assert verdict["valid"] and verdict["steps"]["revocation"] == "pass"
    image = tmp_path / "qr.png"
    image.write_bytes(qr_png(hc1))
    assert runner.invoke(app, ["verify", "--image", str(image)]).exit_code == 0
    dsc = (
        env.data_dir
        / "keys"
        / "dcc"
        / ((env.data_dir / "keys" / "dcc" / "current").read_text().strip() + ".pem")
    )
    r = runner.invoke(app, ["verify", hc1, "--cert", str(dsc), "--at", "2020-01-01T00:00:00Z"])
    assert r.exit_code == 1 and "expiry: fail" in r.output

    assert runner.invoke(app, ["keys", "rotate"]).exit_code == 0
    assert runner.invoke(app, ["verify", hc1]).exit_code == 0  # the old DSC is still trusted

    uvci = verdict["uvci"]
    assert runner.invoke(app, ["revoke", uvci, "--reason", "test"]).exit_code == 0
    r = runner.invoke(app, ["verify", hc1, "--json"])
    assert r.exit_code == 1 and json.loads(r.stdout)["steps"]["revocation"] == "fail"

    for bad in (["verify", "garbage"], ["verify", "--image", str(tmp_path / "none.png")]):
        assert runner.invoke(app, bad).exit_code in (1, 2)
    r = runner.invoke(app, ["certify", "--person", "P-CUONG"])
    assert r.exit_code == 2 and "no dose verified" in r.output


def test_certify_a_ward(env: Settings, platform: Platform, tmp_path: Path) -> None:
    record(platform, submission("an"), submission("binh"))
    assert runner.invoke(app, ["keys", "init"]).exit_code == 0
    ward = world().wards["a1"]
    out = tmp_path / "out"
    r = runner.invoke(app, ["certify", "--ward", ward, "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == ["P-AN.pdf", "P-BINH.pdf"]
    r = runner.invoke(app, ["certify", "--ward", ward, "--out", str(out), "--merged"])
    assert r.exit_code == 0, r.output
    merged = (out / f"certificates-{ward}.pdf").read_bytes()
    assert b"/Count 2" in merged  # one page per person
    assert runner.invoke(app, ["certify", "--ward", ward]).exit_code == 2


def test_doctor_says_whether_certificates_can_be_signed(env: Settings) -> None:
    r = runner.invoke(app, ["doctor"])
    assert r.exit_code == 0, r.output  # a warning: the rest of the platform works without
    assert "no certificate signing keys" in r.output and "run `tiemchung keys init`" in r.output
    assert runner.invoke(app, ["keys", "init"]).exit_code == 0
    r = runner.invoke(app, ["doctor"])
    assert r.exit_code == 0 and "certificate signing keys present" in r.output
    assert "no certificate signing keys" not in r.output
