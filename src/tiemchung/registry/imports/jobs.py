"""Old records uploaded as a job (issue 17 point 3): ``POST /api/v1/imports`` and the upload page.

The CLI's ``tiemchung backlog import`` runs ``legacy.import_legacy_files`` while its user
waits; a browser or a site's software cannot wait for a million rows, so the server takes the
files, answers at once (202) and imports them on its worker thread (``runner.py``) through the
SAME function. What this module owns:

* :func:`create_job` — who may upload, for which site (``registry/scope.py``'s rules: a site
  user its own site, a commune user the sites of its ward, a province or central user the sites
  of its area), the files' formats, size and readability, and the mapping, each refused with
  what and where in both languages. The files are saved under ``data_dir/imports/`` and the
  job row names the folder BEFORE the caller is answered, so nothing uploaded is lost;
* :func:`run_job` — one run of a job: ``running``, the rows read so far for the progress
  figure, then ``done`` with the report (read / stored / skipped / rejected, the reasons, the
  unknown vaccine names with counts, the mapping guessed from the headers) or ``failed`` with
  the problem. A job left ``running`` by a crash is run again from the start: the import is
  idempotent (rows stored by the first run are skipped), and its rejects file is written anew;
* who reads a job: :func:`get_job`, :func:`list_jobs`, :func:`rejects_file` — the job's area
  (its site's, else its creator's) inside the reader's, as ``Actor.covers_area`` says.

The rows' own scope stays the import's: ``backlog.store_dose_rows`` knows only the sites the
job's actor may record at, so a row naming a site outside the uploader's area is refused as an
unknown site, with its row number, into the rejects file.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import false, select, true, update
from sqlalchemy.orm import Session, sessionmaker

from tiemchung.registry.errors import (
    FieldProblem,
    ServiceError,
    forbidden,
    not_found,
    role_not_allowed,
    rule_error,
)
from tiemchung.registry.imports.legacy import (
    LegacyFileError,
    count_rows,
    import_legacy_files,
    load_mapping,
)
from tiemchung.registry.models import AdminUnit, ImportJob, Site
from tiemchung.registry.scope import Actor, Role
from tiemchung.store.audit import audit

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
#: the roles that upload old records and read their jobs
STAFF = (Role.SITE, Role.COMMUNE, Role.PROVINCE, Role.CENTRAL)
#: the formats ``legacy.read_sheets`` reads
FORMATS = (".csv", ".txt", ".xlsx", ".xlsm", ".parquet")
#: how many files one upload may hold
MAX_FILES = 20
REJECTS_NAME = "rejects.csv"
_CHUNK = 1 << 20
_SAFE = re.compile(r"[^\w.-]+")


@dataclass
class Upload:
    """One uploaded file: the name the user's computer gave it and its bytes."""

    name: str
    stream: BinaryIO


class JobStoppedError(Exception):
    """The server is stopping: the job is left ``running`` and run again at the next start."""


def jobs_folder(data_dir: Path) -> Path:
    """Where uploads are kept, beside the platform's keys and snapshots."""
    return Path(data_dir) / "imports"


def _now() -> datetime:
    return datetime.now(UTC)


def require_staff(actor: Actor) -> None:
    if actor.role not in STAFF:
        raise role_not_allowed(
            f"Vai trò {actor.role.value} không được nhập hồ sơ cũ",
            f"role {actor.role.value} may not import old records",
        )


def _safe_name(name: str, taken: set[str]) -> str:
    """The upload's own name (no folders), safe on any disk; a repeated one gets ``-2``."""
    base = unicodedata.normalize("NFC", Path(name.replace("\\", "/")).name).strip()
    base = _SAFE.sub("_", base).strip("._") or "upload"
    stem, suffix = Path(base).stem[:100], Path(base).suffix[:10]  # the format kept whole
    base = stem + suffix
    candidate, n = base, 1
    while candidate.lower() in taken or candidate.lower() == REJECTS_NAME:
        n += 1
        candidate = f"{stem}-{n}{suffix}"
    taken.add(candidate.lower())
    return candidate


