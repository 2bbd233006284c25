"""Import a population-register snapshot (CSV or Parquet) into the registry.

The file is streamed in batches, each row cleaned with the identity toolkit and upserted on
``person_id`` (a newer snapshot updates the same person); each person created or changed is
one change for partners (``registry/changes/log.py``) in the batch's transaction. A row that
cannot be used is never dropped: it goes to a rejects CSV beside the output with its row
number and the reason.
Problems with the file itself (unreadable, a required column missing, a mapping naming no
such column) are reported before any row is written.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tiemchung.columns import REGISTER_COLUMNS
from tiemchung.registry.changes.log import Change, append
from tiemchung.registry.errors import ServiceError, rule_error
from tiemchung.registry.fields import clean_dob, clean_id, clean_name, clean_phone, clean_sex
from tiemchung.registry.imports.closing import close_import
from tiemchung.registry.imports.rejects import RejectsFile
from tiemchung.registry.models import AdminUnit, Person
from tiemchung.registry.scope import Actor
from tiemchung.store.bulk import select_keys

REQUIRED = ("person_id", "full_name")
#: the columns a newer snapshot overwrites (the upsert's ``SET``)
UPSERTED = (
    *("national_id", "old_id", "full_name", "name_key", "dob", "sex"),
    *("ward_code", "province_code", "address", "phone"),
)
BATCH_ROWS = 20_000


class ImportFileError(Exception):
    """The file cannot be imported at all; says which file, which column, what was expected."""


@dataclass
class ImportReport:
    file: str
    rows_read: int = 0
    rows_imported: int = 0
    rows_rejected: int = 0
    rejects_file: str | None = None
    reasons: dict[str, int] = field(default_factory=dict)


def _column_map(names: list[str], mapping: Mapping[str, str] | None, file: Path) -> dict[str, str]:
    """canonical column → column in the file; errors before any work starts."""
    mapping = dict(mapping or {})
    unknown = [c for c in mapping if c not in REGISTER_COLUMNS]
    if unknown:
        raise ImportFileError(
            f"{file}: the mapping names unknown canonical column(s) {unknown}; "
            f"expected some of {list(REGISTER_COLUMNS)}"
        )
    for canonical, source in mapping.items():
        if source not in names:
            raise ImportFileError(
                f"{file}: the mapping sends '{canonical}' to column '{source}', which the file "
                f"does not have (its columns: {names})"
            )
    out = {c: mapping.get(c, c) for c in REGISTER_COLUMNS if mapping.get(c, c) in names}
    missing = [c for c in REQUIRED if c not in out]
    if missing:
        raise ImportFileError(
            f"{file}: required column(s) {missing} missing (thiếu cột bắt buộc); the file has "
            f"{names}; map other names with a mapping file"
        )
    return out


def _batches(
    file: Path, bad_rows: list[tuple[int, str]]
) -> tuple[list[str], Iterator[pa.RecordBatch]]:
    suffix = file.suffix.lower()
    if not file.exists():
        raise ImportFileError(f"{file}: no such file (không tìm thấy tệp)")
    try:
        if suffix == ".parquet":
            pf = pq.ParquetFile(file)
            names = pf.schema_arrow.names
            return names, pf.iter_batches(batch_size=BATCH_ROWS)
        if suffix in (".csv", ".txt"):
            with file.open(encoding="utf-8-sig", newline="") as fh:
                names = next(csv.reader(fh), [])

            def on_invalid(row: Any) -> str:
                bad_rows.append((int(row.number or 0), f"malformed CSV row: {row.text[:200]}"))
                return "skip"

            reader = pacsv.open_csv(
                file,
                read_options=pacsv.ReadOptions(block_size=8 << 20),
                parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
                convert_options=pacsv.ConvertOptions(
                    column_types={n: pa.string() for n in names},
                    strings_can_be_null=True,
                ),
            )
            return names, iter(reader)
    except (OSError, pa.ArrowException, UnicodeDecodeError, StopIteration) as exc:
        raise ImportFileError(f"{file}: cannot be read ({exc})") from exc
    raise ImportFileError(f"{file}: unsupported format '{suffix}'; expected .csv or .parquet")


def import_register(
    session: Session,
    actor: Actor,
    file: Path,
    *,
    mapping: Mapping[str, str] | None = None,
    rejects_path: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Stream ``file`` into ``persons``; commits per batch. Returns counts and reasons."""
    file = Path(file)
    bad_rows: list[tuple[int, str]] = []
    names, batches = _batches(file, bad_rows)
    cols = _column_map(names, mapping, file)
    report = ImportReport(str(file))
    rejects_path = rejects_path or file.with_name(file.name + ".rejects.csv")
    ward_province = dict(
        session.execute(
            select(AdminUnit.code, AdminUnit.province_code).where(
                AdminUnit.scheme == "2021", AdminUnit.level == "ward"
            )
        ).all()
    )
    dialect = session.get_bind().dialect.name
    insert_fn = pg_insert if dialect == "postgresql" else sqlite_insert

    with RejectsFile(rejects_path, names) as rejects:
        row_no = 1  # the header is line 1; data rows are numbered as lines of the file
        for batch in batches:
            data = {c: batch.column(src).cast(pa.string()).to_pylist() for c, src in cols.items()}
            raw = batch.to_pylist()
            rows: dict[str, dict[str, Any]] = {}
            for i in range(batch.num_rows):
                row_no += 1
                values = {c: data[c][i] for c in cols}
                try:
                    person = _clean(values, ward_province)
                except ServiceError as exc:
                    first = exc.problems[0]
                    rejects.add(row_no, f"{first.field}:{first.rule}", str(exc), raw[i])
                    continue
                rows[person["person_id"]] = person  # a later duplicate row in a batch wins
            if rows:
                changes = _changes(session, rows)
                stmt = insert_fn(Person)
                stmt = stmt.on_conflict_do_update(
                    index_elements=["person_id"],
                    set_={c: stmt.excluded[c] for c in UPSERTED},
                )
                session.execute(stmt, list(rows.values()))
                append(session, changes)
            report.rows_read += batch.num_rows
            report.rows_imported += len(rows)
            session.commit()
            if progress is not None:
                progress(batch.num_rows)
        for number, reason in bad_rows:
            report.rows_read += 1
            rejects.add(number, "row:malformed", reason, {})
        close_import(
            session,
            actor,
            report,
            rejects,
            action="register.import",
            entity="register",
            entity_id=file.name,
            where={"path": str(file.resolve())},
            counts=("read", "imported", "rejected"),
        )
    if dialect == "postgresql":  # fresh statistics, or the planner scans a new register
        session.execute(text("ANALYZE persons"))
        session.commit()
    return report


