"""Engines: small adapters that run the pipeline's SQL steps (DuckDB in-process, Spark)."""

from __future__ import annotations

from .base import Engine
from .spark_session import SparkSettings

# Spark is an optional extra (pyproject `[project.optional-dependencies] spark`): `make demo` and a
# plain `pip install tiemchung` leave it out, so `--engine spark` without it must say how to add it.
SPARK_MISSING = (
    "--engine spark cần pyspark, chưa được cài: pip install 'tiemchung[spark]' "
    "(hoặc uv sync --extra spark) / --engine spark needs pyspark, which is not installed: "
    "pip install 'tiemchung[spark]' (or uv sync --extra spark)"
)


class MissingExtraError(RuntimeError):
    """An optional dependency an engine needs is not installed; the message says how to add it."""


def require_spark() -> None:
    """Raise :class:`MissingExtraError` unless pyspark can be imported: checked before a run
    starts, so a missing extra is an input error up front, not a crash mid-pipeline."""
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError(SPARK_MISSING) from exc


def make_engine(
    name: str,
    work: object,
    *,
    threads: int | None = None,
    memory: str | None = None,
    durable: bool = False,
    rows: int | None = None,
    spark: SparkSettings | None = None,
) -> Engine:
    """The engine called ``name``; Spark is imported only when asked for. ``rows``: the
    inputs' rows, which the DuckDB engine sizes its memory for; ``spark``: the Spark
    engine's master and settings (spark_session.py)."""
    from pathlib import Path

    if name == "duckdb":
        from .duckdb_engine import DuckDBEngine

        return DuckDBEngine(
            Path(str(work)), threads=threads, memory=memory, durable=durable, rows=rows
        )
    if name == "spark":
        require_spark()
        from .spark_engine import SparkEngine

        return SparkEngine(Path(str(work)), threads=threads, memory=memory, spark=spark)
    raise ValueError(f"unknown engine '{name}'; expected duckdb or spark")


__all__ = [
    "SPARK_MISSING",
    "Engine",
    "MissingExtraError",
    "SparkSettings",
    "make_engine",
    "require_spark",
]
