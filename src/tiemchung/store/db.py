"""Engine and session factory for SQLite (embedded default) and PostgreSQL.

SQLite is configured for a registry of record: WAL so readers never block the writer, foreign
keys enforced, and ``synchronous=FULL`` so a committed dose survives power loss.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

# The names the layers above use without importing the database library themselves (api/ and
# web/ may not: tests/layering.py): the session a route hands through to a service function,
# and the error the database raises for a value it cannot store (the API answers it with 422).
DbSession = Session
ValueNotStorable = DataError

#: How long a client is asked to wait (``Retry-After``) when the database cannot be reached:
#: a ``pg_ctl restart`` or a fail-over takes a few seconds (tests/store/test_db_restart.py).
RETRY_AFTER_S = 2


class DatabaseUnavailableError(Exception):
    """The database could not be reached, or dropped the connection, while serving a request.

    Nothing of the request's writes was acknowledged: the writer answers every job of a
    group whose connection or COMMIT failed with this (store/writer.py), reads raise the
    driver's error, which :func:`is_unavailable` recognises. The API answers both 503 with
    ``Retry-After`` (api/problems.py); a client retries a dose with the same client UUID, which
    the registry answers with the original if the COMMIT had in fact landed.
    """


#: The errors of a database that is down, restarting or unreachable (and of a pool that
#: cannot hand out a connection in time): the API answers each 503 with ``Retry-After``.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    DatabaseUnavailableError,
    OperationalError,
    InterfaceError,
    PoolTimeout,
)


#: sqlite3 raises OperationalError for a missing table or a bad statement as well as for a
#: locked or unreadable file; these are faults of the code or the schema, which a retry never
#: fixes (PostgreSQL calls them ProgrammingError)
_SQLITE_FAULTS = ("no such table", "no such column", "syntax error", "near ")


def is_unavailable(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or what it was raised from, e.g. the ``PendingRollbackError`` that
    follows a dropped connection) says the database cannot be reached, not that a request
    broke a rule."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OperationalError) and str(exc.orig).startswith(_SQLITE_FAULTS):
            return False  # the code or the schema is wrong: a 500 to fix, not a 503 to retry
        if isinstance(exc, UNAVAILABLE_ERRORS):
            return True
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (savepoints
    # need it), and let writers ask for BEGIN IMMEDIATE (see _sqlite_begin).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA cache_size=-65536")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    """BEGIN, or BEGIN IMMEDIATE for writers, which then never fail to upgrade their lock."""
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` with the settings this project relies on; its errors
    never carry the statement's parameters (ID numbers, names), which would reach the logs."""
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
