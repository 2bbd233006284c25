"""Which database errors are 'unavailable' (503, retry) and which are faults (500, fix)."""

from __future__ import annotations

import sqlite3

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from tiemchung.store.db import DatabaseUnavailableError, is_unavailable


def _error(sql: str) -> OperationalError:
    engine = create_engine("sqlite://")
    try:
        with engine.connect() as conn:
            conn.execute(text(sql))
    except OperationalError as exc:
        return exc
    raise AssertionError(f"{sql!r} did not fail")


def test_a_missing_table_or_a_bad_statement_is_a_fault_not_an_outage() -> None:
    assert not is_unavailable(_error("SELECT * FROM persons"))
    assert not is_unavailable(_error("SELEKT 1"))


def test_a_locked_database_and_a_lost_one_are_outages() -> None:
    locked = OperationalError("BEGIN", {}, sqlite3.OperationalError("database is locked"))
    assert is_unavailable(locked)
    wrapped = RuntimeError("commit failed")
    wrapped.__cause__ = DatabaseUnavailableError("gone")
    assert is_unavailable(wrapped)
