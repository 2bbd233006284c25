"""Engines: small adapters that run the pipeline's SQL steps (DuckDB in-process, Spark)."""

from __future__ import annotations

from .base import Engine


def make_engine(
    name: str,
    work: object,
    *,
    threads: int | None = None,
    memory: str | None = None,
    durable: bool = False,
) -> Engine:
    """The engine called ``name``; Spark is imported only when asked for."""
    from pathlib import Path

    if name == "duckdb":
        from .duckdb_engine import DuckDBEngine

        return DuckDBEngine(Path(str(work)), threads=threads, memory=memory, durable=durable)
    if name == "spark":
        from .spark_engine import SparkEngine

        return SparkEngine(Path(str(work)), threads=threads, memory=memory)
    raise ValueError(f"unknown engine '{name}'; expected duckdb or spark")


__all__ = ["Engine", "make_engine"]
