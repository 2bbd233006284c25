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
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from json.encoder import encode_basestring as _json_str
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tiemchung.columns import RECORD_COLUMNS
from tiemchung.identity import IdentityError, parse_dob
from tiemchung.registry.doses import rules as dose_rules
from tiemchung.registry.doses.record import UNVERIFIED
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.fields import clean_dob, clean_id, clean_name, clean_phone, clean_sex
from tiemchung.registry.imports.closing import close_import
from tiemchung.registry.imports.rejects import RejectsFile, RowRejectedError, RowsReport
from tiemchung.registry.imports.synonyms import product_names, vaccine_key
from tiemchung.registry.models import AdminUnit, Dose, Product, Site
from tiemchung.registry.scope import Actor
from tiemchung.store.bulk import copy_rows, insert_tuples, select_keys
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


#: the columns of ``doses`` an imported row fills, in the order of :meth:`_Cleaner.clean`'s
#: tuples (the others are NULL or the database's default)
INSERT_COLUMNS = (
    "client_uuid",
    "submission_hash",
    "record_id",
    "national_id",
    "full_name",
    "dob",
    "sex",
    "phone",
    "ward_code",
    "address",
    "product_code",
    "dose_number",
    "dose_date",
    "site_id",
    "status",
    "area_ward_code",
    "area_province_code",
    "entered_by",
)
#: rows inserted between two commits. A row's keys are random (``client_uuid`` always, the
#: fingerprinted record ids too), so a commit writes nearly every index page of ``doses``
#: again: a commit per 25,000 rows rewrote the indexes 40 times over a million rows
COMMIT_ROWS = 200_000
#: SQLite's page cache (KiB) of the import's connection: the indexes of a million doses must
#: stay in memory, or each random key is a read (the usual 64 MiB made a million-row import
#: three times slower past 400,000 rows); only pages used are allocated
IMPORT_CACHE_KIB = 1 << 20
#: distinct values remembered per column (cleaned once each; names and dates repeat a lot)
MEMO_LIMIT = 200_000

_RID, _NID, _NAME, _DOB, _SEX, _PHONE, _WARD, _ADDRESS, _VACCINE, _NUMBER, _DATE, _SITE = range(
    len(RECORD_COLUMNS)
)
_NS = BACKLOG_NAMESPACE.bytes
_DOSES = Dose.__tablename__


