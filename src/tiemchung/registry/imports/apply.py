"""Apply a reconciliation run (``OUT/links.parquet``) to the registry, set-based.

What each link does to its stored dose (matched by ``record_id``):

* ``verified`` / ``corrected`` — linked to the register person; for ``corrected`` every
  disagreeing field takes the register's value: one ``corrections`` row per changed field
  (``source="automatic"``, the run, evidence = probability and explanation) and one audit
  event per dose — exactly what :func:`tiemchung.registry.review.corrections.link_dose` writes
  (``tests/registry/test_apply.py`` checks the rows are identical). The fields the run lists
  as ``incomplete`` (missing or partial in the record: no ID, only the birth year, a middle
  name left out) are *completed* with the register person's values: a correction row of its
  own kind (reason :data:`~tiemchung.registry.review.corrections.COMPLETE_REASON`), listed
  as ``completed`` in the dose's audit event (``dose.complete`` when nothing wrong was
  corrected), counted apart (``completed``, ``completions``);
* ``duplicate`` — status ``duplicate``, ``duplicate_of`` the dose of the first entry (linked to
  the person when the run found one, fields left as entered). When the first entry is not
  stored (the backlog import refused it), this record is the dose's only trace: it is linked
  like ``verified``/``corrected`` instead (or opens a ``not_found`` item without a person);
* ``review`` / ``not_found`` — one open ``review_items`` row (the commune worklist), routed to
  the ward of the best candidate, or of the record when there is none. A dose an earlier run
  had linked automatically is unlinked (status ``unverified``): this run no longer vouches.

Never touched: doses a person decided (``decided_by_person``: a commune reviewer, a citizen's
ticket) — their decision survives any later run. A newer run supersedes the open items an
older run (or the unverified-backlog worklist) left on the same dose; one open item per dose.

The run is identified by the hash of ``links.parquet`` and ``model.json``: applying it again
is recognised (``reconcile_runs``) and changes nothing. Each chunk commits; an interrupted
apply can be re-run and skips what that run already wrote.

Nothing is dropped silently: links whose record is not a stored dose, links naming a person
the register lacks, unreadable rows, and stored doses the run did not cover are counted and
written to a rejects CSV (``OUT/apply.rejects.csv``).

Bulk path: per chunk of 20,000 links, one select each of the doses, the persons and the open
items (the keys as one parameter), the decisions in Python, then driver-level bulk writes
(registry/imports/applier.py, over store/bulk.py): on SQLite one ``executemany`` of plain
SQL per statement, on PostgreSQL
``COPY`` for corrections, audit events and items and one ``UPDATE doses … FROM unnest(…)``
per group of changed columns. A dose's UPDATE sets only the columns whose value changes
(most doses change neither ``duplicate_of`` nor their area). The audit stays one event per
dose, as ``link_dose`` writes it. Measured in ``bench/apply.py``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tiemchung.reconcile.decide import LINK_COLUMNS
from tiemchung.registry.imports.applier import DOSE_T, Applier, ApplyReport
from tiemchung.registry.imports.rejects import RejectsFile
from tiemchung.registry.models import ReconcileRun
from tiemchung.registry.scope import Actor
from tiemchung.store.audit import audit

CHUNK_ROWS = 20_000
#: links columns a run may lack (runs made before they existed)
LINK_OPTIONAL = ("candidates", "incomplete")
#: the links columns a run must have
LINK_REQUIRED = tuple(c for c in LINK_COLUMNS if c not in LINK_OPTIONAL)
REJECT_COLUMNS = ("record_id", "person_id", "action")

Progress = Callable[[int, int], None]


class ApplyError(Exception):
    """The run cannot be applied at all (a file missing or unreadable, a column missing)."""


def run_identity(out_dir: Path) -> tuple[str, str]:
    """``(run_id, model_hash)``: the run is its links and its model; the same files give the
    same id wherever they are copied."""
    links, model = out_dir / "links.parquet", out_dir / "model.json"
    for p in (links, model):
        if not p.is_file():
            raise ApplyError(
                f"{p}: không tìm thấy tệp của lần đối soát / no such file: is {out_dir} the "
                "output folder of `tiemchung reconcile`?"
            )
    h = hashlib.sha256()
    with links.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    model_bytes = model.read_bytes()
    h.update(b"\0model\0")
    h.update(model_bytes)
    return h.hexdigest()[:40], hashlib.sha256(model_bytes).hexdigest()


def _open_links(out_dir: Path) -> pq.ParquetFile:
    path = out_dir / "links.parquet"
    try:
        pf = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise ApplyError(f"{path}: không đọc được / cannot be read ({exc})") from exc
    missing = [c for c in LINK_REQUIRED if c not in pf.schema_arrow.names]
    if missing:
        raise ApplyError(
            f"{path}: thiếu cột / missing column(s) {missing}; the file has {pf.schema_arrow.names}"
        )
    return pf


def _repeated_ids(pf: pq.ParquetFile) -> set[str]:
    """record_ids that occur more than once in links (only the first occurrence applies)."""
    ids = pf.read(columns=["record_id"]).column("record_id")
    if pc.count_distinct(ids, mode="all").as_py() == len(ids):
        return set()
    counts = pa.table({"r": ids}).group_by("r").aggregate([("r", "count")])
    return {
        r
        for r, n in zip(counts["r"].to_pylist(), counts["r_count"].to_pylist(), strict=True)
        if n > 1
    }


def _batches(pf: pq.ParquetFile, columns: list[str]) -> Iterator[list[dict[str, Any]]]:
    for b in pf.iter_batches(batch_size=CHUNK_ROWS, columns=columns):
        yield b.to_pylist()


def apply_run(
    session: Session,
    actor: Actor,
    out_dir: Path | str,
    *,
    progress: Progress | None = None,
    rejects_path: Path | None = None,
) -> ApplyReport:
    """Apply the run in ``out_dir`` to the registry; commits per chunk. See the module doc."""
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    run_id, model_hash = run_identity(out_dir)
    report = ApplyReport(run_id, str(out_dir.resolve()))
    if session.get(ReconcileRun, run_id) is not None:
        report.already_applied = True
        report.seconds = round(time.perf_counter() - t0, 3)
        return report
    pf = _open_links(out_dir)
    total = pf.metadata.num_rows
    columns = list(LINK_REQUIRED) + [c for c in LINK_OPTIONAL if c in pf.schema_arrow.names]
    repeated = _repeated_ids(pf)
    rejects_path = rejects_path or out_dir / "apply.rejects.csv"
    with RejectsFile(rejects_path, REJECT_COLUMNS) as rejects:
        ap = Applier(session, actor, run_id, report, rejects)
        row = 1
        for rows in _batches(pf, columns):
            ap.chunk(rows, row, repeated)
            session.commit()
            row += len(rows)
            report.links += len(rows)
            if progress is not None:
                progress(report.links, total)
        stored = (
            session.scalar(
                select(func.count()).select_from(DOSE_T).where(DOSE_T.c.record_id.is_not(None))
            )
            or 0
        )
        if stored > ap.matched:
            report.doses_not_in_links = _doses_not_in_links(session, pf, rejects)
        report.rows_rejected = rejects.count - report.doses_not_in_links
        report.rows_rejected -= report.records_not_in_registry + report.persons_not_in_registry
        report.reasons = dict(rejects.reasons)
        report.rejects_file = rejects.close()
    report.seconds = round(time.perf_counter() - t0, 3)
    session.add(
        ReconcileRun(
            run_id=run_id,
            source=report.source,
            model_hash=model_hash,
            counts=report.counts(),
            applied_by=actor.user_id,
        )
    )
    audit(session, actor, "reconcile.apply", "reconcile_run", run_id, report.counts())
    session.commit()
    return report


def _doses_not_in_links(session: Session, pf: pq.ParquetFile, rejects: RejectsFile) -> int:
    """Stored doses (with a record_id) the run did not cover, listed in the rejects file."""
    ids = pa.chunked_array(pf.read(columns=["record_id"]).column("record_id")).combine_chunks()
    n = 0
    last = 0
    while True:
        rows = session.execute(
            select(DOSE_T.c.id, DOSE_T.c.record_id)
            .where(DOSE_T.c.record_id.is_not(None), DOSE_T.c.id > last)
            .order_by(DOSE_T.c.id)
            .limit(50_000)
        ).all()
        if not rows:
            return n
        last = rows[-1][0]
        rids = pa.array([r[1] for r in rows], pa.string())
        missing = pc.filter(rids, pc.invert(pc.is_in(rids, value_set=ids)))
        for rid in missing.to_pylist():
            rejects.add(
                0, "dose:not_in_links", "stored dose not in this run's links", {"record_id": rid}
            )
            n += 1


__all__ = ["ApplyError", "ApplyReport", "apply_run", "run_identity"]
