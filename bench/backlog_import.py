"""Backlog import benchmark: a million old dose records with Vietnamese headers and legacy
encodings through ``tiemchung backlog import``'s service (``import_legacy_files``).

  1. write the inputs (not measured): a CSV of ``--rows`` rows (a title line, Vietnamese
     headers, names and addresses in Unicode, TCVN3, VNI and UTF-8 mojibake, vaccine names as
     people typed them, 1% unknown vaccine names, 0.5% unreadable dose dates) and, with
     ``--xlsx-rows``, an XLSX of the same rows' head over two sheets;
  2. a fresh registry (``tiemchung init`` on SQLite, or a throw-away PostgreSQL server started
     here with ``--backend postgresql``) with the sites the rows name;
  3. time the import of the CSV (the figure the issue caps at 60 s), check stored + skipped +
     rejected = read, then import it again (nothing stored twice) and time that too; beside
     each wall time the import's CPU seconds (user + system, all threads), as the machine is
     shared;
  4. the same for the XLSX;
  5. baseline in the same run: the bare parse of the same files with the same libraries
     (``csv.reader`` over the file; openpyxl's read-only rows), so the import is reported as a
     multiple of just reading the file.

    nice -n 10 .venv/bin/python bench/backlog_import.py [--rows 1000000] [--xlsx-rows 100000]

Everyone in the files is made up.
"""

from __future__ import annotations

import argparse
import csv
import gc
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bench._common import Timer, write_result  # noqa: E402
from tiemchung.config import Settings  # noqa: E402
from tiemchung.core import tune_gc  # noqa: E402
from tiemchung.identity.encodings import to_tcvn3, to_vni  # noqa: E402
from tiemchung.installation import initialise  # noqa: E402
from tiemchung.registry.imports.legacy import import_legacy_files  # noqa: E402
from tiemchung.registry.models import AdminUnit, Dose, Site  # noqa: E402
from tiemchung.registry.scope import Actor  # noqa: E402
from tiemchung.store.db import make_engine, make_sessionmaker  # noqa: E402

ACTOR = Actor.system("bench-backlog")
HEADER = ["STT", "Họ và tên", "Ngày sinh", "Giới tính", "Số CCCD", "Địa chỉ",
          "Loại vắc xin", "Mũi", "Ngày tiêm", "Mã điểm tiêm"]  # fmt: skip
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi",
          "Đỗ", "Hồ", "Ngô", "Dương", "Lý"]  # fmt: skip
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Thanh", "Ngọc", "Quang", "Xuân", "Thu"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hòa", "Hùng", "Hương",
         "Khánh", "Lan", "Linh", "Long", "Mai", "Nam", "Nga", "Phúc", "Phương", "Quân", "Sơn",
         "Tâm", "Thảo", "Thủy", "Trang", "Tuấn", "Việt", "Yến"]  # fmt: skip
VACCINES = ["Sinopharm", "Vero Cell", "AZ", "AstraZeneca", "Astra", "Pfizer", "Pfizer-BioNTech",
            "Comirnaty", "Moderna", "Spikevax", "Sputnik V", "Abdala"]  # fmt: skip


def _mangle(text: str, rng: random.Random) -> str:
    """As the old files hold it: mostly Unicode, some TCVN3, VNI or UTF-8 read as cp1252."""
    roll = rng.random()
    if roll < 0.15:
        return to_tcvn3(text)
    if roll < 0.25:
        return to_vni(text)
    if roll < 0.30:
        return text.encode("utf-8").decode("cp1252", errors="replace")
    return text


