"""Issue 19's export target (``bench/fhir.py --part export``): ``$export`` of 1M patients and
2M immunizations written as NDJSON at ≥ 50,000 resources/s, memory flat, every resource valid.

1. a PostgreSQL store (``tests/pgserver.py``) migrated by ``init``; ``--people`` invented
   persons bulk-loaded with ``COPY`` (``bench/_register.load_persons``), then two doses each
   made by one ``INSERT … SELECT`` (set-based, not the synthesiser): 9 in 10 linked, one in
   ten unlinked, lots and two sites;
2. the baseline, in the same run: the same scoped rows (``registry/exports/rows.py``) streamed
   and written as CSV — the floor of reading the rows out;
3. the export itself (``fhir/bulk.export_files``, what a job and ``tiemchung export fhir``
   run), timed, with the process's resident memory sampled every 50 ms (its peak above the
   level before the export is the "flat" figure);
4. a sample of lines (``--validate`` per file, spread over the files) parsed with the
   ``fhir.resources`` R4B models.

    nice -n 10 .venv/bin/python bench/fhir.py --part export --people 1000003

Results in ``bench/results/fhir_export.json``. Everyone here is made up.
"""

from __future__ import annotations

import argparse
import csv
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bench import _register  # noqa: E402
from bench._common import Timer, write_result  # noqa: E402

SEED = 19
TARGET = 50_000  # resources a second


def log(msg: str) -> None:
    print(msg, flush=True)


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class RssSampler:
    """The peak resident memory while a block runs (sampled, since ``ru_maxrss`` also holds
    the load phase's peak)."""

    def __enter__(self) -> RssSampler:
        self.before = rss_mb()
        self.peak = self.before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, rss_mb())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


def seed_doses(engine: Any) -> int:
    """Two doses for every person, in one statement: lots by product, two sites, the area the
    person's ward (an unlinked dose keeps the ward as entered)."""
    with engine.begin() as conn:
        ward, province = _register.all_wards()[0]
        ward2, province2 = _register.all_wards()[5000]
        conn.execute(
            text(
                "INSERT INTO sites (site_id, name, kind, ward_code, province_code, active) "
                "VALUES ('S0001', 'Trạm Y tế số 1', 'commune_health_station', :w, :p, true), "
                "('S0002', 'Bệnh viện \"Đa khoa\"', 'hospital', :w2, :p2, true)"
            ),
            {"w": ward, "p": province, "w2": ward2, "p2": province2},
        )
        conn.execute(
            text(
                "INSERT INTO lots (product_code, lot_number, expiry) VALUES "
                "('PFIZER', 'PF-001', '2030-01-01'), ('AZ', 'AZ-001', '2030-01-01'), "
                "('MODERNA', 'MO-001', '2030-01-01'), ('VEROCELL', 'VC-001', '2030-01-01')"
            )
        )
        conn.execute(
            text(
                """
                INSERT INTO doses (client_uuid, submission_hash, person_pk, national_id,
                    full_name, product_code, lot_id, dose_number, dose_date, site_id, status,
                    area_ward_code, area_province_code, created_at, updated_at)
                SELECT md5(p.id::text || '-' || g.n::text)::uuid, repeat('0', 64),
                    CASE WHEN p.id % 10 = 0 THEN NULL ELSE p.id END, p.national_id,
                    p.full_name, l.product_code, l.id, g.n,
                    DATE '2021-07-01' + (p.id % 120)::int + 35 * (g.n - 1),
                    CASE WHEN p.id % 3 = 0 THEN 'S0002' ELSE 'S0001' END,
                    CASE WHEN p.id % 10 = 0 THEN 'unverified' ELSE 'verified' END,
                    p.ward_code, p.province_code,
                    TIMESTAMPTZ '2021-07-01 08:00:00+07' + (p.id % 86400) * INTERVAL '1 second'
                        + (p.id % 120) * INTERVAL '1 day',
                    CASE WHEN p.id % 50 = 0 THEN now() END
                FROM persons p
                CROSS JOIN (VALUES (1), (2)) AS g(n)
                JOIN lots l ON l.id = 1 + (p.id % 4)
                """
            )
        )
        conn.exec_driver_sql("ANALYZE doses")
        return int(conn.exec_driver_sql("SELECT count(*) FROM doses").scalar_one())


