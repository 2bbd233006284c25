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
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from tiemchung.columns import RECORD_COLUMNS
from tiemchung.registry.changes.log import append_doses
from tiemchung.registry.imports.backlog_rows import (  # client_uuid_for: for the callers
    INSERT_COLUMNS,
    RID,
    VACCINE,
    Cleaner,
    client_uuid_for,
    content_hash,
    row_texts,
    uuid_hex,
)
from tiemchung.registry.imports.closing import close_import
from tiemchung.registry.imports.rejects import RejectsFile, RowRejectedError, RowsReport
from tiemchung.registry.models import Dose
from tiemchung.registry.scope import Actor
from tiemchung.store.bulk import copy_rows, insert_tuples, select_keys

BATCH_ROWS = 5_000


class BacklogFileError(Exception):
    """The file cannot be imported at all (unreadable, a required column missing)."""


@dataclass
class BacklogReport(RowsReport):
    """What a backlog import did; ``unknown_vaccines``: each vaccine name no product answers,
    with its count of rows (so a synonym can be added and the file imported again)."""

    unknown_vaccines: dict[str, int] = field(default_factory=dict)


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


#: rows inserted between two commits. A row's keys are random (``client_uuid`` always, the
#: fingerprinted record ids too), so a commit writes nearly every index page of ``doses``
#: again: a commit per 25,000 rows rewrote the indexes 40 times over a million rows
COMMIT_ROWS = 200_000
#: SQLite's page cache (KiB) of the import's connection: the indexes of a million doses must
#: stay in memory, or each random key is a read (the usual 64 MiB made a million-row import
#: three times slower past 400,000 rows); only pages used are allocated
IMPORT_CACHE_KIB = 1 << 20
_DOSES = Dose.__tablename__
__all__ = [
    "BATCH_ROWS",
    "COMMIT_ROWS",
    "IMPORT_CACHE_KIB",
    "BacklogFileError",
    "BacklogReport",
    "client_uuid_for",
    "import_dose_records",
    "store_dose_rows",
]


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
    cleaner = Cleaner.load(session, synonyms, actor)
    session.commit()  # the writes go through _DoseStore's own connection
    seen: dict[str, str] = {}
    row_no = 1
    with _DoseStore(session) as store:
        for chunk in chunks:
            keyed: list[tuple[int, dict[str, Any], list[str | None], str, str | None]] = []
            for raw in chunk:
                row_no += 1
                texts = row_texts(raw)
                rid = texts[RID]
                key = uuid_hex(rid) if rid is not None and len(rid) <= 40 else None
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
                        typed = texts[VACCINE] or ""
                        report.unknown_vaccines[typed] = report.unknown_vaccines.get(typed, 0) + 1
                    continue
                rid = texts[RID] or ""
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
                try:
                    progress(len(chunk))
                except BaseException:
                    # the caller stops the import between two chunks (an upload's job when
                    # the server stops): the rows checked so far are stored, so the next
                    # run skips them rather than doing them again
                    store.commit_waiting()
                    raise
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
    """The import's reads and writes of ``doses``, each on a connection of its own held for
    the whole import (a session gives its connection back to the pool at each commit, and
    the next one may be another, with a cold page cache).

    The new rows wait in memory and go in :data:`COMMIT_ROWS` at a time, each burst in one
    transaction begun ``IMMEDIATE`` on a writer thread, while the next chunks are read and
    cleaned here: SQLite does its B-tree work without the GIL, so the two cores share the
    import. The writer lock is held for a burst only, so the desks' doses wait seconds at
    most (their ``busy_timeout`` is 30 s). The look-ups read on the other connection, which
    never sees a burst in flight: those rows are in ``store_dose_rows``' ``seen`` already.
    An error stores nothing of the rows still waiting; the bursts committed before stay (a
    second run skips them). A session bound to one connection (a caller's transaction) gets
    everything on that connection, in order, and no commit."""

    def __init__(self, session: Session) -> None:
        bind = session.get_bind()
        self.own = isinstance(bind, Engine)
        if isinstance(bind, Engine):
            self.conn = bind.connect()
            self.wconn = bind.connect().execution_options(sqlite_begin="IMMEDIATE")
            self.pool: ThreadPoolExecutor | None = ThreadPoolExecutor(1, "backlog-writer")
        else:
            self.conn = self.wconn = bind
            self.pool = None
        self.dialect = self.conn.dialect.name
        self.waiting: list[tuple[Any, ...]] = []
        self.burst: Future[None] | None = None
        self.caches: list[tuple[Connection, Any]] = []

    def __enter__(self) -> _DoseStore:
        if self.dialect == "sqlite":
            for conn in dict.fromkeys((self.conn, self.wconn)):
                self.caches.append((conn, conn.exec_driver_sql("PRAGMA cache_size").scalar()))
                conn.exec_driver_sql(f"PRAGMA cache_size=-{IMPORT_CACHE_KIB}")
                if self.own:
                    conn.commit()
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: Any) -> None:
        try:
            if kind is None:
                self._flush()
            self._wait()
        finally:
            if self.pool is not None:
                self.pool.shutdown()
            if self.own:  # what a failed burst left open is rolled back, then the pool's
                for conn in (self.conn, self.wconn):  # connections get their cache back
                    conn.rollback()
                for conn, size in self.caches:
                    conn.exec_driver_sql(f"PRAGMA cache_size={int(size)}")
                    conn.commit()
                for conn in (self.conn, self.wconn):
                    conn.close()
            else:
                for conn, size in self.caches:
                    conn.exec_driver_sql(f"PRAGMA cache_size={int(size)}")

    def stored_hashes(self, keys: list[str]) -> dict[str, str]:
        """``submission_hash`` by the hex ``client_uuid`` for those of ``keys`` stored."""
        if not keys:
            return {}
        if self.pool is None:
            self._wait()
        sql = f"SELECT client_uuid, submission_hash FROM {_DOSES} WHERE client_uuid {{isin}}"
        params: list[Any] = keys if self.dialect == "sqlite" else [uuid.UUID(k) for k in keys]
        _begin(self.conn, self.own)  # psycopg would open a transaction of its own otherwise
        found = select_keys(self.conn, sql, params)
        if self.own:
            self.conn.commit()  # no old snapshot kept open
        return {(u if isinstance(u, str) else u.hex): h for u, h in found}

    def insert(self, rows: list[tuple[Any, ...]]) -> None:
        """Keep ``rows`` (:data:`INSERT_COLUMNS`) for the next burst."""
        self.waiting.extend(rows)
        if len(self.waiting) >= COMMIT_ROWS:
            self._flush()

    def commit_waiting(self) -> None:
        """Write the rows waiting for the next burst now, and wait for every burst."""
        self._flush()
        self._wait()

    def _flush(self) -> None:
        rows, self.waiting = self.waiting, []
        if not rows:
            return
        self._wait()  # one burst at a time, in the file's order
        if self.pool is None:
            self._write(rows)
        else:
            self.burst = self.pool.submit(self._write, rows)

    def _wait(self) -> None:
        burst, self.burst = self.burst, None
        if burst is not None:
            burst.result()  # the writer's error, if any, is raised here

    def _write(self, rows: list[tuple[Any, ...]]) -> None:
        _begin(self.wconn, self.own)
        if self.dialect == "postgresql":
            copy_rows(self.wconn, _DOSES, INSERT_COLUMNS, rows)
        else:
            insert_tuples(self.wconn, _DOSES, INSERT_COLUMNS, rows)
        # the partners' changes of the burst: one INSERT … SELECT by the rows' UUIDs
        keys = [r[0] for r in rows]
        append_doses(self.wconn, keys, action="created", source="import", by="client_uuid")
        if self.own:
            self.wconn.commit()


def _begin(conn: Connection, own: bool) -> None:
    """A transaction SQLAlchemy knows of before the driver's cursor is used directly
    (psycopg would open one of its own that ``commit`` never ends)."""
    if own and not conn.in_transaction():
        conn.begin()
