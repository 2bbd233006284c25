"""The bounded types every route and schema uses for integers and times.

Why one place: SQLite's INTEGER (and PostgreSQL's BIGINT) hold 64-bit signed integers, and
the driver raises ``OverflowError`` for a Python int beyond them — a 500 for
``?offset=9223372036854775808`` or ``/doses/99999999999999999999`` instead of a 422 naming the
parameter. Every integer the API accepts (path, query or body) is one of the types below,
sized to the column it is compared with, so validation refuses it before the database sees
it; tests/api/test_bounds.py walks the OpenAPI and fails for any integer a request may
carry without a ``maximum``, so a new route cannot forget.

Times: the store keeps UTC (PostgreSQL ``timestamptz``; SQLite's ``CURRENT_TIMESTAMP`` and
the values the code writes are UTC but come back without an offset). :data:`UtcDateTime`
makes every datetime the API answers with timezone-aware UTC, so it is ISO 8601 *with* an
offset, as ``format: date-time`` requires.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from annotated_types import Interval
from pydantic import AfterValidator

#: The largest integer SQLite's INTEGER and PostgreSQL's BIGINT hold.
DB_INT_MAX = 2**63 - 1
#: The largest integer the API accepts: 2^53 - 1, the largest every JSON reader holds exactly
#: (JavaScript's ``Number.MAX_SAFE_INTEGER``; FastAPI writes body bounds into the OpenAPI as
#: doubles, so 2^63 - 1 would be published as 2^63). Far below the database's limit.
API_INT_MAX = 2**53 - 1

#: A row id of a BIGINT-keyed table (doses, persons, worklist items, certificates): 1 … 2^53-1.
RowId = Annotated[int, Interval(ge=1, le=API_INT_MAX)]
#: A row id of an INTEGER-keyed table (tickets, sessions, lots, users): PostgreSQL's INTEGER
#: holds 2^31 - 1, and a larger id was a DataError there (a 500) rather than a 422.
SmallRowId = Annotated[int, Interval(ge=1, le=2**31 - 1)]
#: A page offset: 0 … 2^53-1.
Offset = Annotated[int, Interval(ge=0, le=API_INT_MAX)]


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive value is a UTC one read back from SQLite."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


#: A datetime answered by the API: always timezone-aware, in UTC.
UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]
