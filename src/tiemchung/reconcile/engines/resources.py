"""How much memory and how many threads the DuckDB engine takes: from the machine and the data.

A fixed memory cap was either too small or too big: at 1.5 GB a run past ~2M people spilled to
disk and the time per record grew with the data (issue 16: 4.0x the time for 3x the people),
while the same cap is a third of a small laptop. So the cap is what the inputs need (their rows
times a measured number of bytes per row), never less than a floor that lets every thread
work, never more than a safe share of the memory this process may still take (the cgroup's
limit if one binds, else what the kernel reports as available). ``--memory`` and
``--threads`` override it. The rule and the figures behind each constant are in
docs/reconcile.md (*Engines*) and docs/scale.md; ``bench/reconcile_scale.py`` measures them.

:func:`size` is a pure function of numbers (tested with planted machines);
:func:`read_machine` and :func:`input_rows` gather those numbers.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MIB = 1 << 20
GIB = 1 << 30

#: engine memory per input row (records + register rows). Measured at 1M people with a cap
#: that never binds (8000 MiB): peak resident 1,707 MB for synth's 3.16M Parquet rows and
#: 1,631 MB for gen2's 2.93M CSV rows, ~150 MB of it Python: ~480-500 bytes a row in DuckDB.
#: 550 leaves a tenth to spare, so the cap does not make the run spill, and keeps 1M people
#: (1.7 GB) under the 2 GB target (bench/results/reconcile_scale_sweep*.json)
BYTES_PER_ROW = 550
#: DuckDB's ``memory_limit`` bounds its buffer manager only; its out-of-memory guide advises
#: 50-60% of memory because some operators allocate outside it, and Python (the name
#: standardiser, Arrow results) needs its own share
SHARE = 0.5
#: the least the engine is given whatever the data: small runs gain nothing from less, and
#: DuckDB needs ~128 MB per thread to work at all (this floor also covers small machines)
FLOOR = 1 * GIB
#: each thread's own hash tables and sort runs: the floor grows with the threads, and the
#: threads shrink when the memory cannot give each one this much
PER_THREAD = 256 * MIB
#: below this, DuckDB cannot run the pipeline: taken even if the machine reports less
MINIMUM = 256 * MIB
#: cgroup v1 writes "no limit" as a huge number near 2**63
_NO_LIMIT = 1 << 60


@dataclass(frozen=True)
class Machine:
    """What the process may use: bytes still available (``None``: unknown) and usable CPUs."""

    available: int | None
    cpus: int
    #: where ``available`` came from (cgroup, meminfo, physical), said in summary.json
    source: str = "unknown"


@dataclass(frozen=True)
class Sizing:
    threads: int
    #: DuckDB's ``memory_limit``: whole MiB (DuckDB reads "MB" as 10^6 bytes), or as given
    memory: str
    #: how each was chosen: the figures of the rule, for summary.json
    facts: dict[str, Any]


def default_threads(machine: Machine) -> int:
    """Every usable CPU, fewer if the memory cannot give each thread :data:`PER_THREAD`.

    The old default stopped at 2 (the development machine's cores); DuckDB's steps are
    parallel joins and aggregates, so a bigger machine should use its cores (measured here:
    2 threads against 1 in bench/results/reconcile_scale.json)."""
    threads = max(1, machine.cpus)
    if machine.available is not None:
        threads = min(threads, max(1, int(machine.available * SHARE) // PER_THREAD))
    return threads


def size(
    machine: Machine,
    rows: int,
    *,
    threads: int | None = None,
    memory: str | None = None,
) -> Sizing:
    """The engine's threads and memory for ``rows`` input rows on ``machine``.

    memory = clamp(rows x BYTES_PER_ROW, floor, ceiling) where floor = max(FLOOR, threads x
    PER_THREAD) and ceiling = available x SHARE; if the ceiling is under the floor the ceiling
    wins (the machine has the last word), but never under MINIMUM. A given ``threads`` or
    ``memory`` (the options) is taken as is."""
    n = threads if threads else default_threads(machine)
    need = rows * BYTES_PER_ROW
    floor = max(FLOOR, n * PER_THREAD)
    ceiling = None if machine.available is None else int(machine.available * SHARE)
    chosen = max(need, floor)
    why = "input rows x bytes per row" if need >= floor else "floor"
    if ceiling is not None and chosen > ceiling:
        chosen, why = max(ceiling, MINIMUM), "share of available memory"
    setting = f"{max(1, chosen // MIB)}MiB"
    if memory:
        setting, why = memory, "given (--memory)"
    facts = {
        "threads": n,
        "threads_from": "given (--threads)" if threads else "usable CPUs",
        "memory_limit": setting,
        "memory_from": why,
        "input_rows": rows,
        "need_mib": need // MIB,
        "available_mib": None if machine.available is None else machine.available // MIB,
        "available_from": machine.source,
        "cpus": machine.cpus,
    }
    return Sizing(n, setting, facts)


# --- reading the machine -------------------------------------------------------------------------
def _int(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not text or text == "max":
        return None
    try:
        return int(text.split()[0])
    except ValueError:
        return None


def _meminfo_available(root: Path) -> int | None:
    try:
        lines = (root / "proc/meminfo").read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for line in lines:
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return None


def _cgroup_dirs(root: Path, v1: bool) -> list[Path]:
    """The process's memory cgroup folder and its ancestors (a parent's limit binds too),
    for cgroup v2 (``0::/path``) or v1 (``N:memory:/path``)."""
    try:
        lines = (root / "proc/self/cgroup").read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError):
        lines = []
    base = root / ("sys/fs/cgroup/memory" if v1 else "sys/fs/cgroup")
    rel = "/"
    for line in lines:
        _, controllers, path = [*line.split(":", 2), "", ""][:3]
        if (v1 and "memory" in controllers.split(",")) or (not v1 and line.startswith("0::")):
            rel = path or "/"
    dirs = []
    p = Path(rel.strip("/"))
    while True:
        dirs.append(base / p)
        if p == Path("."):
            return dirs
        p = p.parent


def _cgroup_available(root: Path) -> int | None:
    """Limit minus usage of the tightest memory cgroup on the way up (v2, then v1)."""
    best: int | None = None
    for v1, limit_name, usage_name in (
        (False, "memory.max", "memory.current"),
        (True, "memory.limit_in_bytes", "memory.usage_in_bytes"),
    ):
        for d in _cgroup_dirs(root, v1):
            limit = _int(d / limit_name)
            if limit is None or limit >= _NO_LIMIT:
                continue
            left = max(0, limit - (_int(d / usage_name) or 0))
            best = left if best is None else min(best, left)
    return best


def _cpus(root: Path) -> int:
    """CPUs this process may run on, fewer if a cgroup CPU quota says so."""
    try:
        n = len(os.sched_getaffinity(0)) if root == Path("/") else os.cpu_count() or 1
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    quotas = []
    try:
        v2 = (root / "sys/fs/cgroup/cpu.max").read_text(encoding="ascii").split()
        if len(v2) == 2 and v2[0] != "max":
            quotas.append(int(v2[0]) / int(v2[1]))
    except (OSError, ValueError, UnicodeDecodeError):
        pass
    quota = _int(root / "sys/fs/cgroup/cpu/cpu.cfs_quota_us")
    period = _int(root / "sys/fs/cgroup/cpu/cpu.cfs_period_us")
    if quota and quota > 0 and period:
        quotas.append(quota / period)
    for q in quotas:
        n = min(n, max(1, math.ceil(q)))
    return max(1, n)


def read_machine(root: Path = Path("/")) -> Machine:
    """The memory still available to this process and its usable CPUs, from ``root``'s
    ``/proc`` and ``/sys/fs/cgroup`` (a test plants its own). Available memory is the smaller
    of the cgroup's room and MemAvailable; without /proc, the physical memory
    (``os.sysconf``), which is an overestimate; ``None`` where neither exists."""
    cgroup = _cgroup_available(root)
    meminfo = _meminfo_available(root)
    known = [(v, s) for v, s in ((cgroup, "cgroup"), (meminfo, "meminfo")) if v is not None]
    if known:
        available, source = min(known)
    elif root == Path("/"):
        try:
            available = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
            source = "physical memory"
        except (AttributeError, ValueError, OSError):
            available, source = None, "unknown"
    else:
        available, source = None, "unknown"
    return Machine(available, _cpus(root), source)


# --- reading the data ----------------------------------------------------------------------------
#: bytes per row of an .xlsx sheet (zipped XML) when its rows are not counted
XLSX_BYTES_PER_ROW = 40
#: the head of a CSV file read to learn its bytes per line
CSV_SAMPLE = 1 * MIB


def input_rows(path: Path) -> int:
    """Rows of an input file, cheaply: Parquet's footer, a CSV's size over the mean line of
    its first MiB, an .xlsx file's size over a typical row (an estimate)."""
    suffix = path.suffix.lower()
    size_bytes = path.stat().st_size
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    if suffix == ".xlsx":
        return size_bytes // XLSX_BYTES_PER_ROW
    with path.open("rb") as fh:
        head = fh.read(CSV_SAMPLE)
    lines = head.count(b"\n")
    if len(head) < CSV_SAMPLE or lines == 0:
        return max(lines, 1)
    return int(size_bytes * lines / len(head))
