"""The command line: a run, its exit codes, and the scorer."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tiemchung.cli import app

from .conftest import Case

runner = CliRunner()


def test_reconcile_and_score(case: Case, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = runner.invoke(
        app,
        [
            "reconcile",
            "--register",
            str(case.register_file),
            "--records",
            str(case.records_file),
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "verified" in res.output
    for name in ("links.csv", "links.parquet", "summary.json", "report.html", "model.json"):
        assert (out / name).is_file(), name
    assert not (out / ".work").exists()
    res = runner.invoke(app, ["reconcile", "score", "--truth", str(case.truth_file), str(out)])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    # hand-made rows are not in the synthetic truth file; everything else is
    assert doc["records_not_in_truth"] == 14
    assert doc["link"]["f1"] > 0.99


def test_bad_input_exit_code_and_message(case: Case, tmp_path: Path) -> None:
    missing = tmp_path / "missing.parquet"
    res = runner.invoke(
        app,
        [
            "reconcile",
            "--register",
            str(case.register_file),
            "--records",
            str(missing),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert res.exit_code == 2
    assert "missing.parquet" in res.output
    res = runner.invoke(app, ["reconcile", "--records", str(case.records_file)])
    assert res.exit_code == 2
    assert "--register" in res.output and "--out" in res.output