def _area(session: Session, actor: Actor, site: str | None) -> tuple[Site | None, list[Any]]:
    """The job's site (checked against the actor's area) and its area columns: the site's
    province, ward and id, else the creator's own area."""
    if actor.role is Role.SITE:
        if site is not None and site != actor.site_id:
            raise forbidden(
                "site",
                f"Điểm tiêm '{site}' không phải điểm tiêm của bạn ({actor.site_id})",
                f"site '{site}' is not your own site ({actor.site_id})",
            )
        site = actor.site_id
    if site is None:
        province = actor.province_code
        if province is None and actor.ward_code is not None:
            province = session.scalar(
                select(AdminUnit.province_code).where(
                    AdminUnit.scheme == "2021", AdminUnit.code == actor.ward_code
                )
            )
        return None, [province, actor.ward_code, None]
    found = session.get(Site, site)
    if found is None or not found.active:
        raise rule_error(
            "site",
            "unknown_site",
            f"Không có điểm tiêm '{site}' (hoặc đã đóng)",
            f"no vaccination site '{site}' (or it is closed)",
        )
    if not actor.can_record_at(found):
        raise forbidden(
            "site",
            f"Điểm tiêm '{site}' nằm ngoài địa bàn của bạn",
            f"site '{site}' is outside your area",
        )
    return found, [found.province_code, found.ward_code, found.site_id]


def _save(upload: Upload, path: Path, field: str, budget: int, limit_mb: int) -> int:
    """Copy one upload to ``path``; its size, refused with a 413 once the upload's budget
    (all its files together) is spent."""
    written = 0
    with path.open("wb") as out:
        while chunk := upload.stream.read(_CHUNK):
            written += len(chunk)
            if written > budget:
                raise rule_error(
                    field,
                    "too_large",
                    f"Tệp {upload.name}: tải lên tối đa {limit_mb} MB (tất cả các tệp cộng lại)",
                    f"file {upload.name}: an upload is at most {limit_mb} MB (all its files)",
                    status=413,
                )
            out.write(chunk)
    return written


def _probe(path: Path, name: str, field: str) -> int | None:
    """About how many rows the file holds, or a 422 when it cannot be read at all (an XLSX
    that is no workbook, a Parquet file without its footer)."""
    try:
        return count_rows([path])
    except Exception as exc:  # openpyxl, zipfile and pyarrow each raise their own
        reason = f"{type(exc).__name__}: {exc}"[:300]
        raise rule_error(
            field,
            "unreadable",
            f"Không đọc được tệp {name} ({reason})",
            f"cannot read the file {name} ({reason})",
        ) from None


def create_job(
    session: Session,
    actor: Actor,
    uploads: Sequence[Upload],
    *,
    data_dir: Path,
    max_mb: int,
    mapping: Upload | None = None,
    site: str | None = None,
    source: str | None = None,
) -> ImportJob:
    """Check the upload, save its files and queue the job (audited ``import_job.create``);
    the caller commits. Nothing is saved when anything is refused."""
    require_staff(actor)
    site = (site or "").strip() or None
    source = (source or "").strip() or None
    problems: list[FieldProblem] = []
    if not uploads:
        problems.append(
            FieldProblem("files", "required", "Chưa chọn tệp nào", "no file was uploaded")
        )
    if len(uploads) > MAX_FILES:
        problems.append(
            FieldProblem(
                "files",
                "too_many",
                f"Tối đa {MAX_FILES} tệp mỗi lần",
                f"at most {MAX_FILES} files at a time",
            )
        )
    for i, up in enumerate(uploads):
        suffix = Path(up.name).suffix.lower()
        if suffix not in FORMATS:
            problems.append(
                FieldProblem(
                    f"files.{i}",
                    "unknown_format",
                    f"Tệp {up.name}: định dạng '{suffix}' không hỗ trợ; cần .csv, .xlsx "
                    "hoặc .parquet",
                    f"file {up.name}: format '{suffix}' is not supported; expected .csv, "
                    ".xlsx or .parquet",
                )
            )
    if source is not None and (len(source) > 40 or not re.fullmatch(r"[\w.-]+", source)):
        problems.append(
            FieldProblem(
                "source",
                "format",
                "Tên nguồn: tối đa 40 chữ, số, '.', '-' hoặc '_'",
                "the source name: at most 40 letters, digits, '.', '-' or '_'",
            )
        )
    if problems:
        raise ServiceError(422, "Rule violated / Vi phạm quy tắc", problems)
    found, (province, ward, area_site) = _area(session, actor, site)
    folder = jobs_folder(data_dir) / f"{_now():%Y%m%d}-{uuid.uuid4().hex[:12]}"
    folder.mkdir(parents=True, exist_ok=False)
    try:
        taken: set[str] = set()
        budget = max_mb * 1024 * 1024
        names: list[str] = []
        total: int | None = 0
        for i, up in enumerate(uploads):
            name = _safe_name(up.name, taken)
            budget -= _save(up, folder / name, f"files.{i}", budget, max_mb)
            rows = _probe(folder / name, up.name, f"files.{i}")
            total = total + rows if rows is not None and total is not None else None
            names.append(name)
        map_name = None
        if mapping is not None:
            map_name = "mapping-" + _safe_name(mapping.name, taken)
            _save(mapping, folder / map_name, "mapping", budget, max_mb)
            try:
                load_mapping(folder / map_name)
            except LegacyFileError as exc:
                text = str(exc).replace(str(folder / map_name), mapping.name)
                raise rule_error("mapping", "unreadable", text, text) from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    job = ImportJob(
        status=QUEUED,
        folder=str(folder.resolve()),
        files=names,
        mapping_file=map_name,
        site_id=found.site_id if found is not None else None,
        source=source,
        province_code=province,
        ward_code=ward,
        area_site_id=area_site,
        created_by=actor.user_id,
        username=actor.username,
        role=actor.role.value,
        rows_read=0,
        rows_total=total,
        attempts=0,
    )
    session.add(job)
    session.flush()
    audit(
        session,
        actor,
        "import_job.create",
        "import_job",
        job.id,
        {"files": names, "mapping": map_name, "site": job.site_id, "source": source},
    )
    return job