def _uuid_hex(record_id: str) -> str:
    """:func:`client_uuid_for`'s hex digits without building a ``UUID`` (a million of those
    cost a second): the same SHA-1 of namespace and name, version 5, RFC 4122 variant."""
    digest = bytearray(hashlib.sha1(_NS + record_id.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    return digest.hex()


def _texts(raw: Mapping[str, Any]) -> list[str | None]:
    """The row's ``RECORD_COLUMNS`` as :func:`cell_text` reads them (one comprehension: this
    runs once per row of a million-row file)."""
    get = raw.get
    return [None if (v := get(c)) is None else str(v).strip() or None for c in RECORD_COLUMNS]


def content_hash(texts: Sequence[str | None]) -> str:
    """``submission_hash``: the SHA-256 of ``json.dumps(texts, ensure_ascii=False)``, the
    form every stored backlog dose has (so a file imported before still skips), written
    with the json module's own string encoder rather than a whole ``dumps`` per row."""
    body = ", ".join("null" if t is None else _json_str(t) for t in texts)
    return hashlib.sha256(f"[{body}]".encode()).hexdigest()


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
    into ``rejects``; close the import (one audit event). Commits every :data:`COMMIT_ROWS`
    stored rows, so a long file survives an interruption: the rows of the next run are
    skipped as already stored.

    A row's number is its ``row`` key when it has one (the line of its sheet, from
    ``legacy.py``), else its line in a CSV with one header line. ``synonyms`` adds typed
    vaccine names for this import to :data:`synonyms.VACCINE_SYNONYMS`; a name no product
    answers is counted in ``report.unknown_vaccines``.

    Set-based per chunk: the stored hashes of the chunk's record ids in one query, the new
    rows in one driver-level insert (``COPY`` on PostgreSQL). A row stored before with the
    same content is only checked against what may have changed since (its site, its
    vaccine's product), which is all a full clean could refuse it for."""
    report = BacklogReport(label)
    cleaner = _Cleaner.load(session, synonyms, actor.user_id)
    session.commit()  # the writes go through _DoseStore's own connection
    seen: dict[str, str] = {}
    row_no = 1
    with _DoseStore(session) as store:
        for chunk in chunks:
            keyed: list[tuple[int, dict[str, Any], list[str | None], str, str | None]] = []
            for raw in chunk:
                row_no += 1
                texts = _texts(raw)
                rid = texts[_RID]
                key = _uuid_hex(rid) if rid is not None and len(rid) <= 40 else None
                keyed.append((raw.get("row") or row_no, raw, texts, content_hash(texts), key))
            stored = store.stored_hashes([k[4] for k in keyed if k[4] is not None])
            fresh: list[tuple[Any, ...]] = []
            conflicts: list[tuple[int, dict[str, Any]]] = []
            for line, raw, texts, digest, key in keyed:
                report.rows_read += 1
                old = stored.get(key) if key is not None else None
                try:
                    if "_reject" in raw:  # refused by the reader (legacy.py: a sheet, no header)
                        raise RowRejectedError(*raw["_reject"])
                    if old == digest:
                        cleaner.check_stored(texts)
                        row = None
                    else:
                        row = cleaner.clean(texts, key or "", digest)
                except RowRejectedError as exc:
                    rejects.add(line, exc.key, str(exc), raw)
                    if exc.key == "vaccine:unknown_product":
                        typed = texts[_VACCINE] or ""
                        report.unknown_vaccines[typed] = report.unknown_vaccines.get(typed, 0) + 1
                    continue
                rid = texts[_RID] or ""
                first = seen.get(rid)
                if first is not None:  # the record id came earlier in the file
                    if first == digest:
                        report.rows_skipped += 1
                    else:
                        rejects.add(
                            line,
                            "record_id:duplicate",
                            "record_id repeated in the file with other content",
                            raw,
                        )
                    continue
                seen[rid] = digest
                if row is None:
                    report.rows_skipped += 1
                elif old is None:
                    fresh.append(row)
                else:
                    conflicts.append((line, raw))
            for line, raw in conflicts:
                rejects.add(
                    line,
                    "record_id:conflict",
                    "a dose with this record_id is stored with other content",
                    raw,
                )
            store.insert(fresh)
            report.rows_imported += len(fresh)
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


class _DoseStore:
    """The import's reads and writes of ``doses`` on one connection of its own, held for the
    whole import: a session gives its connection back to the pool at each commit, and the
    next one may be another, with a cold page cache.

    The new rows wait in memory and go in :data:`COMMIT_ROWS` at a time, each burst in one
    transaction begun ``IMMEDIATE``: SQLite's one writer lock is held for the burst only,
    never while rows are read and cleaned, so the desks' doses wait seconds at most (their
    ``busy_timeout`` is 30 s). Each look-up ends its read transaction at once, so that the
    next burst never starts from an old snapshot. An error stores nothing of the rows still
    waiting; the bursts committed before stay (a second run skips them)."""

    def __init__(self, session: Session) -> None:
        bind = session.get_bind()
        self.own = isinstance(bind, Engine)
        conn = bind.connect() if isinstance(bind, Engine) else bind
        self.conn = conn.execution_options(sqlite_begin="IMMEDIATE") if self.own else conn
        self.dialect = self.conn.dialect.name
        self.waiting: list[tuple[Any, ...]] = []
        self.cache: Any = None

    def __enter__(self) -> _DoseStore:
        if self.dialect == "sqlite":
            self.cache = self.conn.exec_driver_sql("PRAGMA cache_size").scalar()
            self.conn.exec_driver_sql(f"PRAGMA cache_size=-{IMPORT_CACHE_KIB}")
            self._end()
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: Any) -> None:
        try:
            if kind is None:
                self._flush()
        finally:
            if self.cache is not None:
                self.conn.exec_driver_sql(f"PRAGMA cache_size={int(self.cache)}")
            if self.own:
                self.conn.rollback()
                self.conn.close()

    def _begin(self) -> None:
        """A transaction SQLAlchemy knows of before the driver's cursor is used directly
        (psycopg would open one of its own that the commit below never ends)."""
        if self.own and not self.conn.in_transaction():
            self.conn.begin()

    def _end(self) -> None:
        if self.own:
            self.conn.commit()

    def stored_hashes(self, keys: list[str]) -> dict[str, str]:
        """``submission_hash`` by the hex ``client_uuid`` for those of ``keys`` stored."""
        if not keys:
            return {}
        sql = f"SELECT client_uuid, submission_hash FROM {_DOSES} WHERE client_uuid {{isin}}"
        params: list[Any] = keys if self.dialect == "sqlite" else [uuid.UUID(k) for k in keys]
        self._begin()
        found = select_keys(self.conn, sql, params)
        self._end()
        return {(u if isinstance(u, str) else u.hex): h for u, h in found}

    def insert(self, rows: list[tuple[Any, ...]]) -> None:
        """Keep ``rows`` (:data:`INSERT_COLUMNS`) for the next burst."""
        self.waiting.extend(rows)
        if len(self.waiting) >= COMMIT_ROWS:
            self._flush()

    def _flush(self) -> None:
        rows, self.waiting = self.waiting, []
        if not rows:
            return
        self._begin()
        if self.dialect == "postgresql":
            copy_rows(self.conn, _DOSES, INSERT_COLUMNS, rows)
        else:
            insert_tuples(self.conn, _DOSES, INSERT_COLUMNS, rows)
        self._end()


_Failure = tuple[str, str]  # a cached refusal: (field:rule, message)


class _Cleaner:
    """The row rules, each distinct value of a column cleaned once per import (a person's
    identity repeats on each of their doses; a few hundred dose dates cover two years)."""

    def __init__(
        self,
        sites: Mapping[str, tuple[str, str]],
        products: Mapping[str, str],
        ward_province: Mapping[str, str],
        entered_by: int | None,
    ) -> None:
        self.sites, self.products, self.ward_province = sites, products, ward_province
        self.entered_by = entered_by
        self.memos: dict[str, dict[str | None, Any]] = {}

    @classmethod
    def load(
        cls, session: Session, synonyms: Mapping[str, str] | None, entered_by: int | None
    ) -> _Cleaner:
        """The active sites, the products by every name they may be typed as, the wards."""
        sites = {
            s.site_id: (s.ward_code, s.province_code)
            for s in session.scalars(select(Site).where(Site.active.is_(True)))
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
        return cls(sites, products, ward_province, entered_by)

    def _memo(self, kind: str, value: str | None, fn: Callable[[Any], Any]) -> Any:
        """``fn(value)``, once per distinct value; a refusal is remembered as its reason and
        raised anew each time (re-raising one exception object grows its traceback)."""
        memo = self.memos.get(kind)
        if memo is None:
            memo = self.memos[kind] = {}
        try:
            hit = memo[value]
        except KeyError:
            if len(memo) >= MEMO_LIMIT:
                memo.clear()
            try:
                hit = (True, fn(value))
            except RowRejectedError as exc:
                hit = (False, (exc.key, str(exc)))
            except ServiceError as exc:
                first = exc.problems[0]
                hit = (False, (f"{first.field}:{first.rule}", str(exc)))
            memo[value] = hit
        if hit[0]:
            return hit[1]
        failure: _Failure = hit[1]
        raise RowRejectedError(*failure)

    def _product(self, vaccine: str) -> str:
        product = self._memo("vaccine", vaccine, lambda v: self.products.get(vaccine_key(v)))
        if product is None:
            raise RowRejectedError("vaccine:unknown_product", f"no vaccine product '{vaccine}'")
        return str(product)

    def check_stored(self, t: Sequence[str | None]) -> None:
        """A row stored before with this very content passed every rule then; only its site
        (closed since?) and its vaccine (a synonym of an earlier ``--map``) may fail now,
        and they are the first rules :meth:`clean` checks after the record id."""
        if t[_SITE] not in self.sites:
            raise RowRejectedError("site_id:unknown_site", f"no vaccination site '{t[_SITE]}'")
        self._product(t[_VACCINE] or "")

    def clean(self, t: Sequence[str | None], key: str, digest: str) -> tuple[Any, ...]:
        """The row to insert (:data:`INSERT_COLUMNS`), or :class:`RowRejectedError` naming
        the first rule it breaks, in the order the rejects file has always given."""
        rid = t[_RID]
        if rid is None:
            raise RowRejectedError("record_id:required", "record_id is empty")
        if len(rid) > 40:
            raise RowRejectedError("record_id:too_long", "record_id is longer than 40 characters")
        site_id = t[_SITE]
        place = self.sites.get(site_id or "")
        if place is None or site_id is None:
            raise RowRejectedError("site_id:unknown_site", f"no vaccination site '{site_id}'")
        product = self._product(t[_VACCINE] or "")
        when = self._memo("dose_date", t[_DATE], _dose_iso)
        number = self._memo("dose_number", t[_NUMBER], _dose_number)
        name = self._memo("name", t[_NAME] or "", clean_name)[0]
        dob = self._memo("dob", t[_DOB], clean_dob)
        sex = self._memo("sex", t[_SEX], clean_sex)
        phone = self._memo("phone", t[_PHONE], clean_phone)
        national = t[_NID]
        if national is not None and not (
            len(national) in (9, 12) and national.isdigit() and national.isascii()
        ):  # 9 or 12 plain digits are already what clean_id keeps
            national = self._memo("id", national, lambda v: clean_id(v).value)
        ward = t[_WARD]
        site_ward, province = place
        if ward is not None:
            ward = ward.zfill(5)
            province = self.ward_province.get(ward)  # type: ignore[assignment]
            if province is None:
                raise RowRejectedError("ward_code:unknown_ward", f"no 2021 ward with code '{ward}'")
        return (
            key,
            digest,
            rid,
            national,
            name,
            dob,
            sex,
            phone,
            ward,
            t[_ADDRESS],
            product,
            number,
            when,
            site_id,
            UNVERIFIED,
            ward or site_ward,
            province,
            self.entered_by,
        )


def _dose_number(text: str | None) -> int:
    try:
        number = int(text or "")
    except ValueError:
        raise RowRejectedError(
            "dose_number:unreadable", "dose_number is not a whole number"
        ) from None
    if not dose_rules.dose_number_ok(number):
        raise RowRejectedError("dose_number:out_of_range", dose_rules.DOSE_NUMBER_RANGE.en)
    return number


def _dose_iso(text: str | None) -> str:
    """The dose date as stored (ISO text: SQLite's form of a date, and PostgreSQL reads it)."""
    return _dose_date(text).isoformat()


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
