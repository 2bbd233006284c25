"""Time per record at 3M people against 1M, main's fixed memory cap against the sizing rule
(issue 16, the last paragraph of its targets; ``reconcile/engines/resources.py``).

For each data set (``tiemchung synth`` as Parquet; the second generator ``bench/gen2`` as CSV)
at 1M and 3M people, ``tiemchung reconcile`` runs with

* **before**: main's defaults until issue 16: ``memory_limit`` 1500MB and 2 threads;
* **after**: the defaults now, nothing given: threads and memory sized from the machine and the
  inputs (``summary.json`` → ``pipeline.resources`` says what was taken).

in ``--pairs`` back-to-back pairs, which one goes first alternating: this machine is shared and
its speed drifts by 15-40% over minutes, so a pair's two runs see nearly the same machine. Each
run is its own child process: wall time around it, peak resident memory from the child's own
``VmHWM`` (not ``ru_maxrss``, see ``bench/reconcile.py``). Reported per policy: the median time
per record at 3M over the median at 1M (target: within 1.2x with the defaults).

``--sweep`` runs the defaults with given memory caps instead (the figures behind
``BYTES_PER_ROW``): time and peak memory against the cap.

    nice -n 10 .venv/bin/python bench/reconcile_scale.py            # ~40 min with gen2 cached
    nice -n 10 .venv/bin/python bench/reconcile_scale.py --sweep 1000MiB,1500MiB,3000MiB

Data: synth in ``--data`` (generated if missing, ~45 s per million people); gen2 CSV in
``/tmp/gen2-1m`` and ``/tmp/gen2-3m`` (seeds 2 and 3; generated if missing with
``bench/secondgen.py``: pure Python, ~10 min per million people).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import write_result  # noqa: E402
from bench.reconcile import dataset, loadavg, vm_hwm_mb  # noqa: E402

#: main's defaults before the sizing rule (duckdb_engine.DEFAULT_MEMORY, "all cores, max 2")
BEFORE_MEMORY, BEFORE_THREADS = "1500MB", 2
#: the second generator's seed per size (the folders another engineer may read too)
GEN2_SEEDS = {1_000_000: 2, 3_000_000: 3}


# --- child ---------------------------------------------------------------------------------------
def child(records: str, register: str, out: str, threads: str, memory: str) -> dict[str, Any]:
    from tiemchung.reconcile import Options, reconcile

    s = reconcile(
        Options(
            Path(records),
            Path(register),
            Path(out),
            threads=int(threads) or None,
            memory=memory or None,
        )
    )
    p = s["pipeline"]
    return {
        "records": s["records"],
        "register": s["register"],
        "timings_s": p["timings_s"],
        "resources": p.get("resources"),
        "candidate_pairs": p["candidate_pairs"],
        "overall": s["overall"],
    }


# --- parent --------------------------------------------------------------------------------------
def run(
    files: tuple[Path, Path], out: Path, threads: int | None, memory: str | None
) -> dict[str, Any]:
    shutil.rmtree(out, ignore_errors=True)
    info = out.parent / f"{out.name}.child.json"
    load = loadavg()
    start = time.perf_counter()
    args = [str(files[0]), str(files[1]), str(out), str(threads or 0), memory or ""]
    proc = subprocess.Popen([sys.executable, __file__, "child", *args, str(info)])
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"reconcile child failed ({status}) on {files[0]}")
    c = json.loads(info.read_text(encoding="utf-8"))
    shutil.rmtree(out, ignore_errors=True)
    res = {
        "wall_s": round(wall, 2),
        "us_per_record": round(wall / c["records"] * 1e6, 3),
        "cpu_us_per_record": round((usage.ru_utime + usage.ru_stime) / c["records"] * 1e6, 3),
        "peak_rss_mb": c.pop("vm_hwm_mb"),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "load_1min_before": load,
        "load_1min_after": loadavg(),
        **c,
    }
    r = res["resources"] or {}
    print(
        f"  {files[0].parent.name:16s} threads {r.get('threads')} memory "
        f"{r.get('memory_limit')}: {res['wall_s']:7.2f} s, {res['us_per_record']:.2f} us/record, "
        f"{res['peak_rss_mb']} MB, load {load:.2f}",
        flush=True,
    )
    return res


def gen2(people: int, folder: Path) -> Path:
    """The second generator's CSV set at ``people`` (kept: others may read it)."""
    if (folder / "register.csv").exists() and (folder / "truth.csv").exists():
        return folder
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench/secondgen.py"),
            "--people",
            str(people),
            "--seed",
            str(GEN2_SEEDS[people]),
            "--out",
            str(folder),
            "--format",
            "csv",
        ],
        check=True,
    )
    return folder


