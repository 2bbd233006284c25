"""The Spark engine: the same SQL steps on Apache Spark (a local session, or the cluster that
:mod:`.spark_session` finds; see docs/scale.md).

Every step is written as Parquet under ``work/tables/<name>`` and read back as a view, so a
run can resume from its last finished stage and no plan grows across stages. Functions Spark
lacks are registered under their DuckDB names and computed *by DuckDB* on Arrow batches
(Arrow UDFs: no pandas, no JVM jar, nothing downloaded), and so are the value standardisers:
both engines therefore agree on every standardised value and every similarity.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..dialects import SPARK, SPARK_UDFS
from ..errors import SparkSetupError
from ..inputs import InputSpec, xlsx_table
from .base import Engine, ValueFn, path_literal
from .spark_session import SparkSettings, spark_session

# --- DuckDB inside Spark's Python workers --------------------------------------------------------
_CON: list[Any] = []


def _duckdb() -> Any:
    """One DuckDB connection per Python worker (workers are reused), macros registered once."""
    if not _CON:
        import duckdb

        from tiemchung.identity.bulk import register_macros

        con = duckdb.connect()
        con.execute("SET threads = 1")
        register_macros(con, normalize=False)
        _CON.append(con)
    return _CON[0]


def _binary(sql: str, a: pa.Array, b: pa.Array) -> pa.Array:
    con = _duckdb()
    con.register("_ab", pa.table({"a": a, "b": b}))
    try:
        return con.sql(f"SELECT {sql} AS x FROM _ab").to_arrow_table().column(0).combine_chunks()
    finally:
        con.unregister("_ab")


def _jaro_winkler(a: pa.Array, b: pa.Array) -> pa.Array:
    return _binary("jaro_winkler_similarity(a, b)", a, b)


def _damerau(a: pa.Array, b: pa.Array) -> pa.Array:
    return _binary("CAST(damerau_levenshtein(a, b) AS BIGINT)", a, b)


def _hamming(a: pa.Array, b: pa.Array) -> pa.Array:
    # total: Spark evaluates Python UDFs on every row, outside any CASE that guards them
    return _binary("CAST(CASE WHEN length(a) = length(b) THEN hamming(a, b) END AS BIGINT)", a, b)


def _standardise_batch(fn: ValueFn, schema: pa.Schema, values: pa.Array) -> pa.StructArray:
    """Run a value standardiser on one batch and return its rows in input order."""
    con = _duckdb()
    con.register("_in", pa.table({"pos": pa.array(range(len(values)), pa.int64()), "v": values}))
    try:
        con.execute("CREATE OR REPLACE TEMP VIEW _src AS SELECT DISTINCT v FROM _in")
        fn(con, "_src", "_out")
        cols = ", ".join(f"o.{f.name}" for f in schema if f.name != "v")
        t = con.sql(
            f"SELECT i.v, {cols} FROM _in i LEFT JOIN _out o ON o.v = i.v ORDER BY i.pos"
        ).to_arrow_table()
    finally:
        con.unregister("_in")
    t = t.cast(schema)
    return pa.StructArray.from_arrays(
        [t.column(i).combine_chunks() for i in range(t.num_columns)], fields=list(schema)
    )


def _ddl(schema: pa.Schema) -> str:
    names = {pa.string(): "string", pa.int32(): "int", pa.int64(): "bigint", pa.float64(): "double"}
    return ", ".join(f"{f.name} {names[f.type]}" for f in schema)


# --- the engine ----------------------------------------------------------------------------------
_NO_MODULE = re.compile(r"No module named '([^']+)'")


@contextmanager
def executors_checked() -> Iterator[None]:
    """A job that failed because an executor's Python cannot import what the UDFs need
    (tiemchung, duckdb, pyarrow) becomes a :class:`SparkSetupError` saying what to ship,
    instead of a page of JVM stack trace; any other failure passes through unchanged."""
    try:
        yield
    except SparkSetupError:
        raise
    except Exception as exc:
        text = str(exc)
        if "ModuleNotFoundError" not in text and "No module named" not in text:
            raise
        found = _NO_MODULE.search(text)
        module = found.group(1) if found else "?"
        raise SparkSetupError(
            f"Python của các executor Spark không có mô-đun '{module}' / the Spark executors' "
            f"Python cannot import '{module}', which the run's functions need (tiemchung, "
            "duckdb, pyarrow). Pack this environment with `tiemchung reconcile spark-env "
            "env.tar.gz` and give it to the executors: --archives env.tar.gz#env --conf "
            "spark.pyspark.python=./env/bin/python (docs/scale.md)"
        ) from exc


class SparkEngine(Engine):
    dialect = SPARK

    def __init__(
        self,
        work: Path,
        *,
        threads: int | None = None,
        memory: str | None = None,
        durable: bool = True,
        spark: SparkSettings | None = None,
    ):
        from pyspark.sql.functions import arrow_udf

        self.work = work
        self.tables = work / "tables"
        self.tables.mkdir(parents=True, exist_ok=True)
        self.spark, self.resources = spark_session(threads, memory, spark)
        reg = self.spark.udf.register
        # pyspark 4's stubs type arrow_udf(f, returnType) only with an explicit functionType;
        # at run time it is inferred from the functions' pa.Array hints (scalar, as meant here)
        udf: Any = arrow_udf
        reg(SPARK_UDFS["jaro_winkler_similarity"], udf(_jaro_winkler, "double"))
        reg(SPARK_UDFS["damerau_levenshtein"], udf(_damerau, "bigint"))
        reg(SPARK_UDFS["hamming"], udf(_hamming, "bigint"))
        self.views: set[str] = set()
        for done in self.tables.iterdir():  # resuming: tables of finished stages
            if (done / "_SUCCESS").exists():
                self._view(done.name)

    def _view(self, name: str) -> None:
        self.spark.read.parquet(str(self.tables / name)).createOrReplaceTempView(name)
        self.views.add(name)

    def _save(self, name: str, df: Any) -> None:
        with executors_checked():
            df.write.mode("overwrite").parquet(str(self.tables / name))
        self._view(name)

    def load_input(self, name: str, spec: InputSpec, columns: list[str]) -> None:
        from pyspark.sql import functions as sf
        from pyspark.sql.types import LongType, StructField, StructType

        if spec.fmt == ".xlsx":
            t = xlsx_table(spec).select(columns)
            t = t.append_column("_row", pa.array(range(1, t.num_rows + 1), pa.int64()))
            self._save(name, self.spark.createDataFrame(t))
            return
        if spec.fmt == ".parquet":
            df = self.spark.read.parquet(str(spec.path))
        else:
            df = (
                self.spark.read.option("header", True)
                .option("encoding", "UTF-8")
                .csv(str(spec.path))
            )
        df = df.select([sf.col(f"`{spec.columns[c]}`").cast("string").alias(c) for c in columns])
        # exact 1-based row numbers in file order (ids for rows that lack a record_id)
        schema = StructType([*df.schema.fields, StructField("_row", LongType(), False)])
        rdd = df.rdd.zipWithIndex().map(lambda p: (*p[0], p[1] + 1))
        self._save(name, self.spark.createDataFrame(rdd, schema))

    def load_arrow(self, name: str, table: pa.Table) -> None:
        self._save(name, self.spark.createDataFrame(table))

    def run(self, name: str, sql: str) -> None:
        self._save(name, self.spark.sql(sql))

    def fetch(self, sql: str) -> pa.Table:
        with executors_checked():
            return self.spark.sql(sql).toArrow()

    def standardise(self, name: str, source_sql: str, fn: ValueFn, schema: pa.Schema) -> None:
        from pyspark.sql.functions import arrow_udf

        def apply(v: pa.Array) -> pa.Array:
            return _standardise_batch(fn, schema, v)

        udf: Any = arrow_udf  # the stubs want a functionType, inferred at run time (see above)
        self.spark.udf.register(f"_std_{name}", udf(apply, _ddl(schema)))
        self.run(
            name,
            f"SELECT s.* FROM (SELECT _std_{name}(v) AS s FROM (SELECT DISTINCT v "
            f"FROM ({source_sql}) x WHERE v IS NOT NULL) y) z",
        )

    def has_table(self, name: str) -> bool:
        return (self.tables / name / "_SUCCESS").exists()

    def export(self, sql: str, path: Path, fmt: str, *, state: bool = False) -> None:
        """One file, like the DuckDB engine: Spark writes parts, DuckDB joins them in order."""
        import duckdb

        parts = self.work / f"export-{path.name}"
        shutil.rmtree(parts, ignore_errors=True)
        with executors_checked():
            self.spark.sql(sql).write.parquet(str(parts))
        opts = "FORMAT csv, HEADER true" if fmt == "csv" else "FORMAT parquet, COMPRESSION zstd"
        con = duckdb.connect()
        files = sorted(str(p) for p in parts.glob("part-*.parquet"))
        target = path_literal(path)
        con.execute(f"COPY (SELECT * FROM read_parquet(?)) TO '{target}' ({opts})", [files])
        con.close()
        shutil.rmtree(parts, ignore_errors=True)

    def drop(self, name: str) -> None:
        if name in self.views:
            self.spark.catalog.dropTempView(name)
            self.views.discard(name)
        shutil.rmtree(self.tables / name, ignore_errors=True)

    def checkpoint(self) -> None:
        """Every table is already on disk."""

    def close(self) -> None:
        for v in self.views:
            self.spark.catalog.dropTempView(v)
        self.views.clear()
