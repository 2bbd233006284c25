"""``--engine spark``: a real local Spark session (shared by this module) runs the same
pipeline; given the same model.json its links equal DuckDB's, column for column."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tiemchung.reconcile import Options, reconcile, score
from tiemchung.synth import generate

pytest.importorskip("pyspark")
if shutil.which("java") is None:  # .ci/run installs openjdk-17-jre-headless
    pytest.skip("no Java runtime for Spark", allow_module_level=True)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("spark") / "synth"
    generate(1500, 3, d, workers=1)
    return d


@pytest.fixture(scope="module")
def duck(data: Path) -> Path:
    out = data.parent / "duck"
    reconcile(Options(data / "records.parquet", data / "register.parquet", out))
    return out


def _rows(out: Path) -> dict[str, dict]:
    return {r["record_id"]: r for r in pq.read_table(out / "links.parquet").to_pylist()}


def test_spark_links_equal_duckdb_links_with_the_same_model(data: Path, duck: Path) -> None:
    out = data.parent / "spark"
    summary = reconcile(
        Options(
            data / "records.parquet",
            data / "register.parquet",
            out,
            engine="spark",
            model=duck / "model.json",
        )
    )
    assert summary["pipeline"]["engine"] == "spark"
    # nothing named a cluster and none was active: a local session, bound to loopback
    resources = summary["pipeline"]["resources"]
    assert (resources["chosen_by"], resources["local"]) == ("local", True)
    assert resources["master"].startswith("local[")
    a, b = _rows(duck), _rows(out)
    assert a.keys() == b.keys()
    different = [k for k in a if a[k] != b[k]]
    assert different == [], [(a[k], b[k]) for k in different[:3]]

    def lines(path: Path) -> list[str]:  # rows come in each engine's own order
        return sorted(path.read_text(encoding="utf-8").splitlines())

    assert lines(out / "links.csv") == lines(duck / "links.csv")


def test_spark_trains_its_own_model(data: Path) -> None:
    out = data.parent / "spark-trained"
    reconcile(Options(data / "records.parquet", data / "register.parquet", out, engine="spark"))
    s = score(data / "truth.parquet", out)
    assert s["link"]["f1"] >= 0.995
    assert s["automatic"]["precision"] >= 0.999


def test_spark_equals_duckdb_on_the_hand_made_cases(tmp_path: Path) -> None:
    """The synthetic set above has no record in review; the hand-made cases have (twins,
    an entry in review typed twice, one whose candidate has a linked entry of its dose):
    the records stage's double entries and review pointers are the same on both engines."""
    from .conftest import build_case

    reg, rec, _truth, _ward = build_case(tmp_path)
    duck = tmp_path / "duck"
    reconcile(Options(rec, reg, duck, threads=2))
    out = tmp_path / "spark"
    reconcile(Options(rec, reg, out, engine="spark", model=duck / "model.json"))
    a, b = _rows(duck), _rows(out)
    # the cases are there to compare: X24 doubles X06 (both in review), X06 names X25
    assert (a["X24"]["action"], a["X24"]["duplicate_of"]) == ("duplicate", "X06")
    assert (a["X06"]["action"], a["X06"]["duplicate_of"]) == ("review", "X25")
    assert a.keys() == b.keys()
    different = [k for k in a if a[k] != b[k]]
    assert different == [], [(a[k], b[k]) for k in different[:3]]
