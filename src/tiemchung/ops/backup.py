"""``tiemchung backup`` and ``tiemchung restore``: the database and ``keys/`` in one archive.

Why both together: a database without the keys that signed its certificates cannot sign the
next ones under the same CSCA, nor re-issue; keys without the database are certificates
nobody can look up. The copy must be consistent while the server writes: SQLite's online
backup API copies one read transaction's view; ``pg_dump`` runs in the snapshot a
REPEATABLE READ transaction of ours exported, so the row counts in the manifest are the
dump's own. A restore checks the whole archive (and opens the keys) before it changes
anything, refuses a target already holding data unless forced, then migrates an older
backup up to this code's head. The archive format is :mod:`tiemchung.ops.archive`'s.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url

import tiemchung
from tiemchung.config import Settings
from tiemchung.ops import pgtools
from tiemchung.ops.archive import (
    DB_MEMBERS,
    FORMAT,
    KEYS_MEMBER,
    backup_error,
    decrypt_folder,
    encrypt_folder,
    read_archive,
    write_archive,
)
from tiemchung.registry.scope import Actor
from tiemchung.store import migrate
from tiemchung.store.audit import audit
from tiemchung.store.db import make_engine, make_sessionmaker

#: The tables whose row counts a manifest records and a restore compares.
MAIN_TABLES = ("persons", "doses", "certificates", "users", "sites", "lots", "audit_log")
#: Rows in any of these make a target "not empty": restoring over them needs ``--force``.
DATA_TABLES = ("persons", "doses", "certificates", "users")
ACTOR = Actor.system("backup")


def passphrase(settings: Settings) -> bytes | None:
    """The backup passphrase: ``TIEMCHUNG_BACKUP_PASSPHRASE_FILE``'s file, else the key
    custody's ``TIEMCHUNG_KEY_PASSPHRASE_FILE``'s (one secret for the operator to keep)."""
    name = settings.backup_passphrase_file or os.environ.get("TIEMCHUNG_KEY_PASSPHRASE_FILE", "")
    if not name:
        return None
    path = Path(name)
    if not path.is_file():
        raise backup_error(
            "TIEMCHUNG_BACKUP_PASSPHRASE_FILE",
            "missing",
            f"không có tệp mật khẩu {path}",
            f"no passphrase file {path}",
        )
    value = path.read_bytes().strip()
    if len(value) < 12:
        raise backup_error(
            "TIEMCHUNG_BACKUP_PASSPHRASE_FILE",
            "too_short",
            "mật khẩu sao lưu cần ít nhất 12 ký tự",
            "the backup passphrase needs at least 12 characters",
        )
    return value


def _no_passphrase(doing_vi: str, doing_en: str) -> Exception:
    return backup_error(
        "TIEMCHUNG_BACKUP_PASSPHRASE_FILE",
        "passphrase_required",
        f"cần mật khẩu để {doing_vi}: đặt TIEMCHUNG_BACKUP_PASSPHRASE_FILE (hoặc "
        "TIEMCHUNG_KEY_PASSPHRASE_FILE), hoặc dùng --no-keys",
        f"a passphrase is needed to {doing_en}: set TIEMCHUNG_BACKUP_PASSPHRASE_FILE (or "
        "TIEMCHUNG_KEY_PASSPHRASE_FILE), or use --no-keys",
    )


def _counts(conn: Any) -> dict[str, int]:
    """Rows of each main table the database has (an old revision may lack one)."""
    present = set(inspect(conn).get_table_names())
    return {
        t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
        for t in MAIN_TABLES
        if t in present
    }


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise backup_error(
            "TIEMCHUNG_DATABASE_URL",
            "not_a_file",
            "CSDL SQLite trong bộ nhớ không sao lưu được",
            "an in-memory SQLite database cannot be backed up",
        )
    return Path(database)


def _server_major(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10000


@dataclass
class BackupResult:
    path: Path
    manifest: dict[str, Any]


def create_backup(
    settings: Settings, out: Path, *, include_keys: bool = True, secret: bytes | None = None
) -> BackupResult:
    """Write one archive at ``out``: the database (consistent while the server writes) and,
    unless ``include_keys`` is false, ``keys/`` encrypted with ``secret``. Audited as
    ``backup.create`` in the database it copied."""
    if include_keys and secret is None:
        raise _no_passphrase("mã hoá khoá trong bản sao lưu", "encrypt the keys in the backup")
    url = settings.resolved_database_url
    kind = "sqlite" if settings.is_sqlite else "postgresql"
    engine = make_engine(url)
    try:
        with tempfile.TemporaryDirectory(prefix="tiemchung-backup-") as tmp_name:
            tmp = Path(tmp_name)
            db_file = tmp / DB_MEMBERS[kind]
            if kind == "sqlite":
                counts = _sqlite_copy(_sqlite_path(url), db_file)
            else:
                counts = _pg_dump(settings, engine, db_file)
            members = {DB_MEMBERS[kind]: db_file}
            keys_dir = settings.data_dir / "keys"
            if include_keys:
                assert secret is not None
                if not keys_dir.is_dir():
                    raise backup_error(
                        "keys",
                        "missing",
                        f"không có thư mục khoá {keys_dir}",
                        f"no keys folder at {keys_dir}",
                    )
                (tmp / KEYS_MEMBER).write_bytes(encrypt_folder(keys_dir, secret))
                members[KEYS_MEMBER] = tmp / KEYS_MEMBER
            revision = migrate.current_revision(engine)
            manifest = {
                "format": FORMAT,
                "tiemchung_version": tiemchung.__version__,
                "alembic_revision": revision,
                "database": kind,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "keys": "encrypted" if include_keys else "absent",
                "row_counts": counts,
            }
            manifest = write_archive(out, manifest, members)
        with make_sessionmaker(engine)() as s:
            detail = {"file": out.name, "row_counts": counts, "keys": manifest["keys"]}
            audit(s, ACTOR, "backup.create", "backup", None, detail)
            s.commit()
        return BackupResult(out, manifest)
    finally:
        engine.dispose()


def _sqlite_copy(source: Path, dest: Path) -> dict[str, int]:
    """The online backup API: the copy is one read transaction's view of the file, taken
    while writers go on (WAL), and complete on its own once closed."""
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(dest)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside
    finally:
        dst.close()
        src.close()
    copy = make_engine(f"sqlite:///{dest}")
    try:
        with copy.connect() as conn:
            return _counts(conn)
    finally:
        copy.dispose()


def _pg_dump(settings: Settings, engine: Engine, out: Path) -> dict[str, int]:
    """Counts and ``pg_dump`` in one exported snapshot, so both describe the same rows."""
    binary = pgtools.find_binary("pg_dump", _server_major(engine), settings.pg_bin)
    target = pgtools.PgTarget.from_url(engine.url)
    repeatable = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    with repeatable as conn, conn.begin():
        snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        counts = _counts(conn)
        pgtools.dump(binary, target, out, snapshot=str(snapshot))
    return counts


@dataclass
class RestoreReport:
    """What a restore did: the manifest, the counts found after it, what differs."""

    manifest: dict[str, Any]
    counts: dict[str, int]
    migrated_from: str | None
    keys_restored: list[str] = field(default_factory=list)
    kept_aside: Path | None = None

    @property
    def mismatches(self) -> dict[str, tuple[int, int | None]]:
        want: dict[str, int] = self.manifest.get("row_counts", {})
        # audit_log grows by the restore's own event: one more row is expected
        extra = {"audit_log": 1}
        return {
            t: (n, self.counts.get(t))
            for t, n in want.items()
            if self.counts.get(t) != n + extra.get(t, 0)
        }


def restore_backup(
    settings: Settings, archive: Path, *, force: bool = False, secret: bytes | None = None
) -> RestoreReport:
    """Restore ``archive`` into this installation (fresh, or empty unless ``force``)."""
    kind = "sqlite" if settings.is_sqlite else "postgresql"
    with tempfile.TemporaryDirectory(prefix="tiemchung-restore-") as tmp_name:
        tmp = Path(tmp_name)
        manifest = read_archive(archive, tmp)
        if manifest.get("database") != kind:
            raise backup_error(
                "database",
                "kind_differs",
                f"bản sao lưu là {manifest.get('database')}, CSDL đích là {kind}",
                f"the backup is {manifest.get('database')}, the target is {kind}",
            )
        if DB_MEMBERS[kind] not in manifest["members"]:
            raise backup_error(
                DB_MEMBERS[kind],
                "missing",
                f"bản sao lưu không có {DB_MEMBERS[kind]}",
                f"the archive holds no {DB_MEMBERS[kind]}",
            )
        revision = manifest.get("alembic_revision")
        if not revision or not migrate.known_revision(str(revision)):
            raise backup_error(
                "alembic_revision",
                "unknown_revision",
                f"bản sao lưu ở phiên bản CSDL {revision}, mã này không biết: "
                "cài bản tiemchung mới hơn",
                f"the backup's schema revision {revision} is unknown to this "
                "code: install a newer tiemchung",
            )
        keys: list[str] = []
        if KEYS_MEMBER in manifest["members"]:
            if secret is None:
                raise _no_passphrase("mở khoá trong bản sao lưu", "open the keys in the backup")
            keys = decrypt_folder((tmp / KEYS_MEMBER).read_bytes(), secret, tmp / "unpacked")
        engine = make_engine(settings.resolved_database_url)
        try:
            _refuse_non_empty(settings, engine, force)
            if kind == "sqlite":
                _sqlite_restore(
                    tmp / DB_MEMBERS[kind], _sqlite_path(settings.resolved_database_url)
                )
                engine.dispose()
            else:
                _pg_restore(settings, engine, tmp / DB_MEMBERS[kind])
            aside = _place_keys(settings, tmp / "unpacked" / "keys") if keys else None
            migrated = None if revision == migrate.head_revision() else str(revision)
            if migrated:
                migrate.upgrade(engine)
            with make_sessionmaker(engine)() as s:
                detail = {
                    "file": archive.name,
                    "created_at": manifest.get("created_at"),
                    "from_revision": revision,
                    "keys": bool(keys),
                }
                audit(s, ACTOR, "backup.restore", "backup", None, detail)
                s.commit()
            with engine.connect() as conn:
                counts = _counts(conn)
        finally:
            engine.dispose()
    return RestoreReport(manifest, counts, migrated, keys, aside)


def _refuse_non_empty(settings: Settings, engine: Engine, force: bool) -> None:
    if force:
        return
    held: list[str] = []
    with engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
        for t in DATA_TABLES:
            if t in present and conn.execute(text(f"SELECT 1 FROM {t} LIMIT 1")).first():
                held.append(t)
    if (settings.data_dir / "keys" / "dcc" / "csca.pem").exists():
        held.append("keys/dcc")
    if held:
        names = ", ".join(held)
        raise backup_error(
            "target",
            "not_empty",
            f"nơi khôi phục đã có dữ liệu ({names}); dùng --force để ghi đè",
            f"the target already holds data ({names}); use --force to replace it",
        )


def _sqlite_restore(copy: Path, target: Path) -> None:
    """The backup API again, from the copy into the target: the target's WAL and any open
    reader stay coherent (a plain file copy under a stale ``-wal`` would corrupt it)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(copy)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _pg_restore(settings: Settings, engine: Engine, dump_file: Path) -> None:
    """The target's ``public`` schema is set aside (renamed) first, so tables a newer
    install has and the backup lacks do not linger; put back if ``pg_restore`` fails,
    dropped once it succeeded."""
    binary = pgtools.find_binary("pg_restore", _server_major(engine), settings.pg_bin)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS tiemchung_pre_restore CASCADE"))
        conn.execute(text("ALTER SCHEMA public RENAME TO tiemchung_pre_restore"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    try:
        pgtools.restore(binary, pgtools.PgTarget.from_url(engine.url), dump_file)
    except BaseException:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("ALTER SCHEMA tiemchung_pre_restore RENAME TO public"))
        raise
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA tiemchung_pre_restore CASCADE"))
    engine.dispose()


def _place_keys(settings: Settings, unpacked: Path) -> Path | None:
    """Put the restored ``keys/`` in place. Keys already there are kept aside (renamed
    ``keys.before-restore-<UTC time>``), unless they are only a fresh install's token key."""
    keys = settings.data_dir / "keys"
    keys.parent.mkdir(parents=True, exist_ok=True)
    aside = None
    if keys.exists():
        only_token = [p.name for p in keys.iterdir()] == ["token-secret"]
        if only_token:
            shutil.rmtree(keys)
        else:
            aside = keys.with_name(f"keys.before-restore-{datetime.now(UTC):%Y%m%dT%H%M%SZ}")
            keys.rename(aside)
    shutil.copytree(unpacked, keys)
    os.chmod(keys, 0o700)
    return aside