# -- reading ------------------------------------------------------------------------------------


def _visible(actor: Actor) -> Any:
    """The jobs whose area lies in the actor's (``Actor.covers_area``; a site: its own)."""
    match actor.role:
        case Role.CENTRAL:
            return true()
        case Role.PROVINCE:
            return ImportJob.province_code == actor.province_code
        case Role.COMMUNE:
            return ImportJob.ward_code == actor.ward_code
        case Role.SITE:
            return ImportJob.area_site_id == actor.site_id
    return false()


def get_job(session: Session, actor: Actor, job_id: int) -> ImportJob:
    """One job of the actor's area; any other answers as if it did not exist (404)."""
    require_staff(actor)
    job = session.scalar(select(ImportJob).where(ImportJob.id == job_id, _visible(actor)))
    if job is None:
        raise not_found("id", f"lần nhập số {job_id}", f"import job {job_id}")
    return job


def list_jobs(session: Session, actor: Actor, *, limit: int = 50) -> list[ImportJob]:
    """The jobs of the actor's area, newest first."""
    require_staff(actor)
    return list(
        session.scalars(
            select(ImportJob).where(_visible(actor)).order_by(ImportJob.id.desc()).limit(limit)
        )
    )


def rejects_file(session: Session, actor: Actor, job_id: int) -> Path:
    """The job's rejects CSV (404 while it has none: running, or nothing refused)."""
    job = get_job(session, actor, job_id)
    path = Path(job.folder) / REJECTS_NAME
    if job.status != DONE or not (job.report or {}).get("rows_rejected") or not path.is_file():
        raise not_found(
            "rejects", f"tệp dòng bị từ chối của lần nhập {job_id}", f"rejects of job {job_id}"
        )
    return path


