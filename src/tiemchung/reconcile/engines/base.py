"""The interface every engine implements: a handful of hooks, nothing about record linkage."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..dialects import Dialect
from ..inputs import InputSpec

#: DuckDB ``COPY ... TO`` options per output format (snappy: 25% faster to write than zstd)
COPY_OPTIONS = {"csv": "FORMAT csv, HEADER true", "parquet": "FORMAT parquet, COMPRESSION snappy"}


def path_literal(path: Path) -> str:
    """COPY ... TO takes no bind parameter for its target; the path is ours (OUT/...), quoted."""
    return str(path).replace("'", "''")


def copy_options(fmt: str, *, state: bool = False) -> str:
    """``COPY ... TO`` options for ``fmt``; ``state``: a file only this program reads back,
    without dictionary pages (~20% less CPU for ~25% more bytes, measured on a 1M-person
    run's state.parquet)."""
    if fmt not in COPY_OPTIONS:
        raise ValueError(fmt)
    return COPY_OPTIONS[fmt] + (", DICTIONARY_SIZE_LIMIT 1" if state else "")


def convert_sql(dst: Path, fmt: str) -> str:
    """DuckDB: copy the Parquet file given as the one parameter to ``dst`` as ``fmt``."""
    return f"COPY (SELECT * FROM read_parquet(?)) TO '{path_literal(dst)}' ({COPY_OPTIONS[fmt]})"


#: A value-level standardiser: (duckdb connection, source table with column ``v``, output
#: table name) -> None. Both engines run it with DuckDB, so both share its semantics.
ValueFn = Callable[[object, str, str], None]


class Engine(ABC):
    """Runs named SQL steps and keeps their results as tables until the run ends.

    A table that :meth:`run` made survives a crash (DuckDB: a database file; Spark: Parquet
    in the work folder), which is what lets a run resume from its last finished stage.
    """

    dialect: Dialect
    work: Path
    #: the threads and memory the engine took and how they were chosen (summary.json,
    #: ``pipeline.resources``); ``None`` where the engine does not size itself
    resources: dict[str, Any] | None = None

    @abstractmethod
    def load_input(self, name: str, spec: InputSpec, columns: list[str]) -> None:
        """Make table ``name``: ``_row`` (1-based data row) and the given canonical columns
        (which the spec maps), all text, every row of the file kept."""

    @abstractmethod
    def load_arrow(self, name: str, table: pa.Table) -> None:
        """Make table ``name`` from a small Arrow table built in Python."""

    @abstractmethod
    def run(self, name: str, sql: str) -> None:
        """Materialise ``sql`` as table ``name`` (replacing it)."""

    def view(self, name: str, sql: str) -> None:
        """Make ``name`` stand for ``sql`` for the rest of the run, for a result that is only
        read a few times and is cheap to recompute. By default it is materialised like
        :meth:`run` (which also makes it survive a crash)."""
        self.run(name, sql)

    @abstractmethod
    def fetch(self, sql: str) -> pa.Table:
        """Run a query whose result is small and return it."""

    @abstractmethod
    def standardise(self, name: str, source_sql: str, fn: ValueFn, schema: pa.Schema) -> None:
        """Make table ``name`` by applying ``fn`` (DuckDB SQL, with Python for the rare values
        that need it) to the distinct values that ``source_sql`` yields as column ``v``."""

    def standardise_all(self, jobs: dict[str, tuple[str, ValueFn, pa.Schema]]) -> None:
        """Every table of ``jobs`` (name -> source SQL, fn, schema), as :meth:`standardise`
        makes it; an engine may make them side by side."""
        for name, (source_sql, fn, schema) in jobs.items():
            self.standardise(name, source_sql, fn, schema)

    @abstractmethod
    def has_table(self, name: str) -> bool:
        """Whether ``name`` exists (from this run or, when resuming, an earlier one)."""

    @abstractmethod
    def export(self, sql: str, path: Path, fmt: str, *, state: bool = False) -> None:
        """Write the result of ``sql`` to one file (``csv`` or ``parquet``), its rows in any
        order. ``state=True`` marks a file only this program reads back (``state.parquet``,
        the standardised register): the engine may trade file size for speed."""

    def convert(self, src: Path, dst: Path, fmt: str) -> None:
        """Write ``src``, a Parquet file this run exported, again as ``fmt`` (``csv``):
        reading it back costs less than computing its query a second time."""
        import duckdb

        con = duckdb.connect()
        try:
            con.execute(convert_sql(dst, fmt), [str(src)])
        finally:
            con.close()

    @abstractmethod
    def drop(self, name: str) -> None:
        """Forget table ``name`` (no error if it does not exist)."""

    @abstractmethod
    def checkpoint(self) -> None:
        """Make everything materialised so far durable."""

    @abstractmethod
    def close(self) -> None: ...

    def count(self, name: str) -> int:
        return int(self.fetch(f"SELECT count(*) AS n FROM {name}").column(0)[0].as_py())

    def scalar(self, sql: str) -> object:
        t = self.fetch(sql)
        return t.column(0)[0].as_py() if t.num_rows else None
