"""What a runtime-only install relies on (issue 20 point 8): the CLI and the server never import
the heavy optional packages, and `--engine spark` without pyspark says how to install it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tiemchung.cli.main import app
from tiemchung.reconcile.engines import MissingExtraError, make_engine

OPTIONAL = ("pyspark", "splink", "playwright", "recordlinkage", "qrcode", "pytest")

_PROBE = """
import json, sys
import tiemchung.cli.main, tiemchung.server, tiemchung.api.app, tiemchung.web.site
import tiemchung.reconcile, tiemchung.reconcile.run, tiemchung.demo
from tiemchung.server import create_app
create_app
loaded = sorted({m.split('.')[0] for m in sys.modules} & set(json.loads(sys.argv[1])))
print(json.dumps(loaded))
"""


def test_the_cli_and_the_server_import_no_optional_package() -> None:
    # a fresh interpreter: this test process has pytest (and maybe pyspark) loaded already
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(OPTIONAL)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_the_probe_would_see_an_optional_package(tmp_path: Path) -> None:
    # the probe's own check: a package the probe imports shows up in what it reports
    done = subprocess.run(
        [sys.executable, "-c", "import json\n" + _PROBE, json.dumps(["json", "pyspark"])],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == ["json"]


def test_engine_spark_without_pyspark_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # `import pyspark` now fails
    result = CliRunner().invoke(
        app,
        [
            "reconcile",
            "--engine",
            "spark",
            "--register",
            str(tmp_path / "register.parquet"),
            "--records",
            str(tmp_path / "records.parquet"),
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.split())
    assert "pip install 'tiemchung[spark]'" in flat
    assert "uv sync --extra spark" in flat
    assert "chưa được cài" in flat  # and in Vietnamese
    assert not (tmp_path / "out").exists()  # stopped before any work


def test_make_engine_spark_without_pyspark_raises_the_same_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)
    with pytest.raises(MissingExtraError, match=r"tiemchung\[spark\]"):
        make_engine("spark", tmp_path)
