"""What a reconciliation run carries from stage to stage: its options and its context.

Its own module so that the stages (:mod:`.run`) and the writers of the outputs
(:mod:`.outputs`) both read it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .engines import Engine, SparkSettings
from .model import Model
from .steps import Plan


@dataclass
class Options:
    records: Path
    register: Path
    out: Path
    mapping: Path | None = None
    engine: str = "duckdb"
    model: Path | None = None
    #: ``None``: sized from the machine and the inputs (engines/resources.py), and recorded in
    #: summary.json (``pipeline.resources``); given, taken as is (memory: DuckDB's form, 4GB)
    threads: int | None = None
    memory: str | None = None
    resume: bool = False
    keep_work: bool = False
    #: keep stage tables on disk so an interrupted run can resume (slower); ``None``: only
    #: for large inputs (more than DURABLE_BYTES of files) and always with Spark
    durable: bool | None = None
    #: the Spark engine's master and ``--spark-conf`` settings; empty: an active session,
    #: spark-submit's, or a local one (engines/spark_session.py), recorded in summary.json
    spark: SparkSettings = field(default_factory=SparkSettings)


@dataclass
class Context:
    opts: Options
    plan: Plan
    engine: Engine
    model: Model | None
    given_model: bool
    timings: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def work(self) -> Path:
        return self.opts.out / ".work"
