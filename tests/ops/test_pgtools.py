"""The pg_dump/pg_restore adapter: which binary, what the command line shows, and a failed
pg_restore putting the target back as it was."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from tiemchung.certificates.service import Issued
from tiemchung.config import Settings
from tiemchung.ops import backup as backup_module
from tiemchung.ops import pgtools
from tiemchung.ops.backup import create_backup, restore_backup
from tiemchung.store.db import make_engine


def test_pg_bin_that_lacks_the_tool_is_named(tmp_path: Path) -> None:
    with pytest.raises(pgtools.PgToolError) as err:
        pgtools.find_binary("pg_dump", 15, str(tmp_path))
    assert str(tmp_path) in str(err.value) and "TIEMCHUNG_PG_BIN" in str(err.value)


def test_the_password_never_reaches_the_command_line() -> None:
    target = pgtools.PgTarget.from_url("postgresql+psycopg://app:s3cr%40t@db.example:5433/reg")
    assert target.dsn == "postgresql://app@db.example:5433/reg"
    assert target.env()["PGPASSWORD"] == "s3cr@t"


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_failed_pg_restore_puts_the_target_back(
    settings: Settings,
    installed: Issued,
    fresh: Callable[[], Settings],
    secret: bytes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
) -> None:
    out = tmp_path / "b.tar"
    create_backup(settings, out, secret=secret)
    target = fresh()
    url = target.resolved_database_url
    engine = make_engine(url)
    with engine.connect() as conn:
        units = conn.execute(text("SELECT count(*) FROM admin_units")).scalar_one()
    engine.dispose()
    assert units > 0  # loaded by init

    def failing(binary: Path, tgt: pgtools.PgTarget, dump_file: Path) -> None:
        raise pgtools.PgToolError(500, "pg_restore failed (test)")

    monkeypatch.setattr(backup_module.pgtools, "restore", failing)
    with pytest.raises(pgtools.PgToolError):
        restore_backup(target, out, secret=secret)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM admin_units")).scalar_one() == units
            assert conn.execute(text("SELECT count(*) FROM doses")).scalar_one() == 0
            schemas = conn.execute(text("SELECT nspname FROM pg_namespace")).scalars().all()
            assert "tiemchung_pre_restore" not in schemas
    finally:
        engine.dispose()
    assert not (target.data_dir / "keys" / "dcc").exists()
