"""Engines: small adapters that run the pipeline's SQL steps (DuckDB in-process, Spark)."""

from __future__ import annotations

from .base import Engine
from .spark_session import SparkSettings


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
        from .spark_engine import SparkEngine

        return SparkEngine(Path(str(work)), threads=threads, memory=memory, spark=spark)
    raise ValueError(f"unknown engine '{name}'; expected duckdb or spark")


__all__ = ["Engine", "SparkSettings", "make_engine"]
