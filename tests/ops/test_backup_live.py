"""A backup taken while the server writes, the archive's temporary name, and the commands
`tiemchung backup` / `tiemchung restore` as an operator types them."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import tarfile
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.certificates.conftest import record
from tests.factories import submission
from tests.revisions import head
from tiemchung.certificates.service import Issued
from tiemchung.cli.main import app
from tiemchung.config import Settings, get_settings
from tiemchung.core import Platform
from tiemchung.ops import archive
from tiemchung.ops.archive import BackupError
from tiemchung.ops.backup import create_backup, restore_backup


def _doses(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM doses").fetchone()[0])


@pytest.mark.parametrize("backend", ["sqlite"])
def test_sqlite_backup_while_doses_are_written(
    platform: Platform, settings: Settings, tmp_path: Path, backend: str
) -> None:
    db = Path(settings.resolved_database_url.removeprefix("sqlite:///"))
    initial = _doses(db)
    stop = threading.Event()
    written: list[int] = []
    failure: list[BaseException] = []

    def writer() -> None:
        try:
            while not stop.is_set():
                record(platform, *(submission() for _ in range(20)))
                written.append(20)
        except BaseException as exc:  # the assertion below reports it
            failure.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 5 and not failure:
            threading.Event().wait(0.01)
        before = _doses(db)
        result = create_backup(settings, tmp_path / "live.tar", include_keys=False)
        after_backup = len(written)
        while len(written) < after_backup + 5 and not failure:
            threading.Event().wait(0.01)
    finally:
        stop.set()
        thread.join()
    assert not failure, failure
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    with tarfile.open(tmp_path / "live.tar") as tar:
        tar.extract("database.sqlite", unpacked, filter="data")
    copy = unpacked / "database.sqlite"
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    in_copy = _doses(copy)
    assert result.manifest["row_counts"]["doses"] == in_copy
    assert before <= in_copy <= _doses(db)
    assert (in_copy - initial) % 20 == 0  # whole transactions only: each write was 20 doses
    assert _doses(db) > in_copy  # the writer went on after the copy was taken


def test_a_failed_backup_leaves_no_archive(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "b.tar"

    def broken(self: tarfile.TarFile, *args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(tarfile.TarFile, "add", broken)
    with pytest.raises(OSError, match="disk full"):
        create_backup(settings, out, include_keys=False)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".b.tar")] == []


def test_partial_name_is_never_the_archive_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = tmp_path / "database.sqlite"
    member.write_bytes(b"x" * 10)
    renamed: list[tuple[str, bool]] = []
    real_replace = Path.replace

    def spy(self: Path, target: Path) -> Path:
        renamed.append((self.name, Path(target).exists()))
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", spy)
    archive.write_archive(tmp_path / "out.tar", {"format": 1}, {"database.sqlite": member})
    # written whole under a hidden temporary name; out.tar appears only by the rename
    assert renamed == [(f".out.tar.partial-{os.getpid()}", False)]
    assert (tmp_path / "out.tar").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_commands(
    settings: Settings,
    installed: Issued,
    fresh: Callable[[], Settings],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
) -> None:
    runner = CliRunner()

    def use(s: Settings) -> None:
        monkeypatch.setenv("TIEMCHUNG_DATA_DIR", str(s.data_dir))
        monkeypatch.setenv("TIEMCHUNG_DATABASE_URL", s.resolved_database_url)
        get_settings.cache_clear()

    out = tmp_path / "cli.tar"
    use(settings)
    monkeypatch.delenv("TIEMCHUNG_BACKUP_PASSPHRASE_FILE", raising=False)
    monkeypatch.delenv("TIEMCHUNG_KEY_PASSPHRASE_FILE", raising=False)
    try:
        refused = runner.invoke(app, ["backup", str(out)])
        assert refused.exit_code == 2 and "--no-keys" in refused.output
        assert not out.exists()
        secret = tmp_path / "passphrase"
        secret.write_text("mot-mat-khau-dai-cho-ban-sao-luu\n")
        monkeypatch.setenv("TIEMCHUNG_KEY_PASSPHRASE_FILE", str(secret))
        done = runner.invoke(app, ["backup", str(out)])
        assert done.exit_code == 0, done.output
        assert "keys encrypted" in done.output and "doses 6" in done.output

        use(fresh())
        restored = runner.invoke(app, ["restore", str(out)])
        assert restored.exit_code == 0, restored.output
        assert "doses: 6 found, 6 in the manifest" in restored.output
        assert "certificates: 1 found, 1 in the manifest" in restored.output
        again = runner.invoke(app, ["restore", str(out)])
        assert again.exit_code == 2 and "--force" in again.output
        assert runner.invoke(app, ["restore", str(out), "--force"]).exit_code == 0
    finally:
        get_settings.cache_clear()


def _tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, body in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return path


@pytest.mark.parametrize("backend", ["sqlite"])
def test_hand_made_archives_are_refused_by_name(
    settings: Settings, tmp_path: Path, backend: str
) -> None:
    db = Path(settings.resolved_database_url.removeprefix("sqlite:///"))
    before = db.read_bytes()
    manifest = {"format": 1, "database": "sqlite", "alembic_revision": head()}
    cases = {
        "no-db.tar": ({"manifest.json": json.dumps(manifest | {"members": {}}).encode()},
                      ("database.sqlite", "missing")),
        "odd.tar": ({"manifest.json": json.dumps(manifest | {"members": {}}).encode(),
                     "../etc/passwd": b"x"}, ("../etc/passwd", "unexpected_member")),
        "v9.tar": ({"manifest.json": json.dumps(manifest | {"format": 9}).encode()},
                   ("manifest.json", "format")),
        "none.tar": ({"database.sqlite": b"x"}, ("manifest.json", "missing")),
        "unlisted.tar": ({"manifest.json": json.dumps(manifest | {"members": {}}).encode(),
                          "database.sqlite": b"x"}, ("database.sqlite", "unlisted")),
    }  # fmt: skip
    for name, (members, (field, rule)) in cases.items():
        with pytest.raises(BackupError) as err:
            restore_backup(settings, _tar(tmp_path / name, members), force=True)
        assert (err.value.problems[0].field, err.value.problems[0].rule) == (field, rule), name
    assert db.read_bytes() == before
    assert not (tmp_path.parent / "etc").exists()
