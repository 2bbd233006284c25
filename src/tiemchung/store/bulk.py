"""Bulk SQL: many keys in one parameter, and many rows in one statement.

Two tricks the registry's hot paths (the dose path, the imports, a run's apply) share, kept
here so each is written once per database:

* **Many keys in one parameter.** ``column IN (…)`` with thousands of placeholders costs more to
  render, parse and bind than the query costs to run (psycopg parses such a query in Python,
  uncached). So the keys travel as ONE parameter: an array on PostgreSQL (``= ANY(%s)``), a
  JSON array read by ``json_each`` on SQLite. :func:`in_keys` (Core, ad hoc statements),
  :func:`keys_filter` with :func:`keys_param` (Core, statements built once), :func:`in_keys_sql`
  and :func:`keys_table_sql` (plain SQL), :func:`select_keys` (plain SQL, plain tuples back).
* **Many rows in one statement.** SQLAlchemy's executemany spends more Python time per row
  (parameter dicts, bind processors) than the database spends on the rows. So rows travel as
  tuples already in the driver's form: :func:`insert_tuples` (one driver executemany),
  :func:`insert_json` (PostgreSQL: one set-based insert of a JSON array),
  :func:`copy_rows` (PostgreSQL ``COPY``).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, String, any_, bindparam, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY

#: columns stored as JSON: PostgreSQL takes their text and casts it (SQLite stores the text)
JSON_COLUMNS = ("detail", "candidates", "evidence")


def json_text(value: Any) -> str | None:
    """A JSON column's value as the driver takes it: text (SQLite stores it so, PostgreSQL
    casts it into the json column); the same content SQLAlchemy's JSON type writes."""
    return None if value is None else orjson.dumps(value).decode()


# -- many keys in one parameter ---------------------------------------------------------------


def in_keys(column: Any, keys: Collection[Any], dialect: str) -> ColumnElement[bool]:
    """``column IN keys`` for an ad hoc Core statement that stays cheap for thousands of keys.

    On PostgreSQL the keys travel as one array literal (``= ANY(:keys)``); elsewhere a plain
    ``IN``.
    """
    if dialect == "postgresql":
        return column == any_(literal(list(keys), ARRAY(column.type)))  # type: ignore[no-any-return]
    return column.in_(keys)  # type: ignore[no-any-return]


def keys_filter(column: Any, dialect: str, name: str = "keys") -> ColumnElement[bool]:
    """``column IN :name`` with all the keys as one bound parameter (see :func:`keys_param`),
    for a statement built once and cached: building and cache-keying one per call cost more
    than running it for the small groups concurrent single POSTs make."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(column.type)))  # type: ignore[no-any-return]
    if dialect == "sqlite":
        each = func.json_each(bindparam(name, type_=String())).table_valued("value")
        return column.in_(select(each.c.value))  # type: ignore[no-any-return]
    return column.in_(bindparam(name, expanding=True))  # type: ignore[no-any-return]


def keys_param(keys: Collection[Any], dialect: str) -> Any:
    """The value of a keys parameter (:func:`keys_filter`, :func:`in_keys_sql`): a list on
    PostgreSQL, one JSON array on SQLite (UUIDs as SQLite stores them there: 32-digit hex)."""
    if dialect == "sqlite":
        return orjson.dumps([k.hex if isinstance(k, uuid.UUID) else k for k in keys]).decode()
    return list(keys)


def in_keys_sql(dialect: str, name: str | None = None) -> str:
    """Plain SQL for ``IN`` a keys parameter: ``= ANY(…)`` on PostgreSQL, ``IN (SELECT value
    FROM json_each(…))`` on SQLite; positional without ``name``, else the named parameter."""
    if dialect == "postgresql":
        return f"= ANY(%({name})s)" if name else "= ANY(%s)"
    return f"IN (SELECT value FROM json_each({f':{name}' if name else '?'}))"


def keys_table_sql(dialect: str, name: str, column: str, alias: str) -> str:
    """Plain SQL for a keys parameter as a table ``alias(column)`` of text keys (to join or
    to probe once per key)."""
    if dialect == "postgresql":
        return f"unnest(%({name})s::text[]) AS {alias}({column})"
    return f"(SELECT value AS {column} FROM json_each(:{name})) AS {alias}"


def select_keys(conn: Connection, sql: str, keys: Collection[Any]) -> list[tuple[Any, ...]]:
    """Run ``sql``, in which ``{isin}`` stands for ``IN keys``, on the driver's own cursor:
    plain tuples back (SQLAlchemy's Row objects cost more), the keys one parameter."""
    dialect = conn.dialect.name
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(sql.format(isin=in_keys_sql(dialect)), (keys_param(keys, dialect),))
        return list(cur.fetchall())
    finally:
        cur.close()


# -- many rows in one statement ---------------------------------------------------------------


def insert_tuples(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """One driver-level executemany of plain SQL; ``rows`` are tuples already in the driver's
    form (JSON columns as text, cast into the column on PostgreSQL)."""
    if not rows:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    marks = [
        f"CAST({mark} AS JSON)" if c in JSON_COLUMNS and mark == "%s" else mark for c in columns
    ]
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(marks)})"
    conn.exec_driver_sql(sql, list(rows))


def insert_json(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    rows: list[dict[str, Any]],
    returning: str = "",
) -> Any:
    """PostgreSQL: insert ``rows`` (dicts, other keys ignored) as one statement with one
    parameter, the rows as a JSON array that ``json_populate_recordset`` turns into rows of
    ``table``'s own type — each value is converted to its column's type (and length) there.

    psycopg's executemany of a thousand rows (even pipelined) cost more Python time in the
    driver than all the rule checks of a batch, and the server parsed, planned and executed
    a thousand statements; here orjson writes the rows at C speed (UUIDs, dates and nested
    JSON columns natively) and the server runs one set-based insert.
    """
    cols = ", ".join(columns)
    sql = (
        f"INSERT INTO {table} ({cols}) SELECT {cols} "
        f"FROM json_populate_recordset(NULL::{table}, %s::json){returning}"
    )
    return conn.exec_driver_sql(sql, (orjson.dumps(rows).decode(),))


def copy_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """PostgreSQL: ``COPY`` the driver-form ``rows`` into ``table`` (psycopg's copy)."""
    if not rows:
        return
    copy = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    dbapi = conn.connection.dbapi_connection
    with dbapi.cursor() as cur, cur.copy(copy) as cp:  # type: ignore[union-attr]
        for row in rows:
            cp.write_row(row)


def reserve_ids(conn: Connection, table: str, n: int) -> list[int]:
    """``n`` new primary keys of ``table`` (an ``id`` column), for a set-based insert that
    must know each row's id without ``RETURNING`` (whose order PostgreSQL does not promise,
    and which SQLAlchemy's insertmanyvalues answers one row per statement when the order is
    asked for). PostgreSQL: from the column's sequence; SQLite: after the largest id (its
    writer holds the database's one write lock for the transaction)."""
    if n <= 0:
        return []
    if conn.dialect.name == "postgresql":
        sql = f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, %s)"
        return [int(r[0]) for r in conn.exec_driver_sql(sql, (n,))]
    top = conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {table}").scalar_one()
    return list(range(int(top) + 1, int(top) + 1 + n))
