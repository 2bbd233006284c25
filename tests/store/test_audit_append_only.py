"""The audit log cannot be overwritten through REPLACE or UPSERT either (both backends).

On SQLite ``INSERT OR REPLACE INTO audit_log (id, …) VALUES (1, …)`` replaced row 1: REPLACE
deletes the old row without firing DELETE triggers (issue 14). Migration 0006 refuses it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tiemchung.store.db import make_engine

ROW = "(id, action, entity, entity_id) VALUES ({id}, 'forged', 'x', 'y')"


def _rows(engine) -> list[tuple]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT id, action, entity FROM audit_log ORDER BY id"))]


def test_replace_and_upsert_cannot_overwrite_a_row(database_url: str, backend: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO audit_log (action, entity) VALUES ('real', 'x')"))
        before = _rows(engine)
        first = before[0][0]
        attempts = [
            f"INSERT INTO audit_log {ROW} ON CONFLICT (id) DO UPDATE SET action = 'forged'",
            f"INSERT INTO audit_log {ROW} ON CONFLICT (id) DO UPDATE SET action = excluded.action",
        ]
        if backend == "sqlite":
            attempts += [
                f"INSERT OR REPLACE INTO audit_log {ROW}",
                f"REPLACE INTO audit_log {ROW}",
            ]
        for sql in attempts:
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                if backend == "sqlite":  # whatever the pragma, REPLACE is refused
                    conn.execute(text("PRAGMA recursive_triggers = OFF"))
                conn.execute(text(sql.format(id=first)))
        assert _rows(engine) == before
        # appending stays possible, with or without an explicit new id
        with engine.begin() as conn:
            conn.execute(text(f"INSERT INTO audit_log {ROW}".format(id=first + 1000)))
            conn.execute(text("INSERT INTO audit_log (action, entity) VALUES ('more', 'x')"))
        after = _rows(engine)
        assert after[: len(before)] == before and len(after) == len(before) + 2
    finally:
        engine.dispose()