def _changes(session: Session, rows: Mapping[str, Mapping[str, Any]]) -> list[Change]:
    """The partners' changes of a batch: ``created`` for a person not stored yet, ``updated``
    for one whose stored values differ from the row's (a snapshot repeating a person as it
    is changes nothing), read in one query before the upsert."""
    stored = {
        r[0]: r[1:]
        for r in select_keys(
            session.connection(),
            f"SELECT person_id, {', '.join(UPSERTED)} FROM persons WHERE person_id {{isin}}",
            list(rows),
        )
    }
    out = []
    for pid, row in rows.items():
        old = stored.get(pid)
        if old is not None and old == tuple(row[c] for c in UPSERTED):
            continue
        action = "created" if old is None else "updated"
        out.append(
            Change("Patient", pid, action, "register", pid, row["ward_code"], row["province_code"])
        )
    return out


def _clean(values: Mapping[str, Any], ward_province: Mapping[str, str]) -> dict[str, Any]:
    person_id = (values.get("person_id") or "").strip()
    if not person_id:
        raise rule_error("person_id", "required", "Thiếu mã người", "person_id is empty")
    display, key = clean_name(values.get("full_name") or "")
    national = clean_id(values.get("national_id"))
    if values.get("national_id") and national.kind != "cccd":
        raise rule_error(
            "national_id",
            "not_a_cccd",
            "Số định danh không phải 12 chữ số",
            "national_id is not a 12-digit personal ID number",
        )
    old = clean_id(values.get("old_id"))
    ward = (values.get("ward_code") or "").strip() or None
    if ward is not None:
        ward = ward.zfill(5)
        if ward not in ward_province:
            raise rule_error(
                "ward_code",
                "unknown_ward",
                "Mã phường/xã không tồn tại",
                "unknown ward code (2021 GSO codes)",
            )
    return {
        "person_id": person_id,
        "national_id": national.value,
        "old_id": old.value,
        "full_name": display,
        "name_key": key,
        "dob": clean_dob(values.get("dob")),
        "sex": clean_sex(values.get("sex")),
        "ward_code": ward,
        "province_code": ward_province.get(ward) if ward else None,
        "address": (values.get("address") or "").strip() or None,
        "phone": clean_phone(values.get("phone")),
    }