def percent(job: ImportJob) -> int | None:
    """How far the job is: 100 when done; while running, rows read against the rows the
    files hold (title and header rows included, so it stays under 100 until the end)."""
    if job.status == DONE:
        return 100
    if not job.rows_total:
        return None
    return min(99, job.rows_read * 100 // job.rows_total)


def job_view(job: ImportJob) -> dict[str, Any]:
    """A job as the API, the page and its polling script show it."""
    return {
        "id": job.id,
        "status": job.status,
        "files": list(job.files),
        "mapping_file": job.mapping_file,
        "site_id": job.site_id,
        "source": job.source,
        "created_by": job.username,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "attempts": job.attempts,
        "progress": {
            "rows_read": job.rows_read,
            "rows_total": job.rows_total,
            "percent": percent(job),
        },
        "report": job.report,
        "error": job.error,
    }


# -- running ------------------------------------------------------------------------------------


def pending_jobs(session: Session) -> list[int]:
    """The jobs to run at start: queued, or left running by a crash or a stop."""
    return list(
        session.scalars(
            select(ImportJob.id)
            .where(ImportJob.status.in_((QUEUED, RUNNING)))
            .order_by(ImportJob.id)
        )
    )


def _job_actor(job: ImportJob) -> Actor:
    """The uploader as the import sees it: its role over the job's area (which lies in the
    uploader's own), so the rows' sites are scoped as the upload was."""
    return Actor(
        user_id=job.created_by,
        username=job.username,
        role=Role(job.role),
        province_code=job.province_code,
        ward_code=job.ward_code,
        site_id=job.area_site_id,
    )


def _report(done: Any, guessed: bool) -> dict[str, Any]:
    r = done.report
    return {
        "rows_read": r.rows_read,
        "rows_stored": r.rows_imported,
        "rows_skipped": r.rows_skipped,
        "rows_rejected": r.rows_rejected,
        "reasons": dict(sorted(r.reasons.items(), key=lambda kv: -kv[1])),
        "unknown_vaccines": dict(sorted(r.unknown_vaccines.items(), key=lambda kv: -kv[1])),
        "guessed_mapping": [
            {"file": Path(f).name, "sheet": sheet, "toml": toml} for f, sheet, toml in done.guesses
        ]
        if guessed
        else [],
        "headless": [{"file": Path(f).name, "sheet": sheet} for f, sheet in done.headless],
    }


def _finish(
    sessions: sessionmaker[Session], job_id: int, actor: Actor, values: dict[str, Any]
) -> None:
    with sessions() as s:
        s.execute(
            update(ImportJob).where(ImportJob.id == job_id).values(finished_at=_now(), **values)
        )
        report = values.get("report") or {}
        detail = {"status": values["status"]} | {
            k: report[k]
            for k in ("rows_read", "rows_stored", "rows_skipped", "rows_rejected")
            if k in report
        }
        if values.get("error"):
            detail["error"] = values["error"]["message_en"][:300]
        audit(s, actor, "import_job.finish", "import_job", job_id, detail)
        s.commit()


def run_job(
    sessions: sessionmaker[Session], job_id: int, *, stop: threading.Event | None = None
) -> str | None:
    """Run one job to its end (``done`` or ``failed``, audited ``import_job.finish``); its
    status afterwards, ``running`` when the server stopped it between two chunks (it runs
    again at the next start), None when there was nothing to run."""
    with sessions() as s:
        job = s.get(ImportJob, job_id)
        if job is None or job.status not in (QUEUED, RUNNING):
            return None
        job.status, job.started_at, job.rows_read = RUNNING, _now(), 0
        job.attempts += 1
        actor = _job_actor(job)
        folder, files, map_name = Path(job.folder), list(job.files), job.mapping_file
        site, source = job.site_id, job.source
        s.commit()
    read = 0

    def progress(n: int) -> None:
        nonlocal read
        read += n
        with sessions() as p:
            p.execute(update(ImportJob).where(ImportJob.id == job_id).values(rows_read=read))
            p.commit()
        if stop is not None and stop.is_set():
            raise JobStoppedError

    try:
        mapping = load_mapping(folder / map_name) if map_name else None
        with sessions() as s:
            done = import_legacy_files(
                s,
                actor,
                [folder / f for f in files],
                mapping=mapping,
                site=site,
                source=source,
                rejects_path=folder / REJECTS_NAME,
                progress=progress,
            )
    except JobStoppedError:
        log.info("import job %s stopped; it runs again at the next start", job_id)
        return RUNNING
    except (LegacyFileError, OSError) as exc:
        text = str(exc).replace(str(folder) + "/", "")
        error = {"rule": "unreadable", "message_vi": text, "message_en": text}
        _finish(sessions, job_id, actor, {"status": FAILED, "error": error})
        return FAILED
    except Exception as exc:
        log.exception("import job %s failed", job_id)
        kind = type(exc).__name__
        error = {
            "rule": "internal",
            "message_vi": f"Lỗi khi nhập ({kind}); các dòng đã lưu vẫn giữ nguyên",
            "message_en": f"the import failed ({kind}); rows already stored stay stored",
        }
        _finish(sessions, job_id, actor, {"status": FAILED, "error": error})
        return FAILED
    report = _report(done, guessed=map_name is None)
    _finish(
        sessions,
        job_id,
        actor,
        {"status": DONE, "report": report, "rows_read": report["rows_read"], "error": None},
    )
    return DONE
