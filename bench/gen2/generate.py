"""Run the generator and write ``register``, ``records``, ``truth`` and ``manifest.json``.

The files are what ``tiemchung reconcile --register R --records D --out O`` reads (canonical
columns, :mod:`tiemchung.columns`) and what ``tiemchung reconcile score --truth T O`` reads
(``record_id, person_id, duplicate_of, wrong_fields``), with more truth beside it:
``incomplete_fields``, the person's kind, and per field ``<field>_status`` (``correct``,
``incomplete`` or ``wrong``) and ``<field>_process`` (``;``-list of the processes that made it).
``wrong_fields`` and ``incomplete_fields`` are empty for records of people not in the
register (there is nothing to compare with); their per-field columns still say what happened
to their own identity.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tiemchung.columns import RECORD_COLUMNS, REGISTER_COLUMNS, TRUTH_COLUMNS

from .population import build_people
from .rates import FIELDS, PROCESSES, Rates
from .records import make_records

#: Identity fields of the truth's ``wrong_fields`` (those ``reconcile`` reports mismatches of).
TRUTH_FIELDS = ("national_id", "full_name", "dob", "sex", "ward_code")
TRUTH_ALL = (
    *TRUTH_COLUMNS,
    "incomplete_fields",
    "kind",
    *(f"{f}_{k}" for f in FIELDS for k in ("status", "process")),
)


def _table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> pa.Table:
    return pa.table({c: pa.array([r.get(c) for r in rows], pa.string()) for c in columns})


def write(out: Path, name: str, table: pa.Table, fmt: str) -> Path:
    """One table as CSV or Parquet (zstd); the same rows give the same bytes."""
    path = out / f"{name}.{fmt}"
    if fmt == "parquet":
        pq.write_table(table, path, compression="zstd")
    elif fmt == "csv":
        pacsv.write_csv(table, path)
    else:
        raise ValueError(f"unknown format '{fmt}'; expected parquet or csv")
    return path


#: rows per written batch
CHUNK = 100_000


class _Sink:
    """One table written in batches of :data:`CHUNK` rows (Parquet, zstd, or CSV); the same
    rows give the same bytes."""

    def __init__(self, out: Path, name: str, columns: tuple[str, ...], fmt: str) -> None:
        self.path, self.columns = out / f"{name}.{fmt}", columns
        schema = pa.schema([(c, pa.string()) for c in columns])
        self.writer: pq.ParquetWriter | pacsv.CSVWriter
        if fmt == "parquet":
            self.writer = pq.ParquetWriter(self.path, schema, compression="zstd")
        elif fmt == "csv":
            self.writer = pacsv.CSVWriter(self.path, schema)
        else:
            raise ValueError(f"unknown format '{fmt}'; expected parquet or csv")
        self.batch: list[dict[str, Any]] = []
        self.rows = 0

    def add(self, row: dict[str, Any]) -> None:
        self.batch.append(row)
        if len(self.batch) >= CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self.batch:
            self.writer.write_table(_table(self.batch, self.columns))
            self.rows += len(self.batch)
            self.batch = []

    def close(self) -> Path:
        self._flush()
        self.writer.close()
        return self.path


def generate(
    people: int,
    seed: int,
    out: Path | str,
    *,
    fmt: str = "parquet",
    rates: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Generate ``people`` residents (plus foreigners), their records and the truth."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    run_rates = Rates.build(rates)
    rng = random.Random(f"gen2:{seed}")
    persons, places = build_people(people, run_rates.population, rng)
    rows, counts, careless = make_records(persons, places, run_rates, rng)

    # written in batches, the rows dropped as they go: at 3M people the whole tables as
    # Python dicts took the generator past 23 GB (killed by the kernel); in batches the
    # peak is what the population and its typed records hold
    register = _Sink(out, "register", REGISTER_COLUMNS, fmt)
    for p in persons:
        if p.in_register:
            register.add(
                {
                    "person_id": p.person_id,
                    "national_id": p.national_id,
                    "old_id": p.old_id,
                    "full_name": p.full_name,
                    "dob": p.dob,
                    "sex": p.sex,
                    "ward_code": p.ward.code,
                    "address": p.address,
                    "phone": p.phone,
                }
            )
    records = _Sink(out, "records", RECORD_COLUMNS, fmt)
    truth = _Sink(out, "truth", TRUTH_ALL, fmt)
    kinds: dict[str, int] = {}
    duplicates = 0
    # in record_id order, popped off the end of the reversed list so each row (and its typed
    # values) can go once written
    pending = sorted(rows, key=lambda r: r["record_id"], reverse=True)
    del rows
    while pending:
        r = pending.pop()
        p, t = r["person"], r["typed"]
        records.add(
            {
                "record_id": r["record_id"],
                **t.values,
                "vaccine": r["vaccine"],
                "dose_number": str(r["dose_number"]),
                "dose_date": r["dose_date"].isoformat(),
                "site_id": r["site_id"],
            }
        )
        linked = p.in_register
        row = {
            "record_id": r["record_id"],
            "person_id": p.person_id if linked else None,
            "duplicate_of": r["duplicate_of"] or None,
            "kind": p.kind,
            "wrong_fields": ";".join(f for f in TRUTH_FIELDS if linked and t.labels[f] == "wrong")
            or None,
            "incomplete_fields": ";".join(
                f for f in TRUTH_FIELDS if linked and t.labels[f] == "incomplete"
            )
            or None,
        }
        for f in FIELDS:
            row[f"{f}_status"] = t.labels[f]
            row[f"{f}_process"] = ";".join(t.processes.get(f, [])) or None
        truth.add(row)
        kinds[p.kind] = kinds.get(p.kind, 0) + 1
        duplicates += bool(r["duplicate_of"])
    files = {
        name: str(sink.close())
        for name, sink in (("register", register), ("records", records), ("truth", truth))
    }
    manifest = {
        "generator": "bench.gen2 (second, independent error generator; issue 16)",
        "seed": seed,
        "people": people,
        "format": fmt,
        "register_persons": register.rows,
        "persons": len(persons),
        "records": records.rows,
        "records_by_kind": kinds,
        "duplicates": duplicates,
        "wards": len(places.wards),
        "districts": len(places.by_district),
        "population_rates": run_rates.population,
        "careless_sessions": careless,
        "processes": {
            f"{p.field}.{p.name}": {
                "label": p.label,
                "what": p.what,
                "rate": run_rates.process[f"{p.field}.{p.name}"],
                "eligible": counts.eligible[f"{p.field}.{p.name}"],
                "applied": counts.applied[f"{p.field}.{p.name}"],
                "careless_rate": next(
                    r for q, r in run_rates.slot(p.field, p.slot, True) if q == p
                ),
                "careless_eligible": counts.eligible[f"{p.field}.{p.name}@careless"],
                "careless_applied": counts.applied[f"{p.field}.{p.name}@careless"],
            }
            for p in PROCESSES
        },
        "files": files,
    }
    (out / "manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return manifest
