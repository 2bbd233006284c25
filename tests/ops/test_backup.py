"""Backup and restore over real databases (SQLite and PostgreSQL): every dose found again in a
fresh installation, the certificate issued before still verifying with the restored keys, a
new one signed under the same CSCA, and a damaged archive refused before anything changes."""

from __future__ import annotations

import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.ops.conftest import CENTRAL, NOW
from tests.revisions import head
from tiemchung.certificates import verify
from tiemchung.certificates.keys import KeyStore
from tiemchung.certificates.service import Issued, issue_certificate
from tiemchung.config import Settings
from tiemchung.core import Platform
from tiemchung.ops.archive import BackupError
from tiemchung.ops.backup import create_backup, restore_backup
from tiemchung.store import migrate
from tiemchung.store.db import make_engine


def _rows(url: str, table: str) -> list[dict[str, Any]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [
                dict(r) for r in conn.execute(text(f"SELECT * FROM {table} ORDER BY 1")).mappings()
            ]
    finally:
        engine.dispose()


def _count(url: str, table: str) -> int:
    return len(_rows(url, table))


def _actions(url: str) -> list[str]:
    return [r["action"] for r in _rows(url, "audit_log") if r["action"].startswith("backup.")]


def test_round_trip_into_a_fresh_install(
    settings: Settings,
    installed: Issued,
    fresh: Callable[[], Settings],
    secret: bytes,
    tmp_path: Path,
) -> None:
    src = settings.resolved_database_url
    doses_before = _rows(src, "doses")
    assert len(doses_before) == 6  # recorded by the fixture: An 2, Bình 1, Dũng 3
    out = tmp_path / "backups" / "tiemchung.tar"
    result = create_backup(settings, out, secret=secret)

    with tarfile.open(out) as tar:
        assert sorted(tar.getnames()) == sorted(
            [
                "manifest.json",
                "keys.enc",
                f"database.{'sqlite' if settings.is_sqlite else 'pgdump'}",
            ]
        )
    m = result.manifest
    assert m["format"] == 1 and m["alembic_revision"] == head()
    assert m["database"] == ("sqlite" if settings.is_sqlite else "postgresql")
    assert m["keys"] == "encrypted" and m["row_counts"]["doses"] == 6
    assert m["row_counts"]["certificates"] == 1
    assert _actions(src) == ["backup.create"]
    # the signing key is not in the archive in the clear
    key_pem = (KeyStore.for_settings(settings).folder / "csca-key.pem").read_bytes()
    assert key_pem.split(b"\n")[1] not in out.read_bytes()

    target = fresh()
    report = restore_backup(target, out, secret=secret)
    dst = target.resolved_database_url
    assert report.mismatches == {}
    assert report.counts["doses"] == 6 and report.migrated_from is None
    # every dose, with every field, and the people and the certificate row
    assert _rows(dst, "doses") == doses_before
    assert _rows(dst, "persons") == _rows(src, "persons")
    assert _rows(dst, "certificates") == _rows(src, "certificates")
    assert _actions(dst) == ["backup.restore"]  # the copy predates its own backup's event

    restored = KeyStore.for_settings(target)
    assert restored.folder != KeyStore.for_settings(settings).folder
    assert (target.data_dir / "keys" / "token-secret").read_bytes() == (
        settings.data_dir / "keys" / "token-secret"
    ).read_bytes()
    verdict = verify(installed.hc1, restored.dsc_certificates(), NOW, revoked=set())
    assert verdict.valid, verdict.reasons
    with Platform(target) as p:
        new = p.writer.run(
            lambda s: issue_certificate(s, CENTRAL, "P-DUNG", keys=restored, now=NOW)
        )
    # signed by the restored keys: the ORIGINAL installation's trust list accepts it
    again = verify(new.hc1, KeyStore.for_settings(settings).dsc_certificates(), NOW, revoked=set())
    assert again.valid, again.reasons
    assert again.dcc["v"][0]["dn"] == 3


def _flip_byte(archive: Path, member: str) -> None:
    with tarfile.open(archive) as tar:
        info = tar.getmember(member)
    with archive.open("r+b") as fh:
        fh.seek(info.offset_data + info.size // 2)
        b = fh.read(1)
        fh.seek(-1, 1)
        fh.write(bytes([b[0] ^ 0xFF]))


def _untouched(target: Settings) -> None:
    assert _count(target.resolved_database_url, "doses") == 0
    assert not (target.data_dir / "keys" / "dcc").exists()
    assert _actions(target.resolved_database_url) == []


def test_damaged_archives_are_refused_before_anything_changes(
    settings: Settings,
    installed: Issued,
    fresh: Callable[[], Settings],
    secret: bytes,
    tmp_path: Path,
) -> None:
    out = tmp_path / "b.tar"
    manifest = create_backup(settings, out, secret=secret).manifest
    db_member = next(n for n in manifest["members"] if n.startswith("database."))
    target = fresh()

    tampered = tmp_path / "tampered.tar"
    tampered.write_bytes(out.read_bytes())
    _flip_byte(tampered, db_member)
    with pytest.raises(BackupError) as err:
        restore_backup(target, tampered, secret=secret)
    problem = err.value.problems[0]
    assert (problem.field, problem.rule) == (db_member, "checksum")
    assert db_member in str(err.value) and "sha256" in str(err.value)
    _untouched(target)

    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(out.read_bytes()[: out.stat().st_size // 2])
    with pytest.raises(BackupError) as err:
        restore_backup(target, truncated, secret=secret)
    assert err.value.problems[0].rule in {"unreadable", "missing", "checksum"}
    _untouched(target)

    with pytest.raises(BackupError) as err:
        restore_backup(target, out, secret=b"not-the-passphrase-at-all")
    assert (err.value.problems[0].field, err.value.problems[0].rule) == (
        "keys.enc",
        "wrong_passphrase",
    )
    _untouched(target)

    with pytest.raises(BackupError) as err:
        restore_backup(target, out, secret=None)
    assert err.value.problems[0].rule == "passphrase_required"
    _untouched(target)


def test_a_target_holding_data_needs_force(
    settings: Settings, installed: Issued, secret: bytes, tmp_path: Path
) -> None:
    out = tmp_path / "b.tar"
    create_backup(settings, out, secret=secret)
    url = settings.resolved_database_url
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM certificates"))
    engine.dispose()
    with pytest.raises(BackupError) as err:
        restore_backup(settings, out, secret=secret)
    assert err.value.problems[0].rule == "not_empty"
    assert "doses" in str(err.value) and "keys/dcc" in str(err.value)
    assert _count(url, "certificates") == 0  # refused: the deletion stands

    report = restore_backup(settings, out, force=True, secret=secret)
    assert _count(url, "certificates") == 1 and report.mismatches == {}
    assert report.kept_aside is not None and (report.kept_aside / "dcc" / "csca.pem").exists()


def test_no_passphrase_refuses_unless_no_keys(
    settings: Settings, installed: Issued, fresh: Callable[[], Settings], tmp_path: Path
) -> None:
    out = tmp_path / "b.tar"
    with pytest.raises(BackupError) as err:
        create_backup(settings, out, secret=None)
    assert err.value.problems[0].rule == "passphrase_required" and "--no-keys" in str(err.value)
    assert not out.exists() and list(tmp_path.glob(".b.tar*")) == []

    result = create_backup(settings, out, include_keys=False)
    assert result.manifest["keys"] == "absent" and "keys.enc" not in result.manifest["members"]
    target = fresh()
    report = restore_backup(target, out)
    assert report.keys_restored == [] and report.mismatches == {}
    assert _rows(target.resolved_database_url, "doses") == _rows(
        settings.resolved_database_url, "doses"
    )
    assert not KeyStore.for_settings(target).exists()


def _old_database(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        url = request.getfixturevalue("pg_server").create_database(f"old_{id(tmp_path)}")
    engine: Engine = make_engine(url)
    try:
        migrate.upgrade(engine, "0021_register_pull")
    finally:
        engine.dispose()
    return url


def test_an_older_backup_is_migrated_to_head(
    backend: str,
    request: pytest.FixtureRequest,
    fresh: Callable[[], Settings],
    tmp_path: Path,
) -> None:
    old = Settings(
        data_dir=tmp_path / "old", database_url=_old_database(backend, request, tmp_path)
    )
    out = tmp_path / "old.tar"
    assert create_backup(old, out, include_keys=False).manifest["alembic_revision"] == (
        "0021_register_pull"
    )
    target = fresh()  # at head: a table 0022 adds is there before the restore
    report = restore_backup(target, out)
    assert report.migrated_from == "0021_register_pull"
    engine = make_engine(target.resolved_database_url)
    try:
        assert migrate.current_revision(engine) == head()
        with engine.connect() as conn:  # 0022's column and table, made by the migration
            assert conn.execute(text("SELECT count(token_version) FROM api_clients")).scalar() == 0
            assert conn.execute(text("SELECT count(*) FROM rate_counters")).scalar() == 0
    finally:
        engine.dispose()


def test_a_backup_from_newer_code_is_refused(
    settings: Settings, fresh: Callable[[], Settings], tmp_path: Path
) -> None:
    out = tmp_path / "b.tar"
    create_backup(settings, out, include_keys=False)
    engine = make_engine(settings.resolved_database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
    engine.dispose()
    newer = tmp_path / "newer.tar"
    create_backup(settings, newer, include_keys=False)
    target = fresh()
    with pytest.raises(BackupError) as err:
        restore_backup(target, newer)
    assert err.value.problems[0].rule == "unknown_revision" and "0099_from_the_future" in str(
        err.value
    )
    _untouched(target)


def test_restore_into_an_empty_database_without_init(
    settings: Settings,
    installed: Issued,
    backend: str,
    request: pytest.FixtureRequest,
    secret: bytes,
    tmp_path: Path,
) -> None:
    out = tmp_path / "b.tar"
    create_backup(settings, out, secret=secret)
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty' / 'tiemchung.db'}"
    else:
        url = request.getfixturevalue("pg_server").create_database(f"empty_{id(tmp_path)}")
    target = Settings(data_dir=tmp_path / "empty-data", database_url=url)
    report = restore_backup(target, out, secret=secret)
    assert report.mismatches == {}
    assert _rows(url, "doses") == _rows(settings.resolved_database_url, "doses")
    assert KeyStore.for_settings(target).exists()
