"""Which Spark the reconciliation runs on: the cluster the user names, the one it was submitted
to, or a local session on this machine — and a record of the choice for summary.json.

Its own module so that the engine (:mod:`.spark_engine`) stays about SQL steps; the order of
precedence is the user's first (``--spark-master``/``--spark-conf``), then what the process was
started with (an active session, ``spark-submit``'s settings), and only when there is none a
local session bound to loopback, as a laptop run has always been.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

from ..errors import SparkSetupError

#: the SQL settings both engines' results depend on (lenient casts like DuckDB's, UTC dates):
#: applied to every session, also one we did not start
CORRECTNESS_CONF = {"spark.sql.ansi.enabled": "false", "spark.sql.session.timeZone": "UTC"}


@dataclass(frozen=True)
class SparkSettings:
    """``--spark-master`` and ``--spark-conf`` as given; empty: take what the process has."""

    master: str | None = None
    conf: tuple[tuple[str, str], ...] = ()


def parse_conf(items: list[str] | tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """``key=value`` pairs (``--spark-conf``), each checked: a setting without ``=`` or with
    an empty key is refused with its text, rather than silently ignored by Spark."""
    pairs: list[tuple[str, str]] = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SparkSetupError(
                f"--spark-conf {item!r}: cần dạng khoá=giá trị / expected key=value "
                "(e.g. spark.executor.memory=4g)"
            )
        pairs.append((key.strip(), value))
    return tuple(pairs)


def _connect_session(url: str, settings: SparkSettings) -> Any:
    """Spark Connect, when pyspark's client libraries are installed (they are not part of
    tiemchung's dependencies: grpcio, protobuf, googleapis-common-protos)."""
    try:
        # the checks pyspark's own connect.utils.check_dependencies makes, without its
        # doctest shortcut (which exits the process)
        from pyspark.sql.connect import utils as cu
        from pyspark.sql.pandas.utils import require_minimum_pandas_version

        require_minimum_pandas_version()
        cu.require_minimum_grpc_version()
        cu.require_minimum_grpcio_status_version()
        cu.require_minimum_googleapis_common_protos_version()
        cu.require_minimum_zstandard_version()
    except ImportError as exc:
        raise SparkSetupError(
            f"--spark-master {url}: Spark Connect cần pandas, grpcio, "
            "googleapis-common-protos và zstandard, chưa được cài / Spark Connect needs "
            f"pandas, grpcio, googleapis-common-protos and zstandard ({exc}); install "
            "'pyspark[connect]' in this environment, or give the cluster's master "
            "(spark://, yarn, k8s://) and run through spark-submit"
        ) from None
    from pyspark.sql import SparkSession

    builder: Any = SparkSession.builder.remote(url)
    for k, v in settings.conf:
        builder = builder.config(k, v)
    return builder.getOrCreate()


def _launched_by_spark_submit() -> str | None:
    """The master ``spark-submit`` gave this Python process (it starts the JVM first and
    hands its gateway over in ``PYSPARK_GATEWAY_PORT``), or ``None`` when it did not."""
    if "PYSPARK_GATEWAY_PORT" not in os.environ:
        return None
    from pyspark import SparkConf

    conf = SparkConf()
    return conf.get("spark.master") if conf.contains("spark.master") else None


def spark_session(
    threads: int | None = None, memory: str | None = None, settings: SparkSettings | None = None
) -> tuple[Any, dict[str, Any]]:
    """The session to run on and what was chosen and why (``pipeline.resources``).

    No UI and loopback binding only for a local session: on a cluster the executors must reach
    the driver at an address they can route to, which Spark picks (or the user's
    ``spark.driver.host``)."""
    settings = settings or SparkSettings()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    given = dict(settings.conf)
    if settings.master and settings.master.startswith("sc://"):
        session = _connect_session(settings.master, settings)
        source, master = "--spark-master (Spark Connect)", settings.master
    else:
        from pyspark.sql import SparkSession

        active = None if settings.master else SparkSession.getActiveSession()
        submitted = None if settings.master or active else _launched_by_spark_submit()
        if active is not None:
            session, source = active, "active session"
            master = str(active.sparkContext.master)
        else:
            n = threads or min(2, os.cpu_count() or 1)
            master = settings.master or submitted or f"local[{n}]"
            source = (
                "--spark-master" if settings.master else "spark-submit" if submitted else "local"
            )
            session = _build(master, threads, memory, given, submitted is not None)
    for k, v in CORRECTNESS_CONF.items():
        session.conf.set(k, v)
    if not master.startswith("sc://"):
        session.sparkContext.setLogLevel("ERROR")
    facts: dict[str, Any] = {
        "engine": "spark",
        "master": master,
        "chosen_by": source,
        "conf": given,
        "local": master.startswith("local"),
    }
    if not master.startswith("sc://"):
        facts["default_parallelism"] = session.sparkContext.defaultParallelism
        facts["shuffle_partitions"] = session.conf.get("spark.sql.shuffle.partitions")
    return session, facts


def _build(
    master: str, threads: int | None, memory: str | None, given: dict[str, str], submitted: bool
) -> Any:
    """Start (or join) the session for ``master`` with our defaults under the user's conf."""
    from pyspark.sql import SparkSession

    local = master.startswith("local")
    defaults: dict[str, str] = {"spark.sql.execution.arrow.maxRecordsPerBatch": "20000"}
    if local:
        n = threads or min(2, os.cpu_count() or 1)
        # a local session talks to itself over loopback only, never the machine's other address
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        defaults |= {
            "spark.ui.enabled": "false",
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.sql.shuffle.partitions": str(max(2, 2 * n)),
        }
    if not submitted:  # spark-submit started the driver's JVM already, with its own memory
        defaults["spark.driver.memory"] = memory or "2g"
    builder: Any = SparkSession.builder.appName("tiemchung-reconcile")
    if not submitted:
        builder = builder.master(master)
    for k, v in (defaults | given).items():
        builder = builder.config(k, v)
    return builder.getOrCreate()
