"""`make demo` reuses ./demo-data when it is whole, rebuilds it when a build stopped half-way or
with --fresh, and never wipes a folder the demo did not make (issue 20 point 8)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tiemchung.cli.main import app
from tiemchung.config import get_settings

runner = CliRunner()
PEOPLE = "400"  # a small province: the build, not its size, is under test


@pytest.fixture(autouse=True)
def _own_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The demo command sets TIEMCHUNG_* for its own folder: undone after each test."""
    monkeypatch.delenv("TIEMCHUNG_DATA_DIR", raising=False)
    monkeypatch.delenv("TIEMCHUNG_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _demo(folder: Path, *more: str) -> str:
    result = runner.invoke(
        app, ["demo", "--dir", str(folder), "--no-serve", "--people", PEOPLE, *more]
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_a_whole_folder_is_reused_and_fresh_rebuilds_it(tmp_path: Path) -> None:
    folder = tmp_path / "demo-data"
    first = _demo(folder)
    assert "(reused:" not in first
    whole = folder / ".demo-whole"
    assert whole.is_file() and not (folder / ".demo-building").exists()
    truth = folder / "synth" / "truth.parquet"
    marked, generated = whole.stat().st_mtime_ns, truth.stat().st_mtime_ns

    again = _demo(folder)
    assert "(reused:" in again and "congdan" in again
    # nothing was built again: the marker and the generated province are untouched
    assert whole.stat().st_mtime_ns == marked
    assert truth.stat().st_mtime_ns == generated

    fresh = _demo(folder, "--fresh")
    assert "(reused:" not in fresh
    assert truth.stat().st_mtime_ns != generated
    assert whole.stat().st_mtime_ns != marked


def test_a_half_built_folder_is_built_again(tmp_path: Path) -> None:
    folder = tmp_path / "demo-data"
    _demo(folder)
    # as a build killed before its end leaves it: the building marker, no whole marker, and
    # files the next build must not trust
    (folder / ".demo-whole").unlink()
    (folder / ".demo-building").touch()
    stray = folder / "synth" / "left-over.parquet"
    stray.write_bytes(b"half")

    out = _demo(folder)
    assert "(reused:" not in out
    assert not stray.exists()
    assert (folder / ".demo-whole").is_file()
    assert not (folder / ".demo-building").exists()


def test_fresh_never_wipes_a_folder_the_demo_did_not_make(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    db = folder / "tiemchung.db"
    db.write_bytes(b"somebody's database")

    result = runner.invoke(app, ["demo", "--dir", str(folder), "--no-serve", "--fresh"])
    assert result.exit_code == 2
    assert "not wiped" in result.output and "không xoá" in result.output
    assert db.read_bytes() == b"somebody's database"
    assert not (folder / ".demo-building").exists()
