"""The DuckDB engine: one process, a database file in the work folder, memory and threads
sized from the machine and the data (:mod:`.resources`) so a run neither spills for want of
memory it could have had nor takes the machine."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pyarrow as pa

from tiemchung.identity.bulk import register_macros

from ..dialects import DUCKDB
from ..inputs import InputSpec, xlsx_table
from .base import Engine, ValueFn, convert_sql, copy_options, path_literal
from .resources import input_rows, read_machine, size


class DuckDBEngine(Engine):
    """Tables live in ``work/state.duckdb``; spills go to ``work/tmp``."""

    dialect = DUCKDB

    def __init__(
        self,
        work: Path,
        *,
        threads: int | None = None,
        memory: str | None = None,
        durable: bool = False,
        rows: int | None = None,
    ):
        """``threads``/``memory``: the options (``None``: sized, see :mod:`.resources`);
        ``rows``: the inputs' rows, which the memory is sized for (``None``: counted as
        :meth:`load_input` reads the files)."""
        self.work = work
        work.mkdir(parents=True, exist_ok=True)
        (work / "tmp").mkdir(exist_ok=True)
        # In memory (spilling to work/tmp past the memory limit) is ~3x faster than a
        # database file; a file is used when the run must be able to resume.
        self.durable = durable
        self.con = duckdb.connect(str(work / "state.duckdb") if durable else ":memory:")
        self._given = (threads, memory)
        self._count_rows = rows is None
        self._rows = rows or 0
        self._machine = read_machine()
        self._size()
        self.con.execute("SET temp_directory = ?", [str(work / "tmp")])
        self.con.execute("SET preserve_insertion_order = false")
        self.con.execute("SET enable_progress_bar = false")  # the CLI shows its own
        register_macros(self.con, normalize=False)

    def _size(self) -> None:
        sizing = size(self._machine, self._rows, threads=self._given[0], memory=self._given[1])
        self.threads = sizing.threads
        self.resources = sizing.facts
        self.con.execute(f"SET threads = {int(self.threads)}")
        self.con.execute("SET memory_limit = ?", [sizing.memory])

    # --- inputs ------------------------------------------------------------------------------
    def _select_list(self, spec: InputSpec, columns: list[str]) -> str:
        q = self.dialect.quote
        return ", ".join(f"CAST({q(spec.columns[c])} AS VARCHAR) AS {c}" for c in columns)

    def load_input(self, name: str, spec: InputSpec, columns: list[str]) -> None:
        if self._count_rows:  # the memory grows with each file read
            self._rows += input_rows(spec.path)
            self._size()
        cols = self._select_list(spec, columns)
        if spec.fmt == ".xlsx":
            table = xlsx_table(spec)
            self.con.register("_xlsx", table)
            try:
                self.con.execute(
                    f"CREATE OR REPLACE TABLE {name} AS SELECT row_number() OVER () AS _row, "
                    f"{', '.join(columns)} FROM _xlsx"
                )
            finally:
                self.con.unregister("_xlsx")
            return
        if spec.fmt == ".parquet":
            self.con.execute(
                f"CREATE OR REPLACE TABLE {name} AS SELECT file_row_number + 1 AS _row, {cols} "
                "FROM read_parquet(?, file_row_number = true)",
                [str(spec.path)],
            )
            return
        # CSV: every value as text; a short row is padded with NULLs, never dropped.
        self.con.execute("SET preserve_insertion_order = true")
        try:
            self.con.execute(
                f"CREATE OR REPLACE TABLE {name} AS SELECT row_number() OVER () AS _row, {cols} "
                "FROM read_csv(?, header = true, all_varchar = true, null_padding = true, "
                "auto_detect = true)",
                [str(spec.path)],
            )
        finally:
            self.con.execute("SET preserve_insertion_order = false")

    def load_arrow(self, name: str, table: pa.Table) -> None:
        self.con.register("_arrow_in", table)
        try:
            self.con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _arrow_in")
        finally:
            self.con.unregister("_arrow_in")

    # --- steps -------------------------------------------------------------------------------
    def run(self, name: str, sql: str) -> None:
        ordered = " ORDER BY " in sql[-60:]  # keep a final ORDER BY's order in the table
        if ordered:
            self.con.execute("SET preserve_insertion_order = true")
        try:
            self.con.execute(f"CREATE OR REPLACE TABLE {name} AS {sql}")
        finally:
            if ordered:
                self.con.execute("SET preserve_insertion_order = false")

    def view(self, name: str, sql: str) -> None:
        self.drop(name)
        self.con.execute(f"CREATE VIEW {name} AS {sql}")

    def fetch(self, sql: str) -> pa.Table:
        return self.con.sql(sql).to_arrow_table()

    def standardise(self, name: str, source_sql: str, fn: ValueFn, schema: pa.Schema) -> None:
        fn(self.con, _distinct(source_sql), name)

    def standardise_all(self, jobs: dict[str, tuple[str, ValueFn, pa.Schema]]) -> None:
        """Side by side, each on its own connection to the database: the names are
        standardised in Python once per distinct word, under the GIL, which left a core idle
        for ~0.5 s at 1M people while the date, phone and ward SQL could have run."""

        def one(name: str, source_sql: str, fn: ValueFn) -> None:
            cur = self.con.cursor()
            try:
                fn(cur, _distinct(source_sql), name)
            finally:
                cur.close()

        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            futures = [pool.submit(one, n, src, fn) for n, (src, fn, _s) in jobs.items()]
            for f in futures:
                f.result()  # the first failure, raised here
        # the standardisers' Arrow arrays are gone: their pages back to the system, not kept
        # by Arrow's allocator while the engine's tables grow (peak memory)
        pa.default_memory_pool().release_unused()

    def has_table(self, name: str) -> bool:
        rows = self.con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND NOT temporary", [name]
        ).fetchall()
        return bool(rows[0][0])

    def export(self, sql: str, path: Path, fmt: str, *, state: bool = False) -> None:
        # rows in the order threads finish them (preserve_insertion_order is off): keeping
        # the table's order cost the CSV writer twice the CPU (0.96 -> 1.87 s for 2.2M links)
        opts = copy_options(fmt, state=state)
        self.con.execute(f"COPY ({sql}) TO '{path_literal(path)}' ({opts})")

    def convert(self, src: Path, dst: Path, fmt: str) -> None:
        self.con.execute(convert_sql(dst, fmt), [str(src)])

    def drop(self, name: str) -> None:
        # the catalog, not memory: a resumed run finds the views of the run it resumes
        is_view = self.con.execute(
            "SELECT count(*) FROM duckdb_views() WHERE view_name = ? AND NOT internal", [name]
        ).fetchall()[0][0]
        self.con.execute(f"DROP {'VIEW' if is_view else 'TABLE'} IF EXISTS {name}")

    def checkpoint(self) -> None:
        if self.durable:
            self.con.execute("CHECKPOINT")

    def close(self) -> None:
        self.con.close()


def _distinct(source_sql: str) -> str:
    """The distinct values of ``source_sql``, as a subquery (not a temporary view: those
    belong to one connection, and the kinds run on several)."""
    return f"(SELECT DISTINCT v FROM ({source_sql})) _src"
