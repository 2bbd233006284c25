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


def test_a_page_that_meets_an_outage_says_retry_not_error(platform: object) -> None:
    """A browser route whose database is gone mid-request gets the 503 page with Retry-After
    (the soak test's database restart), not the 500 page."""
    from fastapi.testclient import TestClient
    from sqlalchemy.exc import PendingRollbackError

    from tiemchung.core import Platform
    from tiemchung.server import create_app

    assert isinstance(platform, Platform)
    app = create_app(platform)

    def lost() -> None:
        gone = PendingRollbackError("rollback first")
        gone.__cause__ = DatabaseUnavailableError("restarting")
        raise gone

    app.add_api_route("/trang-thu", lost)
    r = TestClient(app, raise_server_exceptions=False).get("/trang-thu")
    assert r.status_code == 503 and r.headers["Retry-After"].isdigit()
    assert "text/html" in r.headers["content-type"]
