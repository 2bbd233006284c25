"""The DuckDB engine's threads and memory, sized from the machine and the data
(``reconcile/engines/resources.py``): the rule on planted numbers, the machine read from a
planted ``/proc`` and ``/sys/fs/cgroup``, and what a run records in summary.json."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tiemchung.cli.main import app
from tiemchung.reconcile.engines import duckdb_engine
from tiemchung.reconcile.engines.duckdb_engine import DuckDBEngine
from tiemchung.reconcile.engines.resources import (
    BYTES_PER_ROW,
    GIB,
    MIB,
    Machine,
    default_threads,
    input_rows,
    read_machine,
    size,
)
from tiemchung.reconcile.inputs import inspect_input

from .conftest import Case

BIG = Machine(available=64 * GIB, cpus=16, source="meminfo")


# --- the rule ------------------------------------------------------------------------------------
def test_memory_follows_the_rows_between_floor_and_ceiling() -> None:
    # 3M people: ~9.5M rows; 550 bytes each is 5.225e9 bytes = 4982 MiB, under 32 GiB
    s = size(BIG, 9_500_000, threads=2)
    assert BYTES_PER_ROW == 550  # the figure measured in bench/results/reconcile_scale_sweep.json
    assert s.memory == "4982MiB"
    assert s.facts["memory_from"] == "input rows x bytes per row"
    assert s.facts["need_mib"] == 4982
    # three times the rows, three times the memory (less rounding)
    assert size(BIG, 3 * 9_500_000, threads=2).memory == "14948MiB"


def test_small_inputs_get_the_floor_which_grows_with_threads() -> None:
    assert size(BIG, 10_000, threads=2).memory == "1024MiB"
    assert size(BIG, 10_000, threads=2).facts["memory_from"] == "floor"
    # 16 threads x 256 MiB each
    assert size(BIG, 10_000).memory == "4096MiB"
    assert size(BIG, 10_000).threads == 16


def test_the_machine_caps_the_memory_at_half_of_what_is_available() -> None:
    small = Machine(available=4 * GIB, cpus=2, source="cgroup")
    s = size(small, 40_000_000)  # would need ~19 GB
    assert s.memory == "2048MiB"
    assert s.facts["memory_from"] == "share of available memory"
    assert s.facts["available_mib"] == 4096 and s.facts["available_from"] == "cgroup"
    # the ceiling wins over the floor too, but never under 256 MiB
    assert size(Machine(1 * GIB, 2), 10).memory == "512MiB"
    assert size(Machine(200 * MIB, 1), 10).memory == "256MiB"


def test_options_are_taken_as_given() -> None:
    s = size(BIG, 9_500_000, threads=3, memory="700MB")
    assert (s.threads, s.memory) == (3, "700MB")
    assert s.facts["threads_from"] == "given (--threads)"
    assert s.facts["memory_from"] == "given (--memory)"


def test_unknown_available_memory_leaves_the_need_uncapped() -> None:
    s = size(Machine(None, 4), 100_000_000)
    assert s.memory == f"{100_000_000 * 550 // MIB}MiB"
    assert s.facts["available_mib"] is None


def test_threads_are_the_cpus_unless_memory_is_short() -> None:
    assert default_threads(BIG) == 16
    assert default_threads(Machine(None, 6)) == 6
    # 1 GiB available: half is 512 MiB, two threads of 256 MiB
    assert default_threads(Machine(1 * GIB, 16)) == 2
    assert default_threads(Machine(10 * MIB, 16)) == 1


# --- the machine, planted ------------------------------------------------------------------------
def _plant(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="ascii")
    return root


MEMINFO = "MemTotal:       24683784 kB\nMemFree: 1 kB\nMemAvailable:   20971520 kB\n"  # 20 GiB


def test_meminfo_alone(tmp_path: Path) -> None:
    m = read_machine(_plant(tmp_path, {"proc/meminfo": MEMINFO}))
    assert (m.available, m.source) == (20 * GIB, "meminfo")


def test_a_cgroup_v2_limit_binds_below_meminfo(tmp_path: Path) -> None:
    root = _plant(
        tmp_path,
        {
            "proc/meminfo": MEMINFO,
            "proc/self/cgroup": "0::/user.slice/job\n",
            "sys/fs/cgroup/user.slice/job/memory.max": f"{3 * GIB}\n",
            "sys/fs/cgroup/user.slice/job/memory.current": f"{1 * GIB}\n",
            "sys/fs/cgroup/user.slice/memory.max": "max\n",
            "sys/fs/cgroup/cpu.max": "50000 100000\n",  # half a CPU
        },
    )
    m = read_machine(root)
    assert (m.available, m.source, m.cpus) == (2 * GIB, "cgroup", 1)
    s = size(m, 30_000_000)  # needs ~14 GB; the cgroup leaves 2 GiB, half of it taken
    assert (s.memory, s.threads) == ("1024MiB", 1)


def test_a_parent_cgroup_limit_binds_too(tmp_path: Path) -> None:
    root = _plant(
        tmp_path,
        {
            "proc/meminfo": MEMINFO,
            "proc/self/cgroup": "0::/a/b\n",
            "sys/fs/cgroup/a/b/memory.max": f"{8 * GIB}\n",
            "sys/fs/cgroup/a/memory.max": f"{4 * GIB}\n",
            "sys/fs/cgroup/a/memory.current": f"{3 * GIB}\n",
        },
    )
    assert read_machine(root).available == 1 * GIB


def test_a_cgroup_v1_limit_and_v1_no_limit(tmp_path: Path) -> None:
    files = {
        "proc/meminfo": MEMINFO,
        "proc/self/cgroup": "4:memory:/process_api/x\n1:cpu:/\n0::/\n",
        "sys/fs/cgroup/memory/process_api/x/memory.limit_in_bytes": "9223372036854771712\n",
        "sys/fs/cgroup/memory/process_api/x/memory.usage_in_bytes": f"{5 * GIB}\n",
        "sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1\n",
        "sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n",
    }
    m = read_machine(_plant(tmp_path / "free", files))
    assert (m.available, m.source) == (20 * GIB, "meminfo")  # v1's "no limit" is ignored
    files["sys/fs/cgroup/memory/process_api/x/memory.limit_in_bytes"] = f"{6 * GIB}\n"
    m = read_machine(_plant(tmp_path / "capped", files))
    assert (m.available, m.source) == (1 * GIB, "cgroup")


def test_nothing_readable_is_unknown(tmp_path: Path) -> None:
    m = read_machine(tmp_path)
    assert m.available is None and m.source == "unknown" and m.cpus >= 1


# --- the data ------------------------------------------------------------------------------------
def test_input_rows_parquet_exact_csv_estimated(tmp_path: Path) -> None:
    n = 60_000
    t = pa.table({"a": [f"nguyen van {i}" for i in range(n)], "b": list(range(n))})
    pq.write_table(t, tmp_path / "x.parquet")
    assert input_rows(tmp_path / "x.parquet") == n
    lines = ["full_name,dob"] + [f"Tran Thi {i:07d},1990-01-{1 + i % 28:02d}" for i in range(n)]
    (tmp_path / "x.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert (tmp_path / "x.csv").stat().st_size > 1 << 20  # past the sample: an estimate
    assert abs(input_rows(tmp_path / "x.csv") - (n + 1)) < n * 0.01
    (tmp_path / "small.csv").write_text("a\n1\n2\n", encoding="utf-8")
    assert input_rows(tmp_path / "small.csv") == 3


def _duckdb_reads(setting: str) -> str:
    con = duckdb.connect()
    con.execute("SET memory_limit = ?", [setting])
    return str(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])


def test_the_engine_takes_the_sized_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a planted machine, so the figures do not move with what the neighbours hold
    planted = Machine(available=16 * GIB, cpus=3, source="cgroup")
    monkeypatch.setattr(duckdb_engine, "read_machine", lambda: planted)
    eng = DuckDBEngine(tmp_path / "w", rows=8_000_000)  # 8M x 550 bytes = 4196 MiB
    try:
        got = eng.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
        assert got == _duckdb_reads("4196MiB")
        assert eng.resources is not None and eng.resources["memory_limit"] == "4196MiB"
        threads = eng.con.execute("SELECT current_setting('threads')").fetchall()[0][0]
        assert int(threads) == 3 and eng.threads == 3
    finally:
        eng.close()


def test_without_rows_the_engine_grows_with_what_it_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(duckdb_engine, "read_machine", lambda: Machine(64 * GIB, 2, "meminfo"))
    n = 3_000_000  # 3M rows x 550 bytes = 1573 MiB, past the 1 GiB floor
    ids = pa.array(range(n), pa.int64())
    pq.write_table(pa.table({"record_id": ids, "full_name": ids}), tmp_path / "r.parquet")
    spec = inspect_input(tmp_path / "r.parquet", "records")
    eng = DuckDBEngine(tmp_path / "w")
    try:
        assert eng.resources is not None and eng.resources["memory_limit"] == "1024MiB"
        eng.load_input("rec_in", spec, ["record_id"])
        assert eng.resources["memory_limit"] == "1573MiB"
        assert eng.resources["input_rows"] == n
    finally:
        eng.close()


def test_a_run_says_what_it_used(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(duckdb_engine, "read_machine", lambda: Machine(8 * GIB, 5, "meminfo"))
    out = tmp_path / "out"
    base = ["reconcile", "--register", str(case.register_file), "--records", str(case.records_file)]
    res = CliRunner().invoke(app, [*base, "--out", str(out)])
    assert res.exit_code == 0, res.output
    r = json.loads((out / "summary.json").read_text(encoding="utf-8"))["pipeline"]["resources"]
    # a few hundred rows: the floor, 5 threads x 256 MiB = 1280 MiB
    assert (r["memory_limit"], r["memory_from"]) == ("1280MiB", "floor")
    assert (r["threads"], r["threads_from"], r["available_mib"]) == (5, "usable CPUs", 8192)
    assert 100 < r["input_rows"] < 10_000
    res = CliRunner().invoke(
        app, [*base, "--out", str(tmp_path / "o2"), "--memory", "700MB", "--threads", "1"]
    )
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "o2" / "summary.json").read_text(encoding="utf-8"))
    r = doc["pipeline"]["resources"]
    assert (r["memory_limit"], r["memory_from"], r["threads"]) == ("700MB", "given (--memory)", 1)
