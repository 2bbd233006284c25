"""What the Spark engine is told before it starts: where the data is (a path or ``file://``),
``--spark-conf`` pairs, the executors' packed environment, and the error an executor without
tiemchung's Python gives. None of these start a JVM."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tiemchung.cli.main import app
from tiemchung.reconcile.engines.spark_engine import executors_checked
from tiemchung.reconcile.engines.spark_session import parse_conf
from tiemchung.reconcile.errors import ReconcileInputError, SparkSetupError
from tiemchung.reconcile.locations import local_path
from tiemchung.reconcile.spark_env import pack_environment

pytest.importorskip("pyspark")

runner = CliRunner()


def test_a_file_uri_is_its_path_and_a_plain_path_stays() -> None:
    assert local_path("file:///data/run%201/records.parquet", "--records") == Path(
        "/data/run 1/records.parquet"
    )
    assert local_path("file://localhost/d/x.csv", "--records") == Path("/d/x.csv")
    assert local_path("rel/x.csv", "--records") == Path("rel/x.csv")


def test_other_hosts_and_remote_storage_are_refused_with_what_to_do() -> None:
    with pytest.raises(ReconcileInputError, match="three slashes"):
        local_path("file://nas/d/x.csv", "--register")
    with pytest.raises(ReconcileInputError, match=r"--records hdfs://nn/x.*--engine spark"):
        local_path("hdfs://nn/x.parquet", "--records", "duckdb")
    with pytest.raises(ReconcileInputError, match=r"--out s3a://b/o.*file:///"):
        local_path("s3a://b/o", "--out", "spark")


def test_spark_conf_pairs_and_a_bad_one() -> None:
    assert parse_conf(["spark.executor.memory=4g", "a.b=x=y"]) == (
        ("spark.executor.memory", "4g"),
        ("a.b", "x=y"),
    )
    with pytest.raises(SparkSetupError, match=r"spark\.executor\.memory4g"):
        parse_conf(["spark.executor.memory4g"])


def test_cli_refuses_spark_options_without_the_spark_engine(tmp_path: Path) -> None:
    r = runner.invoke(
        app,
        [
            *("reconcile", "--register", "a", "--records", "b", "--out", str(tmp_path)),
            *("--spark-master", "spark://h:7077"),
        ],
    )
    assert r.exit_code == 2
    assert "--engine spark" in r.output


def test_cli_refuses_a_bad_spark_conf_before_any_work(tmp_path: Path) -> None:
    r = runner.invoke(
        app,
        [
            *("reconcile", "--engine", "spark", "--register", "a", "--records", "b"),
            *("--out", str(tmp_path / "o"), "--spark-conf", "nokey"),
        ],
    )
    assert r.exit_code == 2
    assert "key=value" in r.output
    assert not (tmp_path / "o").exists()


def test_an_executor_without_the_modules_says_what_to_ship() -> None:
    # the text pyspark's PythonException carries when a worker's import fails
    worker_failure = RuntimeError(
        "An exception was thrown from the Python worker. Traceback (most recent call last):\n"
        '  File "<frozen importlib._bootstrap>", line 1140\n'
        "ModuleNotFoundError: No module named 'duckdb'"
    )
    expected = r"'duckdb'.*spark-env.*spark\.pyspark\.python"
    with pytest.raises(SparkSetupError, match=expected), executors_checked():
        raise worker_failure
    # any other failure is left as it is
    with pytest.raises(ValueError, match="other"), executors_checked():
        raise ValueError("other")


def test_spark_env_packs_a_venv_that_imports_tiemchung(tmp_path: Path) -> None:
    env = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = env / "lib" / version / "site-packages"
    (site / "__pycache__").mkdir()
    (site / "__pycache__" / "junk.pyc").write_bytes(b"x")
    archive = tmp_path / "env.tar.gz"
    packed = pack_environment(archive, env, site)
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        assert "pyvenv.cfg" in names
        assert tar.getmember("bin/python").issym()
        assert f"lib/{version}/site-packages/tiemchung/reconcile/engines/spark_engine.py" in names
        assert not any(n.endswith(".pyc") for n in names)
        unpacked = tmp_path / "node" / "env"
        tar.extractall(unpacked, filter="tar")
    assert packed.files > 10
    # an executor's view: the unpacked environment's python imports the packed tiemchung
    out = subprocess.run(
        [str(unpacked / "bin" / "python"), "-c", "import tiemchung; print(tiemchung.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert out.stdout.strip().startswith(str(unpacked)), out.stdout
    assert "--archives env.tar.gz#env" in packed.spark_submit_line()


def test_spark_env_cli_refuses_a_name_spark_cannot_unpack(tmp_path: Path) -> None:
    r = runner.invoke(app, ["reconcile", "spark-env", str(tmp_path / "env.zip")])
    assert r.exit_code == 2
    assert ".tar.gz" in r.output


def test_spark_connect_without_its_client_libraries_says_what_to_install() -> None:
    import importlib.util

    from tiemchung.reconcile.engines.spark_session import SparkSettings, spark_session

    if all(importlib.util.find_spec(m) for m in ("pandas", "grpc", "zstandard")):
        pytest.skip("Spark Connect's client libraries are installed here")
    with pytest.raises(SparkSetupError, match=r"sc://h:15002.*pyspark\[connect\]"):
        spark_session(settings=SparkSettings("sc://h:15002"))
