"""Synthetic-data benchmark: `tiemchung.synth.generate` at 1M and 10M people.

Each run is a separate child process. Wall time is measured around it; memory two ways:
the peak of the *summed* resident memory of the child and all its descendants (the worker
processes), sampled from /proc every 50 ms, and ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` (the
largest single process). Targets (issue 4): 1M people (~2M records) in <= 60 s with <= 4 GB
peak on this 2-core machine; 10M people written in chunks without holding them in memory.

    .venv/bin/python bench/synth.py [--people 1000000] [--big 10000000] [--skip-big]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import write_result  # noqa: E402

CHILD = """
import json, sys
from tiemchung.synth import generate
people, seed, out, workers = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
summary = generate(people, seed, out, workers=None if workers == "auto" else int(workers))
print(json.dumps(summary))
"""


def _tree_rss_kb(root: int) -> int:
    """Summed RSS (kB) of ``root`` and all its descendants, from /proc."""
    parent: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            parent[int(entry)] = int(fields[1])
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") // 1024
        except (OSError, IndexError, ValueError):
            continue
    total, todo, seen = 0, [root], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += rss.get(pid, 0)
        todo.extend(c for c, p in parent.items() if p == pid)
    return total


def run(people: int, seed: int, workers: str, out: Path) -> dict[str, Any]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(people), str(seed), str(out), workers],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss_kb(proc.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, _ = proc.communicate()
    seconds = time.perf_counter() - start
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"generator failed for {people:,} people (exit {proc.returncode})")
    summary = json.loads(stdout.strip().splitlines()[-1])
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    single = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "people": people,
        "workers": workers,
        "seconds": round(seconds, 1),
        "people_per_second": round(people / seconds),
        "records": summary["counts"]["records"],
        "records_per_second": round(summary["counts"]["records"] / seconds),
        "peak_rss_tree_mb": round(peak / 1024),
        "max_rss_single_process_mb": round(max(single, before) / 1024),
        "bytes_written_mb": round(size / 1e6, 1),
        "counts": summary["counts"],
        "rates": summary["rates"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--people", type=int, default=1_000_000)
    ap.add_argument("--big", type=int, default=10_000_000)
    ap.add_argument("--skip-big", action="store_true")
    ap.add_argument("--seed", type=int, default=2021)
    args = ap.parse_args()
    results: dict[str, Any] = {}
    tmp = Path(tempfile.mkdtemp(prefix="synth-bench-"))
    try:
        for label, people, workers in (
            ("one_million", args.people, "auto"),
            ("one_million_one_worker", args.people, "1"),
            ("scaling_2m", 2 * args.people, "auto"),
            *(() if args.skip_big else (("ten_million", args.big, "auto"),)),
        ):
            out = tmp / label
            print(f"{label}: {people:,} people, workers={workers} ...", flush=True)
            results[label] = run(people, args.seed, workers, out)
            print(
                json.dumps(
                    {k: v for k, v in results[label].items() if k not in ("counts", "rates")}
                ),
                flush=True,
            )
            shutil.rmtree(out, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    one = results["one_million"]
    results["targets"] = {
        "one_million_seconds_max": 60,
        "one_million_peak_gb_max": 4,
        "one_million_met": one["seconds"] <= 60 and one["peak_rss_tree_mb"] <= 4096,
    }
    path = write_result(
        "synth",
        inputs={
            "people": args.people,
            "big": None if args.skip_big else args.big,
            "seed": args.seed,
            "format": "parquet",
            "cell_people": 16_384,
        },
        results=results,
        packages=["numpy", "pyarrow"],
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
