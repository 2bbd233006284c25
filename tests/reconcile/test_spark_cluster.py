"""``--engine spark`` on a real Spark standalone cluster: a master and two workers, each its
own JVM started from pyspark's ``bin/spark-class`` on 127.0.0.1, the CLI run as a user runs it
(a subprocess, ``--spark-master spark://...``), inputs and outputs given as ``file://`` URIs
(the folder stands for storage every node mounts). Its links must equal the DuckDB engine's
with the same model — also when a worker is killed mid-run (a lost node).

The cluster is small on purpose (the machine is shared): 1 core and 1 GB per worker, the
driver 1 GB, few shuffle partitions.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tiemchung.reconcile import Options, reconcile
from tiemchung.synth import generate

pytest.importorskip("pyspark")
if shutil.which("java") is None:  # .ci/run installs openjdk-17-jre-headless
    pytest.skip("no Java runtime for Spark", allow_module_level=True)

#: a run takes about a minute on a quiet 2-core machine; the limits are for a loaded one
RUN_TIMEOUT = 1200
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2 * RUN_TIMEOUT)]

TIEMCHUNG = Path(sys.executable).parent / "tiemchung"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    url: str
    ui: int
    env: dict[str, str]
    logs: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def alive_workers(self) -> int:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ui}/json/", timeout=5) as r:
            return int(json.load(r)["aliveworkers"])

    def log_tail(self) -> str:
        return "\n".join(
            f"--- {p.name}\n" + p.read_text(errors="replace")[-3000:]
            for p in sorted(self.logs.glob("*.log"))
        )


def _spark_class() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent / "bin" / "spark-class"


def _start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    # a process group of its own: killing it kills the worker and the executor it started,
    # like a node going away
    with log.open("wb") as f:
        return subprocess.Popen(
            cmd, env=env, stdout=f, stderr=subprocess.STDOUT, start_new_session=True
        )


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    base = tmp_path_factory.mktemp("cluster")
    logs = base / "logs"
    logs.mkdir()
    import pyspark

    env = {
        **os.environ,
        "SPARK_HOME": str(Path(pyspark.__file__).parent),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOG_DIR": str(logs),
        "SPARK_WORKER_DIR": str(base / "work"),
        "SPARK_DAEMON_MEMORY": "256m",
        "PYSPARK_PYTHON": sys.executable,
    }
    port, ui = _free_port(), _free_port()
    spark_class = str(_spark_class())
    master = _start(
        [
            spark_class,
            "org.apache.spark.deploy.master.Master",
            *("--host", "127.0.0.1", "--port", str(port), "--webui-port", str(ui)),
        ],
        env,
        logs / "master.log",
    )
    c = Cluster(f"spark://127.0.0.1:{port}", ui, env, logs)
    procs = [master]
    try:
        for i in range(2):
            w = _start(
                [
                    spark_class,
                    "org.apache.spark.deploy.worker.Worker",
                    *("--host", "127.0.0.1", "--cores", "1", "--memory", "1g"),
                    *("--webui-port", str(_free_port()), "--work-dir", str(base / f"w{i}")),
                    c.url,
                ],
                env,
                logs / f"worker{i}.log",
            )
            c.workers.append(w)
            procs.append(w)
        deadline = time.monotonic() + 300  # JVMs start slowly on a loaded machine
        while True:
            try:
                if c.alive_workers() == 2:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the standalone cluster did not start:\n" + c.log_tail())
            time.sleep(0.5)
        yield c
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("cluster-data") / "synth"
    generate(1000, 5, d, workers=1)
    return d


@pytest.fixture(scope="module")
def duck(data: Path) -> Path:
    out = data.parent / "duck"
    reconcile(Options(data / "records.parquet", data / "register.parquet", out, threads=1))
    return out


def _argv(cluster: Cluster, data: Path, duck: Path, out: Path) -> list[str]:
    return [
        str(TIEMCHUNG),
        "reconcile",
        *("--engine", "spark", "--spark-master", cluster.url),
        *("--register", (data / "register.parquet").as_uri()),
        *("--records", (data / "records.parquet").as_uri()),
        *("--out", out.as_uri(), "--model", str(duck / "model.json"), "--memory", "1g"),
        *("--spark-conf", "spark.executor.memory=1g"),
        *("--spark-conf", "spark.sql.shuffle.partitions=4"),
        # a lost executor's tasks are re-run elsewhere; give up on the fourth failure
        *("--spark-conf", "spark.task.maxFailures=4"),
    ]


def _links(out: Path) -> dict[str, dict]:
    return {r["record_id"]: r for r in pq.read_table(out / "links.parquet").to_pylist()}


def _same_links(duck: Path, out: Path) -> None:
    a, b = _links(duck), _links(out)
    assert a.keys() == b.keys()
    different = [k for k in a if a[k] != b[k]]
    assert different == [], [(a[k], b[k]) for k in different[:3]]


def test_cluster_run_links_equal_duckdb(cluster: Cluster, data: Path, duck: Path) -> None:
    out = data.parent / "on-cluster"
    run = subprocess.run(
        _argv(cluster, data, duck, out), env=cluster.env, capture_output=True, timeout=RUN_TIMEOUT
    )
    assert run.returncode == 0, run.stdout.decode() + run.stderr.decode() + cluster.log_tail()
    _same_links(duck, out)
    resources = json.loads((out / "summary.json").read_text())["pipeline"]["resources"]
    assert resources["master"] == cluster.url
    assert resources["chosen_by"] == "--spark-master"
    assert resources["local"] is False
    assert resources["conf"]["spark.sql.shuffle.partitions"] == "4"
    # the run used the cluster: each worker (a JVM of its own) launched an executor for it
    for i in (0, 1):
        log = (cluster.logs / f"worker{i}.log").read_text(errors="replace")
        assert "Asked to launch executor" in log and "tiemchung-reconcile" in log


def test_cluster_run_survives_a_lost_worker(cluster: Cluster, data: Path, duck: Path) -> None:
    out = data.parent / "lost-worker"
    argv = _argv(cluster, data, duck, out)
    log = cluster.logs / "lost-worker-run.log"
    with log.open("wb") as f:
        run = subprocess.Popen(argv, env=cluster.env, stdout=f, stderr=subprocess.STDOUT)
    state = out / ".work" / "state.json"
    deadline = time.monotonic() + RUN_TIMEOUT
    # mid-run: the first stages are done and the rest are running on both executors
    while not (state.exists() and "standardise" in json.loads(state.read_text())["done"]):
        assert run.poll() is None, log.read_text(errors="replace")
        assert time.monotonic() < deadline, log.read_text(errors="replace")
        time.sleep(0.2)
    victim = cluster.workers[1]
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    code = run.wait(RUN_TIMEOUT)
    if code != 0:  # Spark gave up on the lost tasks: the shared work tables finish it
        again = subprocess.run(
            [*argv, "--resume"], env=cluster.env, capture_output=True, timeout=RUN_TIMEOUT
        )
        assert again.returncode == 0, again.stdout.decode() + again.stderr.decode()
    assert cluster.alive_workers() == 1
    _same_links(duck, out)
