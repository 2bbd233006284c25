"""`tiemchung synth` and `--profile`: an overridden rate shows in the output."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tiemchung.cli.main import app
from tiemchung.synth import ProfileError, load_profile

runner = CliRunner()


def test_cli_writes_every_table_and_a_profile_override_shows(tmp_path: Path) -> None:
    profile = tmp_path / "p.toml"
    profile.write_text(
        "[entry]\nnever_entered = 0.25\nwrong = 0.5\nsecond_error = 0.0\n"
        "[entry.error_weights]\n"
        + "".join(
            f"{k} = 0.0\n" for k in load_profile()["entry"]["error_weights"] if k != "sex_wrong"
        ),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["synth", "--people", "6000", "--seed", "3", "--out", str(out), "--profile", str(profile)],
    )
    assert result.exit_code == 0, result.output
    for name in ("register", "records", "truth", "sites", "products", "sessions", "tallies"):
        assert (out / f"{name}.parquet").is_file()
    truth = pq.read_table(out / "truth.parquet").to_pylist()
    inreg = [t for t in truth if t["person_id"]]
    wrong = [t["wrong_fields"] for t in inreg if t["wrong_fields"]]
    assert set(wrong) == {"sex"}  # the only kind left in the profile
    assert 0.45 < len(wrong) / len(inreg) < 0.55
    reported = sum(pq.read_table(out / "tallies.parquet")["reported"].to_pylist())
    entered = sum(t["duplicate_of"] is None for t in truth)
    assert 0.23 < 1 - entered / reported < 0.27
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["counts"]["residents"] == 6000


def test_cli_csv_and_bad_arguments(tmp_path: Path) -> None:
    out = tmp_path / "csv"
    ok = runner.invoke(app, ["synth", "--people", "500", "--out", str(out), "--format", "csv"])
    assert ok.exit_code == 0, ok.output
    header = (out / "records.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.replace('"', "") == (
        "record_id,national_id,full_name,dob,sex,phone,"
        "ward_code,address,vaccine,dose_number,dose_date,site_id"
    )
    bad = runner.invoke(app, ["synth", "--people", "10", "--out", str(out), "--format", "xls"])
    assert bad.exit_code == 2 and "--format" in bad.output
    typo = tmp_path / "t.toml"
    typo.write_text("[entry]\nnever_enterd = 0.1\n", encoding="utf-8")
    bad = runner.invoke(app, ["synth", "--people", "10", "--out", str(out), "--profile", str(typo)])
    assert bad.exit_code == 2 and "never_enterd" in bad.output


def test_profile_validation() -> None:
    with pytest.raises(ProfileError, match="between 0 and 1"):
        load_profile(overrides={"entry": {"wrong": 1.5}})
    with pytest.raises(ProfileError, match="minimum"):
        load_profile(overrides={"vaccination": {"intervals": {"AZ": [7, 30]}}})
    p = load_profile(overrides={"population": {"provinces": {"40": 1.0}}})
    assert p["population"]["provinces"] == {"40": 1.0}  # a data table is replaced whole