def median(xs: list[float]) -> float:
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def pairs(files: tuple[Path, Path], work: Path, n: int) -> dict[str, Any]:
    """``n`` (before, after) pairs on one data set, the order alternating."""
    runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    for k in range(n):
        order = ("before", "after") if k % 2 == 0 else ("after", "before")
        for policy in order:
            if policy == "before":
                r = run(files, work / "run", BEFORE_THREADS, BEFORE_MEMORY)
            else:
                r = run(files, work / "run", None, None)
            runs[policy].append(r)
    out: dict[str, Any] = {}
    for policy, rs in runs.items():
        out[policy] = {
            "median_wall_s": round(median([r["wall_s"] for r in rs]), 2),
            "median_us_per_record": round(median([r["us_per_record"] for r in rs]), 3),
            # CPU: steadier than wall time when others load the machine (also inflated by it)
            "median_cpu_us_per_record": round(
                median([r["cpu_s"] / r["records"] * 1e6 for r in rs]), 3
            ),
            "peak_rss_mb_max": max(r["peak_rss_mb"] for r in rs),
            "runs": rs,
        }
    out["after_over_before_per_pair"] = [
        round(a["wall_s"] / b["wall_s"], 3)
        for a, b in zip(runs["after"], runs["before"], strict=True)
    ]
    return out


def ratios(one: dict[str, Any], three: dict[str, Any]) -> dict[str, float]:
    """Median time (and CPU) per record at 3M over 1M, per policy."""
    return {
        f"{policy}{suffix}": round(three[policy][key] / one[policy][key], 3)
        for policy in ("before", "after")
        for suffix, key in (("", "median_us_per_record"), ("_cpu", "median_cpu_us_per_record"))
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("/tmp/tiemchung-bench"))
    ap.add_argument(
        "--gen2",
        type=Path,
        nargs=2,
        default=[Path("/tmp/gen2-1m"), Path("/tmp/gen2-3m")],
        metavar=("DIR_1M", "DIR_3M"),
    )
    ap.add_argument("--pairs", type=int, default=2, help="(before, after) pairs per data set")
    ap.add_argument("--sets", default="synth,gen2", help="synth, gen2 or both")
    ap.add_argument(
        "--sweep",
        help="memory caps to try with the default threads, e.g. "
        "1000MiB,1500MiB,3000MiB (the figures behind BYTES_PER_ROW)",
    )
    ap.add_argument(
        "--threads", help="with --sweep: thread counts to try, e.g. 1,2 (each with each cap)"
    )
    ap.add_argument("--sizes", default="1000000,3000000", help="people (the first two: 1M, 3M)")
    ap.add_argument("--name", default="reconcile_scale", help="bench/results/NAME.json")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    work = args.data / "runs-scale"
    work.mkdir(parents=True, exist_ok=True)
    sets: dict[str, dict[int, tuple[Path, Path]]] = {}
    wanted = args.sets.split(",")
    if "synth" in wanted:
        sets["synth"] = {}
        for n in sizes:
            d = dataset(args.data, n, 1)
            sets["synth"][n] = (d / "records.parquet", d / "register.parquet")
    if "gen2" in wanted:
        sets["gen2"] = {}
        for n, folder in zip(sizes, args.gen2, strict=False):
            d = gen2(n, folder)
            sets["gen2"][n] = (d / "records.csv", d / "register.csv")
    results: dict[str, Any] = {}
    for name, by_size in sets.items():
        results[name] = {}
        for n, files in by_size.items():
            print(f"{name} {n:,} people", flush=True)
            if args.sweep:
                threads = [int(t) for t in args.threads.split(",")] if args.threads else [0]
                results[name][str(n)] = {
                    f"{cap}, {t or 'default'} threads, run {i}": run(
                        files, work / "run", t or None, cap
                    )
                    for cap in args.sweep.split(",")
                    for i, t in enumerate(threads, start=1)
                }
            else:
                results[name][str(n)] = pairs(files, work, args.pairs)
        if not args.sweep and len(sizes) == 2:
            one, three = (results[name][str(n)] for n in sizes)
            results[name]["per_record_3m_over_1m"] = ratios(one, three)
            print(f"{name}: per record 3M/1M {results[name]['per_record_3m_over_1m']}", flush=True)
    inputs = {
        name: {str(n): [str(f) for f in files] for n, files in by_size.items()}
        for name, by_size in sets.items()
    }
    path = write_result(
        args.name,
        inputs={
            "files": inputs,
            "before": f"main's fixed cap: memory_limit {BEFORE_MEMORY}, {BEFORE_THREADS} threads",
            "after": "defaults: sized by reconcile/engines/resources.py (see each run's resources)",
            "pairs": args.pairs,
            "sweep": args.sweep,
            "target": "after: per record at 3M within 1.2x of 1M",
        },
        results=results,
        packages=["duckdb", "pyarrow"],
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        *a, info = sys.argv[2:]
        res = child(*a)
        res["vm_hwm_mb"] = vm_hwm_mb()
        Path(info).write_text(json.dumps(res), encoding="utf-8")
    else:
        main()
