"""What the Spark engine costs per record compared with DuckDB, for docs/scale.md (issue 5).

The national run is planned on Spark from the CPU cost per record measured here. Both engines
run the same pipeline with the same ``model.json`` (trained once by DuckDB on the smaller set)
on the same files, at two sizes; each run is a child process in its own ``cpuacct`` cgroup, so
the CPU figure counts the JVM and Spark's Python workers too (``wait4`` would miss workers the
JVM never reaps). The *marginal* CPU per record — the difference between the two sizes divided
by the difference in records — removes each engine's fixed start-up cost (the JVM, ~40 stage
launches), which a national run pays once. The ratio of the two marginal costs is the factor
docs/scale.md multiplies DuckDB's measured cost by.

    python bench/reconcile_spark.py                      # 100k and 400k people
    python bench/reconcile_spark.py --sizes 50000 200000
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import write_result
from bench.reconcile import dataset, loadavg

CGROOT = Path("/sys/fs/cgroup/cpuacct")


def _cgroup() -> Path | None:
    """A fresh cpuacct cgroup, or None where this machine does not let us make one."""
    try:
        path = CGROOT / f"tiemchung-bench-{uuid.uuid4().hex[:8]}"
        path.mkdir()
        return path
    except OSError:
        return None


def child(engine: str, data: Path, out: Path, model: str, threads: int) -> None:
    from tiemchung.reconcile import Options, reconcile

    reconcile(
        Options(
            data / "records.parquet",
            data / "register.parquet",
            out,
            engine=engine,
            model=Path(model) if model != "-" else None,
            threads=threads,
        )
    )


def run(engine: str, data: Path, out: Path, model: Path | None, threads: int) -> dict[str, Any]:
    shutil.rmtree(out, ignore_errors=True)
    cg = _cgroup()
    cmd = [
        sys.executable,
        __file__,
        "child",
        engine,
        str(data),
        str(out),
        str(model) if model else "-",
        str(threads),
    ]
    if cg is not None:
        # the shell joins the cgroup before exec, so every descendant is counted
        cmd = ["sh", "-c", f'echo $$ > {cg}/cgroup.procs && exec "$@"', "sh", *cmd]
    load = loadavg()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{engine} child failed ({status})")
    rusage_cpu = usage.ru_utime + usage.ru_stime
    cpu = rusage_cpu
    if cg is not None:
        cpu = int((cg / "cpuacct.usage").read_text()) / 1e9
        time.sleep(0.2)
        with contextlib.suppress(OSError):
            cg.rmdir()
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    result = {
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "cpu_source": "cpuacct cgroup" if cg is not None else "wait4 rusage",
        "rusage_cpu_s": round(rusage_cpu, 2),
        "load_1min_before": load,
        "timings_s": summary["pipeline"]["timings_s"],
    }
    print(f"{engine:7s} {data.name}: {wall:7.1f} s wall, {cpu:7.1f} CPU-s, load {load:.2f}")
    return result


def links_equal(a: Path, b: Path) -> bool:
    import duckdb

    q = (
        "SELECT count(*) FROM (SELECT record_id, person_id, action FROM read_parquet(?) "
        "EXCEPT SELECT record_id, person_id, action FROM read_parquet(?))"
    )
    con = duckdb.connect()
    pa_, pb = str(a / "links.parquet"), str(b / "links.parquet")
    return (
        con.execute(q, [pa_, pb]).fetchone()[0] == 0  # type: ignore[index]
        and con.execute(q, [pb, pa_]).fetchone()[0] == 0  # type: ignore[index]
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs=2, default=[100_000, 400_000])
    ap.add_argument("--data", type=Path, default=Path("/tmp/tiemchung-bench"))
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    work = args.data / "spark-factor"
    work.mkdir(parents=True, exist_ok=True)
    small, large = (dataset(args.data, n, 1) for n in args.sizes)
    # one model for every run: trained by DuckDB on the smaller set
    trained = work / "train"
    run("duckdb", small, trained, None, args.threads)
    model = work / "model.json"
    shutil.copy(trained / "model.json", model)
    points: dict[str, dict[str, Any]] = {}
    for people, data in zip(args.sizes, (small, large), strict=True):
        records = json.loads((data / "summary.json").read_text())["counts"]["records"]
        point: dict[str, Any] = {"people": people, "records": records}
        for engine in ("duckdb", "spark"):
            point[engine] = run(engine, data, work / f"{engine}-{people}", model, args.threads)
        point["links_equal"] = links_equal(work / f"duckdb-{people}", work / f"spark-{people}")
        points[str(people)] = point
    a, b = (points[str(n)] for n in args.sizes)
    dr = b["records"] - a["records"]
    marginal = {
        e: (b[e]["cpu_s"] - a[e]["cpu_s"]) / dr * 1e6 for e in ("duckdb", "spark")
    }  # CPU-µs per record
    fixed = {e: a[e]["cpu_s"] - marginal[e] * a["records"] / 1e6 for e in ("duckdb", "spark")}
    results = {
        "points": points,
        "marginal_cpu_us_per_record": {k: round(v, 2) for k, v in marginal.items()},
        "fixed_cpu_s": {k: round(v, 1) for k, v in fixed.items()},
        "spark_over_duckdb_marginal_cpu": round(marginal["spark"] / marginal["duckdb"], 2),
        "spark_over_duckdb_wall_large": round(b["spark"]["wall_s"] / b["duckdb"]["wall_s"], 2),
    }
    print(json.dumps({k: v for k, v in results.items() if k != "points"}, indent=1))
    write_result(
        "reconcile_spark",
        results=results,
        inputs={"sizes_people": args.sizes, "threads": args.threads, "seed": 1},
        packages=("tiemchung", "duckdb", "pyspark", "pyarrow"),
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        _, _, engine, data, out, model, threads = sys.argv
        child(engine, Path(data), Path(out), model, int(threads))
    else:
        main()
