"""Import legacy dose records (the 2021–22 backlog) *as entered* into ``doses``.

Each row is one dose record in the canonical columns ``record_id, national_id, full_name, dob,
sex, phone, ward_code, address, vaccine, dose_number, dose_date, site_id`` (a CSV or Parquet
file, or an iterable of mappings). What is stored:

* the person's fields cleaned of *formatting only*, exactly as the dose API stores them (NFC and
  display case for the name, ID digits, ISO date of birth, ``M``/``F``, national phone form):
  a wrong ID or a name without diacritics stays wrong; correcting it is reconciliation's job;
* ``status = "unverified"`` and no person link, for every row: linking the backlog to the
  register is reconciliation's work (a later step), not the import's;
* ``record_id``, and ``client_uuid = uuid5(BACKLOG_NAMESPACE, record_id)``, so importing the
  same file again stores nothing twice (a row already stored with the same content is skipped;
  with different content it is rejected as a conflict);
* no lot (``lot_id`` NULL: the backlog has none), product from ``vaccine`` (a product code, or
  the product name a site wrote), site from ``site_id``, the dose date parsed (day first);
* no dose-sequence rules: the backlog is what happened, gaps and all.

A row that cannot be stored (unknown site or product, unreadable dose date or dose number, a
field that cannot be cleaned, no record_id) is written to a rejects CSV with its row number and
the reason: never dropped. One audit event records the import.
"""

from __future__ import annotations

import csv
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from tiemchung.columns import RECORD_COLUMNS
from tiemchung.identity import IdentityError, parse_dob
from tiemchung.registry.doses import rules as dose_rules
from tiemchung.registry.doses.record import UNVERIFIED
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.fields import clean_dob, clean_id, clean_name, clean_phone, clean_sex
from tiemchung.registry.imports.closing import close_import
from tiemchung.registry.imports.rejects import RejectsFile, RowRejectedError, RowsReport, cell_text
from tiemchung.registry.imports.synonyms import product_names, vaccine_key
from tiemchung.registry.models import AdminUnit, Dose, Product, Site
from tiemchung.registry.scope import Actor
from tiemchung.store.bulk import in_keys
from tiemchung.vaccines import LEGACY_NAMES

BACKLOG_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:tiemchung:backlog-dose-record")
BATCH_ROWS = 5_000


class BacklogFileError(Exception):
    """The file cannot be imported at all (unreadable, a required column missing)."""


@dataclass
class BacklogReport(RowsReport):
    """What a backlog import did; ``unknown_vaccines``: each vaccine name no product answers,
    with its count of rows (so a synonym can be added and the file imported again)."""

    unknown_vaccines: dict[str, int] = field(default_factory=dict)


def client_uuid_for(record_id: str) -> uuid.UUID:
    """The dose's idempotency key: the same record_id always gives the same UUID."""
    return uuid.uuid5(BACKLOG_NAMESPACE, record_id)


def _read(
    source: Path | str | Iterable[Mapping[str, Any]],
) -> tuple[str, list[str], Iterator[list[dict]]]:
    if not isinstance(source, str | Path):
        rows = list(source) if not isinstance(source, list) else source
        names = list(RECORD_COLUMNS)

        def chunks() -> Iterator[list[dict]]:
            for i in range(0, len(rows), BATCH_ROWS):
                yield [dict(r) for r in rows[i : i + BATCH_ROWS]]

        return "rows", names, chunks()
    path = Path(source)
    if not path.exists():
        raise BacklogFileError(f"{path}: no such file (không tìm thấy tệp)")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            pf = pq.ParquetFile(path)
            names = pf.schema_arrow.names
            batches: Iterator[pa.RecordBatch] = pf.iter_batches(batch_size=BATCH_ROWS)
        elif suffix in (".csv", ".txt"):
            with path.open(encoding="utf-8-sig", newline="") as fh:
                names = next(csv.reader(fh), [])
            batches = iter(
                pacsv.open_csv(
                    path,
                    read_options=pacsv.ReadOptions(block_size=4 << 20),
                    convert_options=pacsv.ConvertOptions(
                        column_types={n: pa.string() for n in names}, strings_can_be_null=True
                    ),
                )
            )
        else:
            raise BacklogFileError(
                f"{path}: unsupported format '{suffix}'; expected .csv or .parquet"
            )
    except (OSError, pa.ArrowException, UnicodeDecodeError) as exc:
        raise BacklogFileError(f"{path}: cannot be read ({exc})") from exc
    missing = [
        c
        for c in ("record_id", "full_name", "vaccine", "dose_number", "dose_date", "site_id")
        if c not in names
    ]
    if missing:
        raise BacklogFileError(
            f"{path}: required column(s) {missing} missing (thiếu cột bắt "
            f"buộc); the file has {names}"
        )

    def from_batches() -> Iterator[list[dict]]:
        for b in batches:
            yield [
                {k: (None if v is None else str(v)) for k, v in r.items()} for r in b.to_pylist()
            ]

    return str(path), names, from_batches()


