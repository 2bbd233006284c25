"""Time per record at 3M people against 1M, main's fixed memory cap against the sizing rule
(issue 16, the last paragraph of its targets; ``reconcile/engines/resources.py``).

For each data set (``tiemchung synth`` as Parquet; the second generator ``bench/gen2`` as CSV)
at 1M and 3M people, ``tiemchung reconcile`` runs with

* **before**: main's defaults until issue 16: ``memory_limit`` 1500MB and 2 threads;
* **after**: the defaults now, nothing given: threads and memory sized from the machine and the
  inputs (``summary.json`` → ``pipeline.resources`` says what was taken).

in ``--pairs`` rounds: in each, the 1M and 3M runs of one policy back to back, then those of
the other, which policy goes first alternating. This machine is shared and its speed drifts by
15-40% over minutes, so a policy's 3M/1M ratio is taken within a round (runs minutes apart) and
the median of the rounds reported, by wall time and by CPU time (steadier under others' load).
Each run is its own child process: wall time around it, peak resident memory from the child's
own ``VmHWM`` (not ``ru_maxrss``, see ``bench/reconcile.py``). Target: with the defaults, time
per record at 3M within 1.2x of 1M.

``--sweep`` runs the defaults with given memory caps instead (the figures behind
``BYTES_PER_ROW``): time and peak memory against the cap.

    nice -n 10 .venv/bin/python bench/reconcile_scale.py       # ~10 min on a quiet machine (synth)
    nice -n 10 .venv/bin/python bench/reconcile_scale.py --sweep 1500MB,8000MiB --threads 1,2

Data: synth in ``--data`` (generated if missing, ~45 s per million people); the second
generator's CSV sets in ``/tmp/gen2-1m`` and ``/tmp/gen2-3m`` (``bench/secondgen.py --people
1000000 --seed 2 --format csv``, ``--people 3000000 --seed 3``), used only if both are there.
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


def gen2_files(folder: Path) -> tuple[Path, Path] | None:
    """The second generator's CSV set in ``folder``, if it is there. Never generated here: at
    3M people ``bench/secondgen.py`` (pure Python) holds ~23 GB, which this shared 24 GB
    machine cannot give it (it was killed by the kernel at 22.9 GB on 2026-12-07)."""
    files = (folder / "records.csv", folder / "register.csv")
    return files if all(f.exists() for f in files) and (folder / "truth.csv").exists() else None


def median(xs: list[float]) -> float:
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def policy_run(files: tuple[Path, Path], work: Path, policy: str) -> dict[str, Any]:
    if policy == "before":
        return run(files, work / "run", BEFORE_THREADS, BEFORE_MEMORY)
    return run(files, work / "run", None, None)


def summarise(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
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


def rounds(by_size: dict[int, tuple[Path, Path]], work: Path, n: int) -> dict[str, Any]:
    """``n`` rounds; in each, every size under one policy back to back, then every size under
    the other (which policy goes first, and the order of the sizes, alternating). A policy's
    3M and 1M runs are minutes apart, so their ratio sees nearly one machine; it is taken per
    round, and the median of the rounds reported."""
    sizes = list(by_size)
    runs: dict[int, dict[str, list[dict[str, Any]]]] = {
        size: {"before": [], "after": []} for size in sizes
    }
    per_round: dict[str, list[float]] = {}
    for k in range(n):
        policies = ("before", "after") if k % 2 == 0 else ("after", "before")
        for j, policy in enumerate(policies):
            order = sizes if (k + j) % 2 == 0 else sizes[::-1]
            got = {size: policy_run(by_size[size], work, policy) for size in order}
            for size, r in got.items():
                runs[size][policy].append(r)
            if len(sizes) == 2:
                one, three = (got[size] for size in sizes)
                for suffix, key in (("", "us_per_record"), ("_cpu", "cpu_us_per_record")):
                    ratio = three[key] / one[key]
                    per_round.setdefault(f"{policy}{suffix}", []).append(round(ratio, 3))
    out: dict[str, Any] = {str(size): summarise(runs[size]) for size in sizes}
    if per_round:
        out["per_record_3m_over_1m_per_round"] = per_round
        out["per_record_3m_over_1m"] = {k: round(median(v), 3) for k, v in per_round.items()}
    return out


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
    ap.add_argument("--pairs", type=int, default=3, help="rounds of (before, after) per data set")
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
        found = {n: gen2_files(folder) for n, folder in zip(sizes, args.gen2, strict=False)}
        if all(found.values()):
            sets["gen2"] = {n: f for n, f in found.items() if f is not None}
        else:
            print(f"gen2 skipped: no CSV set in {', '.join(map(str, args.gen2))}", flush=True)
    results: dict[str, Any] = {}
    for name, by_size in sets.items():
        results[name] = {}
        if not args.sweep:
            print(f"{name}: {', '.join(f'{n:,}' for n in by_size)} people", flush=True)
            results[name] = rounds(by_size, work, args.pairs)
            print(f"{name}: per record 3M/1M {results[name].get('per_record_3m_over_1m')}")
            continue
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
