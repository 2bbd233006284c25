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

    register = [
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
        for p in persons
        if p.in_register
    ]
    records: list[dict[str, Any]] = []
    truth: list[dict[str, Any]] = []
    for r in sorted(rows, key=lambda r: r["record_id"]):
        p, t = r["person"], r["typed"]
        records.append(
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
        truth.append(row)

    files = {
        "register": str(write(out, "register", _table(register, REGISTER_COLUMNS), fmt)),
        "records": str(write(out, "records", _table(records, RECORD_COLUMNS), fmt)),
        "truth": str(write(out, "truth", _table(truth, TRUTH_ALL), fmt)),
    }
    kinds: dict[str, int] = {}
    for row in truth:
        kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
    manifest = {
        "generator": "bench.gen2 (second, independent error generator; issue 16)",
        "seed": seed,
        "people": people,
        "format": fmt,
        "register_persons": len(register),
        "persons": len(persons),
        "records": len(records),
        "records_by_kind": kinds,
        "duplicates": sum(1 for row in truth if row["duplicate_of"]),
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
