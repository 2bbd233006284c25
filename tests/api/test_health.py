"""The health check's revision: the store's one small query, the same answer as Alembic's."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from tiemchung.store import migrate
from tiemchung.store.db import make_engine


def test_the_stored_revision_is_alembics(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert migrate.stored_revision(engine) == migrate.head_revision()
        assert migrate.stored_revision(engine) == migrate.current_revision(engine)
        migrate.downgrade(engine, "base")
        assert migrate.stored_revision(engine) is None  # the table is there, empty
    finally:
        engine.dispose()


def test_a_database_without_the_table_raises(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/empty.db")
    try:
        with pytest.raises(OperationalError):
            migrate.stored_revision(engine)
    finally:
        engine.dispose()
