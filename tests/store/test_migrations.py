"""Migrations go up and down on both backends, match the models, and guard the audit log."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from tiemchung.registry import tables  # noqa: F401  (the tables beyond models.py)
from tiemchung.registry.models import Base
from tiemchung.store import migrate
from tiemchung.store.db import make_engine


def test_up_down_up(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert migrate.current_revision(engine) == migrate.head_revision()
        migrate.downgrade(engine, "base")
        assert migrate.current_revision(engine) is None
        assert "doses" not in inspect(engine).get_table_names()
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision()
        assert {"doses", "persons", "audit_log", "corrections", "tickets"} <= set(
            inspect(engine).get_table_names()
        )
    finally:
        engine.dispose()


def test_models_match_migrations(database_url: str) -> None:
    """The schema Alembic builds is the one the models describe (no drift)."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_audit_log_is_append_only(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO audit_log (action, entity) VALUES ('t', 'x')"))
        for sql in ("UPDATE audit_log SET action = 'changed'", "DELETE FROM audit_log"):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text(sql))
        with engine.connect() as conn:
            assert (
                conn.execute(text("SELECT count(*) FROM audit_log WHERE action = 't'")).scalar()
                == 1
            )
    finally:
        engine.dispose()


def test_sqlite_is_configured_for_durability(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        engine.dispose()


def test_stored_revision_is_what_alembic_reads(database_url: str) -> None:
    """/health's one small query answers what Alembic's migration context does."""
    engine = make_engine(database_url)
    try:
        assert migrate.stored_revision(engine) == migrate.head_revision()
        migrate.downgrade(engine, "base")
        assert migrate.stored_revision(engine) is None is migrate.current_revision(engine)
        migrate.upgrade(engine)
        assert migrate.stored_revision(engine) == migrate.current_revision(engine)
    finally:
        engine.dispose()
