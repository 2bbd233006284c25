"""What the store holds, as the two files a reconciliation run reads (issue 17 point 3).

``tiemchung reconcile --from-store OUT`` links the doses the backlog import stored against the
register the register import stored, with no hand-made file: this module writes
``OUT/inputs/records.parquet`` (every stored dose with a ``record_id``, in ``RECORD_COLUMNS``;
the record id is what ``reconcile apply`` finds the dose by) and ``OUT/inputs/register.parquet``
(the ``persons`` table in ``REGISTER_COLUMNS``). Doses entered at the desk have no record id:
they were checked against the register when recorded, and are not the backlog's.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from tiemchung.columns import RECORD_COLUMNS, REGISTER_COLUMNS
from tiemchung.registry.models import Dose, Person

_CHUNK = 50_000


@dataclass(frozen=True)
class StoreInputs:
    """The two files written, and how many rows each holds."""

    records: Path
    register: Path
    record_rows: int
    register_rows: int


def _write(session: Session, query: Executable, columns: Sequence[str], path: Path) -> int:
    schema = pa.schema([(c, pa.string()) for c in columns])
    n = 0
    with pq.ParquetWriter(path, schema) as writer:
        for part in _parts(session, query):
            cols = list(zip(*part, strict=True))  # partitions are never empty
            writer.write_table(
                pa.table(
                    {
                        c: pa.array([None if v is None else str(v) for v in col], pa.string())
                        for c, col in zip(columns, cols, strict=True)
                    },
                    schema=schema,
                )
            )
            n += len(part)
    return n


def _parts(session: Session, query: Executable) -> Iterator[list[Sequence[Any]]]:
    result = session.execute(query.execution_options(yield_per=_CHUNK))
    for part in result.partitions(_CHUNK):
        yield [tuple(r) for r in part]


def export_for_reconcile(session: Session, out: Path) -> StoreInputs:
    """Write the stored backlog doses and register persons under ``out/inputs/``."""
    inputs = out / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    dose_cols = {
        "record_id": Dose.record_id,
        "national_id": Dose.national_id,
        "full_name": Dose.full_name,
        "dob": Dose.dob,
        "sex": Dose.sex,
        "phone": Dose.phone,
        "ward_code": Dose.ward_code,
        "address": Dose.address,
        "vaccine": Dose.product_code,
        "dose_number": Dose.dose_number,
        "dose_date": Dose.dose_date,
        "site_id": Dose.site_id,
    }
    assert tuple(dose_cols) == RECORD_COLUMNS
    records = inputs / "records.parquet"
    record_rows = _write(
        session,
        select(*dose_cols.values()).where(Dose.record_id.is_not(None)).order_by(Dose.id),
        RECORD_COLUMNS,
        records,
    )
    register = inputs / "register.parquet"
    register_rows = _write(
        session,
        select(*(getattr(Person, c) for c in REGISTER_COLUMNS)).order_by(Person.id),
        REGISTER_COLUMNS,
        register,
    )
    return StoreInputs(records, register, record_rows, register_rows)
