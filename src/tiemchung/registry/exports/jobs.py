"""A bulk export's life: asked (``queued``), run by the server's export thread
(``running``, its count of resources written kept as it goes), ``done`` with its files under
``data_dir/exports/<job>/`` or ``failed``; deleted, files and row, when its client cancels it
(``DELETE`` of the status URL) or when it expires (``export_expiry_hours`` after it ended).

Only the user who asked may poll it, read its files or cancel it: another user's job is
"not found" (404), as the Bulk Data spec's ``requiresAccessToken`` means. What the export
contains is the asker's area (:class:`~tiemchung.registry.exports.rows.ExportScope`): the
job keeps the asker's role and area so the runner, maybe after a restart, scopes it the same.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from tiemchung.identity.errors import IdentityError
from tiemchung.identity.places import province_by_code, ward_by_code
from tiemchung.registry.errors import (
    FieldProblem,
    ServiceError,
    forbidden,
    not_found,
    role_not_allowed,
)
from tiemchung.registry.exports.rows import ExportScope
from tiemchung.registry.scope import Actor, Role
from tiemchung.registry.tables.exports import ExportJob
from tiemchung.store.audit import audit

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
#: who may export: the staff of an area (a site or a citizen reads through the search API)
EXPORT_ROLES = (Role.CENTRAL, Role.PROVINCE, Role.COMMUNE)


def _now() -> datetime:
    return datetime.now(UTC)


def check_role(actor: Actor) -> None:
    if actor.role not in EXPORT_ROLES:
        raise role_not_allowed(
            f"Vai trò {actor.role.value} không được xuất dữ liệu hàng loạt",
            f"role {actor.role.value} may not run a bulk export",
        )


def resolve_group(actor: Actor, code: str) -> tuple[str, str]:
    """A Group's id: a ward code (5 digits) or a province code (2 digits) of the 2021 units;
    404 for none, 403 for one outside the caller's area (a commune may export its own ward
    only, a province its own province and its wards)."""
    try:
        ward = ward_by_code(code, scheme="2021") if len(code) == 5 else None
        province = province_by_code(code, scheme="2021") if len(code) == 2 else None
    except IdentityError:
        ward = province = None
    if ward is not None:
        if not actor.covers_area(ward.province_code, ward.code):
            raise forbidden(
                "group",
                f"Xã/phường {code} ngoài phạm vi của bạn",
                f"ward {code} is outside your area",
            )
        return "ward", ward.code
    if province is not None:
        if actor.role is not Role.CENTRAL and not (
            actor.role is Role.PROVINCE and actor.province_code == province.code
        ):
            raise forbidden(
                "group",
                f"Tỉnh/thành {code} ngoài phạm vi của bạn",
                f"province {code} is outside your area",
            )
        return "province", province.code
    raise not_found("group", f"nhóm (mã xã hoặc tỉnh) {code}", f"group (ward or province) {code}")


def create_job(
    session: Session,
    actor: Actor,
    *,
    request: str,
    types: list[str],
    since: datetime | None,
    group: str | None,
    data_dir: Path,
) -> ExportJob:
    """Record a kick-off (audited ``export.create``); the caller commits and hands the id
    to the runner. ``types`` and ``since`` come checked (``fhir/bulk.parse_kickoff``)."""
    check_role(actor)
    kind, code = resolve_group(actor, group) if group is not None else (None, None)
    job = ExportJob(
        status=QUEUED,
        request=request,
        types=types,
        since=since,
        group_kind=kind,
        group_code=code,
        folder="",
        user_id=actor.user_id,
        username=actor.username,
        role=actor.role.value,
        province_code=actor.province_code,
        ward_code=actor.ward_code,
    )
    session.add(job)
    session.flush()
    job.folder = str((data_dir / "exports" / str(job.id)).resolve())
    detail = {"types": types, "since": since.isoformat() if since else None, "group": code}
    audit(session, actor, "export.create", "export_job", job.id, detail)
    return job


def job_actor(job: ExportJob) -> Actor:
    """The asker as the export sees it: its role over its area."""
    return Actor(
        user_id=job.user_id,
        username=job.username,
        role=Role(job.role),
        province_code=job.province_code,
        ward_code=job.ward_code,
    )


def job_scope(job: ExportJob) -> ExportScope:
    since = job.since
    if since is not None and since.tzinfo is None:  # SQLite hands back naive UTC
        since = since.replace(tzinfo=UTC)
    return ExportScope(job_actor(job), job.group_kind, job.group_code, since)


def get_job(session: Session, actor: Actor, job_id: int | str) -> ExportJob:
    """The caller's own job; anyone else's, or none, is 404 (not 403: an id says nothing).
    ``job_id`` as the URL gave it: anything but a number a job could have is none."""
    text_id = str(job_id)
    found = text_id.isascii() and text_id.isdigit() and len(text_id) <= 18
    job = session.get(ExportJob, int(text_id)) if found else None
    if job is None or job.user_id != actor.user_id or job.username != actor.username:
        raise not_found("job", f"yêu cầu xuất dữ liệu {job_id}", f"export job {job_id}")
    return job


def remove_files(folder: str) -> None:
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def cancel_job(session: Session, actor: Actor, job_id: int | str) -> None:
    """``DELETE`` of the status URL: the job and its files go (a running job's thread sees
    its row gone and stops, removing what it wrote); audited ``export.delete``."""
    job = get_job(session, actor, job_id)
    folder, status = job.folder, job.status
    session.execute(delete(ExportJob).where(ExportJob.id == job.id))
    audit(session, actor, "export.delete", "export_job", job.id, {"status": status})
    session.commit()
    remove_files(folder)


def output_file(session: Session, actor: Actor, job_id: int | str, name: str) -> Path:
    """The path of one of the caller's done job's files (404 for any other name)."""
    job = get_job(session, actor, job_id)
    names = {o["file"] for o in job.output or []} if job.status == DONE else set()
    if name not in names:
        raise not_found("file", f"tệp {name}", f"file {name}")
    return Path(job.folder) / name


def pending_jobs(session: Session) -> list[int]:
    """The jobs to run at start: queued, or left running by a crash or a stop."""
    stmt = select(ExportJob.id).where(ExportJob.status.in_((QUEUED, RUNNING)))
    return list(session.scalars(stmt.order_by(ExportJob.id)))


def start_job(session: Session, job_id: int) -> ExportJob | None:
    """Claim a job to run (None when it is gone or already ended): ``running``, its
    ``transactionTime`` now (what changed later is the next ``_since`` export's)."""
    job = session.get(ExportJob, job_id)
    if job is None or job.status not in (QUEUED, RUNNING):
        return None
    job.status, job.transaction_time, job.written = RUNNING, _now(), 0
    job.attempts += 1
    session.commit()
    return job


def set_written(session: Session, job_id: int, written: int) -> bool:
    """Record the progress; False when the job was cancelled meanwhile (its row is gone)."""
    stmt = update(ExportJob).where(ExportJob.id == job_id).values(written=written)
    alive = session.execute(stmt).rowcount > 0  # type: ignore[attr-defined]
    session.commit()
    return bool(alive)


def finish_job(
    session: Session, job_id: int, output: list[dict[str, Any]], expiry_hours: float
) -> bool:
    """Mark the job done with its files (audited ``export.finish`` as its asker); False when
    it was cancelled meanwhile, and its files must go."""
    job = session.get(ExportJob, job_id)
    if job is None or job.status != RUNNING:
        return False
    now = _now()
    job.status, job.output, job.finished_at = DONE, output, now
    job.written = sum(int(o["count"]) for o in output)
    job.expires_at = now + timedelta(hours=expiry_hours)
    counts = {o["type"]: o["count"] for o in output}
    audit(session, job_actor(job), "export.finish", "export_job", job_id, counts)
    session.commit()
    return True


def fail_job(session: Session, job_id: int, exc: BaseException, expiry_hours: float) -> None:
    """A job that could not run: ``failed`` with its problem in both languages."""
    job = session.get(ExportJob, job_id)
    if job is None:
        return
    now = _now()
    job.status, job.finished_at = FAILED, now
    job.expires_at = now + timedelta(hours=expiry_hours)
    job.error = {"vi": "Xuất dữ liệu thất bại", "en": f"export failed: {type(exc).__name__}"}
    audit(session, job_actor(job), "export.fail", "export_job", job_id, job.error)
    session.commit()


def expire_jobs(session: Session, now: datetime | None = None) -> list[int]:
    """Delete the jobs whose time is up, and their files (audited ``export.expire``)."""
    now = now or _now()
    jobs = list(session.scalars(select(ExportJob).where(ExportJob.expires_at < now)))
    for job in jobs:
        audit(session, Actor.system("export-expiry"), "export.expire", "export_job", job.id)
        session.delete(job)
    session.commit()
    for job in jobs:
        remove_files(job.folder)
    return [job.id for job in jobs]


def refused(field_: str, vi: str, en: str) -> ServiceError:
    """A kick-off parameter the server does not take (400, an OperationOutcome)."""
    return ServiceError(
        400, "Bad export parameter / Tham số xuất sai", [FieldProblem(field_, "invalid", vi, en)]
    )