def baseline_csv(sessions: Any, scope: Any, folder: Path) -> dict[str, Any]:
    """The same rows streamed and written as CSV: what reading them out costs alone."""
    from tiemchung.registry.exports.rows import dose_rows, person_rows

    folder.mkdir(parents=True, exist_ok=True)
    counts = {}
    cpu0 = time.process_time()
    with Timer() as t:
        for name, fetch in (("persons", person_rows), ("doses", dose_rows)):
            n = 0
            with sessions() as s, (folder / f"{name}.csv").open("w", newline="") as fh:
                w = csv.writer(fh)
                for chunk in fetch(s, scope):
                    w.writerows(chunk)
                    n += len(chunk)
            counts[name] = n
    total = sum(counts.values())
    cpu = time.process_time() - cpu0
    return {
        "seconds": round(t.seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "rows": counts,
        "rows_per_s": round(total / t.seconds),
    }


def validate_sample(folder: Path, per_file: int) -> dict[str, int]:
    """Lines spread evenly over each file, parsed with the R4B models."""
    from fhir.resources.R4B.immunization import Immunization
    from fhir.resources.R4B.patient import Patient

    models = {"Patient": Patient, "Immunization": Immunization}
    checked = {}
    for kind, model in models.items():
        path = folder / f"{kind}.ndjson"
        if not path.exists():
            continue
        with path.open("rb") as fh:
            total = sum(1 for _ in fh)
        step = max(1, total // per_file)
        n = 0
        with path.open("rb") as fh:
            for i, line in enumerate(fh):
                if i % step == 0:
                    model.model_validate_json(line)
                    n += 1
        checked[kind] = n
    return checked


def bench_export(people: int, validate: int, keep: bool) -> dict[str, Any]:
    from tests.pgserver import PostgresServer

    from tiemchung.config import Settings
    from tiemchung.fhir.bulk import TYPES, export_files
    from tiemchung.installation import initialise
    from tiemchung.registry.exports.rows import ExportScope
    from tiemchung.registry.scope import Actor
    from tiemchung.store.db import make_engine, make_sessionmaker

    work = Path(f"/tmp/tiemchung-bench-export-{people}")
    work.mkdir(parents=True, exist_ok=True)
    pg = PostgresServer().start()
    try:
        url = pg.create_database("bench")
        settings = Settings(data_dir=work / "data", database_url=url)
        initialise(settings)
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        log(f"loading {people:,} persons")
        with Timer() as t_persons:
            register = _register.load_persons(engine, people, SEED, progress=log)
        with Timer() as t_doses:
            n_doses = seed_doses(engine)
        log(f"store: {people:,} persons {t_persons.seconds:.0f} s, {n_doses:,} doses "
            f"{t_doses.seconds:.0f} s")  # fmt: skip
        scope = ExportScope(Actor.system("bench"))

        base = baseline_csv(sessions, scope, work / "baseline")
        log(f"baseline CSV: {base}")
        out = work / "export"
        cpu0 = time.process_time()
        with RssSampler() as mem, Timer() as t_export:
            output = export_files(sessions, scope, list(TYPES), out)
        cpu_export = time.process_time() - cpu0
        written = sum(o["count"] for o in output)
        rate = written / t_export.seconds
        log(f"export: {written:,} resources in {t_export.seconds:.1f} s = {rate:,.0f}/s; "
            f"RSS {mem.before:.0f} → peak {mem.peak:.0f} MB")  # fmt: skip
        sizes = {o["type"]: (out / o["file"]).stat().st_size for o in output}
        with Timer() as t_valid:
            checked = validate_sample(out, validate)
        log(f"validated {checked} in {t_valid.seconds:.1f} s")
        result = {
            "store": {
                "backend": "postgresql",
                "persons": people,
                "doses": n_doses,
                "persons_load_s": round(t_persons.seconds, 1),
                "doses_load_s": round(t_doses.seconds, 1),
                "register": register,
            },
            "export": {
                "seconds": round(t_export.seconds, 2),
                "resources": written,
                "output": output,
                "bytes": sizes,
                "resources_per_s": round(rate),
                # this process's CPU (PostgreSQL's is its own): on a busy shared machine the
                # wall time says more about the neighbours than about the export
                "cpu_seconds": round(cpu_export, 2),
                "resources_per_cpu_s": round(written / cpu_export),
                "target_per_s": TARGET,
                "target_met": rate >= TARGET,
                "rss_before_mb": round(mem.before, 1),
                "rss_peak_mb": round(mem.peak, 1),
                "rss_growth_mb": round(mem.peak - mem.before, 1),
            },
            "baseline_csv": base,
            "export_vs_baseline": round(t_export.seconds / base["seconds"], 2),
            "validated_sample": checked,
            "process_max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }
        engine.dispose()
        return result
    finally:
        pg.stop()
        if not keep:
            import shutil

            shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=1_000_003)
    parser.add_argument("--validate", type=int, default=20_000, help="lines checked per file")
    parser.add_argument("--keep", action="store_true", help="keep the files in /tmp")
    parser.add_argument("--name", default="fhir_export")
    args = parser.parse_args()
    result = bench_export(args.people, args.validate, args.keep)
    path = write_result(
        args.name,
        inputs={"people": args.people, "validate_per_file": args.validate},
        results=result,
        packages=["orjson", "psycopg", "sqlalchemy", "fhir.resources"],
    )
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