def import_dose_records(
    session: Session,
    actor: Actor,
    source: Path | str | Iterable[Mapping[str, Any]],
    *,
    rejects_path: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> BacklogReport:
    """Store legacy dose records as entered (all ``unverified``); commits per batch."""
    label, names, chunks = _read(source)
    if rejects_path is None:
        rejects_path = (
            Path(label).with_name(Path(label).name + ".rejects.csv")
            if label != "rows"
            else Path("backlog.rejects.csv")
        )
    where = {"source": label if label == "rows" else str(Path(label).resolve())}
    with RejectsFile(Path(rejects_path), names) as rejects:
        return store_dose_rows(
            session, actor, label, chunks, rejects, where=where, progress=progress
        )


def store_dose_rows(
    session: Session,
    actor: Actor,
    label: str,
    chunks: Iterable[list[dict[str, Any]]],
    rejects: RejectsFile,
    *,
    where: Mapping[str, str],
    synonyms: Mapping[str, str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> BacklogReport:
    """Store rows in the canonical columns (``RECORD_COLUMNS``) as entered; refuse the others
    into ``rejects``; close the import (one audit event). Commits per chunk, so a long file
    survives an interruption: the rows of the next run are skipped as already stored.

    A row's number is its ``row`` key when it has one (the line of its sheet, from
    ``legacy.py``), else its line in a CSV with one header line. ``synonyms`` adds typed
    vaccine names for this import to :data:`synonyms.VACCINE_SYNONYMS`; a name no product
    answers is counted in ``report.unknown_vaccines``."""
    report = BacklogReport(label)
    sites = {
        s.site_id: (s.ward_code, s.province_code)
        for s in session.scalars(select(Site).where(Site.active.is_(True), actor.site_filter()))
    }
    catalogue = [(p.code, p.name) for p in session.scalars(select(Product))]
    products = product_names(
        catalogue, {**{n: c for c, n in LEGACY_NAMES.items()}, **(synonyms or {})}
    )
    ward_province = dict(
        session.execute(
            select(AdminUnit.code, AdminUnit.province_code).where(
                AdminUnit.scheme == "2021", AdminUnit.level == "ward"
            )
        ).all()
    )
    table = Dose.__table__
    assert isinstance(table, Table)
    seen: dict[str, str] = {}
    memo = _Memo()
    row_no = 1
    for chunk in chunks:
        cleaned: list[dict[str, Any]] = []
        for raw in chunk:
            row_no += 1
            line = raw.get("row") or row_no
            report.rows_read += 1
            try:
                if "_reject" in raw:  # refused by the reader (legacy.py: a sheet, no header)
                    raise RowRejectedError(*raw["_reject"])
                row = _clean(raw, sites, products, ward_province, memo)
            except RowRejectedError as exc:
                rejects.add(line, exc.key, str(exc), raw)
                if exc.key == "vaccine:unknown_product":
                    typed = cell_text(raw, "vaccine") or ""
                    report.unknown_vaccines[typed] = report.unknown_vaccines.get(typed, 0) + 1
                continue
            rid = row["record_id"]
            if rid in seen:
                if seen[rid] == row["submission_hash"]:
                    report.rows_skipped += 1
                else:
                    rejects.add(
                        line,
                        "record_id:duplicate",
                        "record_id repeated in the file with other content",
                        raw,
                    )
                continue
            seen[rid] = row["submission_hash"]
            row["_row"], row["_raw"] = line, raw
            cleaned.append(row)
        stored: dict[uuid.UUID, str] = (
            dict(
                session.execute(
                    select(table.c.client_uuid, table.c.submission_hash).where(
                        in_keys(
                            table.c.client_uuid,
                            [r["client_uuid"] for r in cleaned],
                            session.get_bind().dialect.name,
                        )
                    )
                ).all()
            )
            if cleaned
            else {}
        )
        fresh = []
        for row in cleaned:
            row_num, raw = row.pop("_row"), row.pop("_raw")
            old = stored.get(row["client_uuid"])
            if old is None:
                fresh.append(row)
            elif old == row["submission_hash"]:
                report.rows_skipped += 1
            else:
                rejects.add(
                    row_num,
                    "record_id:conflict",
                    "a dose with this record_id is stored with other content",
                    raw,
                )
        if fresh:
            for row in fresh:
                row["entered_by"] = actor.user_id
            session.execute(insert(table), fresh)
            report.rows_imported += len(fresh)
        session.commit()
        if progress is not None:
            progress(len(chunk))
    close_import(
        session,
        actor,
        report,
        rejects,
        action="dose.backlog_import",
        entity="dose",
        entity_id=label,
        where=where,
    )
    return report


class _Memo:
    """Per-import memo of the field cleaners: the same typed values recur (every dose of a
    person repeats its identity; a few hundred dose dates cover two years)."""

    def __init__(self, limit: int = 200_000) -> None:
        self.limit = limit
        self.cache: dict[tuple[str, str | None], Any] = {}

    def __call__(self, kind: str, value: str | None, fn: Callable[[Any], Any]) -> Any:
        key = (kind, value)
        try:
            hit = self.cache[key]
        except KeyError:
            if len(self.cache) > self.limit:
                self.cache.clear()
            try:
                hit = self.cache[key] = (True, fn(value))
            except (ServiceError, RowRejectedError) as exc:
                hit = self.cache[key] = (False, exc)
        if hit[0]:
            return hit[1]
        raise hit[1]


def _clean(
    raw: Mapping[str, Any],
    sites: Mapping[str, tuple[str, str]],
    products: Mapping[str, str],
    ward_province: Mapping[str, str],
    memo: _Memo | None = None,
) -> dict[str, Any]:
    memo = memo or _Memo()
    rid = cell_text(raw, "record_id")
    if rid is None:
        raise RowRejectedError("record_id:required", "record_id is empty")
    if len(rid) > 40:
        raise RowRejectedError("record_id:too_long", "record_id is longer than 40 characters")
    site_id = cell_text(raw, "site_id")
    if site_id not in sites:
        raise RowRejectedError("site_id:unknown_site", f"no vaccination site '{site_id}'")
    vaccine = cell_text(raw, "vaccine") or ""
    product = memo("vaccine", vaccine, lambda v: products.get(vaccine_key(v or "")))
    if product is None:
        raise RowRejectedError("vaccine:unknown_product", f"no vaccine product '{vaccine}'")
    when = memo("dose_date", cell_text(raw, "dose_date"), _dose_date)
    try:
        number = int(cell_text(raw, "dose_number") or "")
    except ValueError:
        raise RowRejectedError(
            "dose_number:unreadable", "dose_number is not a whole number"
        ) from None
    if not dose_rules.dose_number_ok(number):
        raise RowRejectedError("dose_number:out_of_range", dose_rules.DOSE_NUMBER_RANGE.en)
    try:
        name, _key = memo("name", cell_text(raw, "full_name") or "", clean_name)
        dob = memo("dob", cell_text(raw, "dob"), clean_dob)
        sex = memo("sex", cell_text(raw, "sex"), clean_sex)
        phone = memo("phone", cell_text(raw, "phone"), clean_phone)
    except ServiceError as exc:
        first = exc.problems[0]
        raise RowRejectedError(f"{first.field}:{first.rule}", str(exc)) from None
    national = memo("id", cell_text(raw, "national_id"), clean_id).value
    ward = cell_text(raw, "ward_code")
    if ward is not None:
        ward = ward.zfill(5)
        if ward not in ward_province:
            raise RowRejectedError("ward_code:unknown_ward", f"no 2021 ward with code '{ward}'")
    site_ward, site_province = sites[site_id or ""]
    content = [cell_text(raw, c) for c in RECORD_COLUMNS]
    digest = hashlib.sha256(json.dumps(content, ensure_ascii=False).encode()).hexdigest()
    return {
        "client_uuid": client_uuid_for(rid),
        "submission_hash": digest,
        "record_id": rid,
        "person_pk": None,
        "national_id": national,
        "full_name": name,
        "dob": dob,
        "sex": sex,
        "phone": phone,
        "ward_code": ward,
        "address": cell_text(raw, "address"),
        "product_code": product,
        "lot_id": None,
        "dose_number": number,
        "dose_date": when,
        "site_id": site_id,
        "session_id": None,
        "status": UNVERIFIED,
        "area_ward_code": ward or site_ward,
        "area_province_code": ward_province.get(ward, site_province) if ward else site_province,
    }


def _dose_date(text: str | None) -> date:
    if text is None:
        raise RowRejectedError("dose_date:required", "dose_date is empty")
    try:
        parsed = parse_dob(text)
    except IdentityError as exc:
        raise RowRejectedError(
            "dose_date:unreadable", f"dose_date '{text}': {exc.message_en}"
        ) from None
    if parsed.day is None:
        raise RowRejectedError("dose_date:unreadable", f"dose_date '{text}' is not a full date")
    return parsed.to_date()
