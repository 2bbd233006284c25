"""Certificates for every person of a ward or a province, as PDF files.

Issuing goes through the one writer in chunks (each person in a savepoint, so one refusal
refuses that person alone), and rendering — CPU-bound Python — goes to a process pool, one
process per core. It lives here rather than in the command so that ``tiemchung certify
--ward`` and a future batch endpoint issue and print a batch the same way.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from tiemchung.certificates import pdf
from tiemchung.certificates.keys import KeyStore
from tiemchung.certificates.service import Issued, issue_certificate, persons_to_certify
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.scope import Actor
from tiemchung.store.writer import Writer

#: Persons issued per writer job: long enough to amortise the commit, short enough that other
#: writes queued behind a province's batch wait seconds, not minutes.
CHUNK = 200


@dataclass
class BatchReport:
    """What a batch made: ``persons`` asked for, ``issued`` certificates, ``refused`` persons
    (``tiemchung certify --person`` says why), and the PDF files written."""

    persons: int = 0
    issued: int = 0
    refused: int = 0
    files: list[Path] = field(default_factory=list)


def merged_name(*, ward_code: str | None, province_code: str | None) -> str:
    """The file name of a merged batch: ``certificates-<ward or province>.pdf``."""
    return f"certificates-{ward_code or province_code}.pdf"


def certify_area(
    writer: Writer,
    sessions: sessionmaker[Session],
    actor: Actor,
    keys: KeyStore,
    out: Path,
    *,
    ward_code: str | None = None,
    province_code: str | None = None,
    merged: bool = False,
    tz: str,
    progress: Callable[[int, int], None] | None = None,
) -> BatchReport:
    """Issue (or reissue) a certificate to every person of the ward or province with a
    verified dose and write them to ``out``: one ``<person_id>.pdf`` each, or one merged PDF
    (:func:`merged_name`) with a page per person. ``progress(done, total)`` is called once
    the persons are known and after each chunk. An area without any such person writes
    nothing (``persons == 0``)."""
    out.mkdir(parents=True, exist_ok=True)
    with sessions() as s:
        ids = persons_to_certify(s, ward_code=ward_code, province_code=province_code)
    report = BatchReport(persons=len(ids))
    if not ids:
        return report
    if progress is not None:
        progress(0, len(ids))
    issued: list[Issued] = []
    with ProcessPoolExecutor(os.cpu_count() or 1) as pool:  # rendering is CPU-bound
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            batch = [
                cert
                for cert in writer.run(_issue_job(actor, chunk, keys), timeout=600)
                if cert is not None
            ]
            report.issued += len(batch)
            report.refused += len(chunk) - len(batch)
            if merged:
                issued.extend(batch)
            else:
                report.files.extend(pdf.render_files(batch, out, pool, tz=tz))
            if progress is not None:
                progress(start + len(chunk), len(ids))
    if merged:
        target = out / merged_name(ward_code=ward_code, province_code=province_code)
        pdf.render(issued, target, tz)
        report.files.append(target)
    return report


def _issue_job(
    actor: Actor, person_ids: list[str], keys: KeyStore
) -> Callable[[Session], list[Issued | None]]:
    """A writer job issuing to each person in its own savepoint; ``None`` for a refusal."""

    def job(session: Session) -> list[Issued | None]:
        results: list[Issued | None] = []
        for person_id in person_ids:
            try:
                with session.begin_nested():
                    results.append(issue_certificate(session, actor, person_id, keys=keys))
            except ServiceError:
                results.append(None)
        return results

    return job