def make_rows(n: int, sites: list[str], seed: int) -> list[list[Any]]:
    rng = random.Random(seed)
    rows: list[list[Any]] = []
    people = max(n // 2, 1)
    for i in range(n):
        p = rng.randrange(people)
        prng = random.Random(p * 7919 + seed)
        name = f"{prng.choice(FAMILY)} {prng.choice(MIDDLE)} {prng.choice(GIVEN)}"
        dob = f"{prng.randint(1, 28):02d}/{prng.randint(1, 12):02d}/{prng.randint(1940, 2005)}"
        sex = prng.choice(["Nam", "Nữ"])
        cccd = f"0{prng.randint(1, 96):02d}{prng.randint(0, 3)}{prng.randint(0, 99_999_999):08d}"
        address = f"Thôn {prng.randint(1, 12)}, xã {prng.choice(GIVEN)} {prng.choice(MIDDLE)}"
        vaccine = "Covaxin" if rng.random() < 0.01 else rng.choice(VACCINES)
        day = f"{rng.randint(1, 28):02d}/{rng.randint(7, 12):02d}/2021"
        if rng.random() < 0.005:
            day = "30/02/2021"
        rows.append([i + 1, _mangle(name, rng), dob, sex, cccd if rng.random() < 0.8 else "",
                     _mangle(address, rng), vaccine, rng.randint(1, 3), day,
                     sites[p % len(sites)]])  # fmt: skip
    return rows


def write_csv(path: Path, rows: list[list[Any]]) -> None:
    """UTF-8 (legacy text already in it as the code points its old fonts showed)."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["DANH SÁCH NGƯỜI ĐÃ TIÊM VẮC XIN PHÒNG COVID-19"])
        w.writerow(HEADER)
        w.writerows(rows)


def write_xlsx(path: Path, rows: list[list[Any]]) -> None:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    half = len(rows) // 2
    for title, part in (("Đợt 1", rows[:half]), ("Đợt 2", rows[half:])):
        ws = book.create_sheet(title)
        ws.append(["DANH SÁCH NGƯỜI ĐÃ TIÊM VẮC XIN PHÒNG COVID-19"])
        ws.append(HEADER)
        for r in part:
            ws.append(r)
    book.save(path)


def bare_csv(path: Path) -> int:
    with path.open(encoding="utf-8", newline="") as fh:
        return sum(1 for _ in csv.reader(fh))


def bare_xlsx(path: Path) -> int:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    n = sum(1 for ws in book.worksheets for _ in ws.iter_rows(values_only=True))
    book.close()
    return n


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _cpu_seconds() -> float:
    """User + system CPU of this process, every thread (the import's writer thread too): on
    a shared machine the wall time says as much about the neighbours as about the import."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _import(sm: Any, file: Path, rejects: Path) -> dict[str, Any]:
    cpu = _cpu_seconds()
    with Timer() as t, sm() as s:
        done = import_legacy_files(s, ACTOR, [file], rejects_path=rejects)
    cpu = _cpu_seconds() - cpu
    r = done.report
    assert r.rows_read == r.rows_imported + r.rows_skipped + r.rows_rejected
    return {
        "seconds": round(t.seconds, 2),
        "cpu_s": round(cpu, 2),
        "rows_per_s": round(r.rows_read / t.seconds),
        "read": r.rows_read,
        "stored": r.rows_imported,
        "skipped": r.rows_skipped,
        "rejected": r.rows_rejected,
        "reasons": r.reasons,
        "unknown_vaccines": r.unknown_vaccines,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--xlsx-rows", type=int, default=100_000)
    ap.add_argument("--work", type=Path, default=Path("/tmp/tiemchung-bench-backlog"))
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--name", default="backlog_import")
    args = ap.parse_args()
    # as `tiemchung backlog import` runs it: its Platform sets these GC thresholds (a fifth
    # of the import's Python time went to full collections under CPython's defaults)
    tune_gc()
    args.work.mkdir(parents=True, exist_ok=True)
    db = args.work / "bench.db"
    db.unlink(missing_ok=True)
    server = None
    if args.backend == "postgresql":
        from tests.pgserver import PostgresServer

        server = PostgresServer()
        server.start()
        url = server.create_database("bench_backlog")
    else:
        url = f"sqlite:///{db}"
    try:
        _log("init")
        initialise(Settings(database_url=url, data_dir=args.work))
        engine = make_engine(url)
        sm = make_sessionmaker(engine)
        with sm() as s:
            wards = s.execute(
                select(AdminUnit.code, AdminUnit.province_code)
                .where(AdminUnit.scheme == "2021", AdminUnit.level == "ward")
                .order_by(AdminUnit.code)
                .limit(50)
            ).all()
            s.add_all(
                Site(
                    site_id=f"TYT-{w}",
                    name=f"Trạm Y tế {w}",
                    ward_code=w,
                    province_code=p,
                    active=True,
                )
                for w, p in wards
            )
            s.commit()
            sites = [f"TYT-{w}" for w, _p in wards]
        _log(f"generate {args.rows:,} rows")
        rows = make_rows(args.rows, sites, args.seed)
        csv_file = args.work / f"so-tiem-{args.rows}.csv"
        write_csv(csv_file, rows)
        xlsx_file = args.work / f"so-tiem-{args.xlsx_rows}.xlsx"
        if args.xlsx_rows:
            write_xlsx(xlsx_file, rows[: args.xlsx_rows])
        del rows
        results: dict[str, Any] = {}
        _log("baseline: bare csv.reader")
        with Timer() as t:
            bare_csv(csv_file)
        results["csv_bare_parse_s"] = round(t.seconds, 2)
        _log("import csv")
        results["csv_first"] = _import(sm, csv_file, args.work / "csv.rejects.csv")
        _log(f"csv first: {results['csv_first']['seconds']} s")
        results["csv_again"] = _import(sm, csv_file, args.work / "csv.rejects.csv")
        _log(f"csv again: {results['csv_again']['seconds']} s")
        results["csv_vs_bare_parse"] = round(
            results["csv_first"]["seconds"] / max(results["csv_bare_parse_s"], 1e-9), 1
        )
        if args.xlsx_rows:
            _log("baseline: openpyxl read-only rows")
            with Timer() as t:
                bare_xlsx(xlsx_file)
            results["xlsx_bare_parse_s"] = round(t.seconds, 2)
            _log("import xlsx (rows already stored from the csv: skipped)")
            results["xlsx_after_csv"] = _import(sm, xlsx_file, args.work / "x.rejects.csv")
            results["xlsx_vs_bare_parse"] = round(
                results["xlsx_after_csv"]["seconds"] / max(results["xlsx_bare_parse_s"], 1e-9), 1
            )
        with sm() as s:
            results["doses_stored"] = s.scalar(select(func.count()).select_from(Dose))
        engine.dispose()
    finally:
        if server is not None:
            server.stop()
    path = write_result(
        args.name,
        inputs={
            "rows": args.rows,
            "xlsx_rows": args.xlsx_rows,
            "backend": args.backend,
            "seed": args.seed,
            "csv_bytes": csv_file.stat().st_size,
            "encodings": "70% Unicode, 15% TCVN3, 10% VNI, 5% mojibake (names, addresses)",
            "gc_thresholds": list(gc.get_threshold()),
        },
        results=results,
        packages=["sqlalchemy", "openpyxl", "pyarrow", "psycopg"],
    )
    _log(f"wrote {path}")


if __name__ == "__main__":
    main()
