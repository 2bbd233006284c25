"""Old records uploaded as an asynchronous job (issue 17 point 3): ``POST /imports`` and its
status, report, rejects and list.

Thin over ``registry/imports/jobs.py`` — the upload page calls the same functions, and the
job runs ``legacy.import_legacy_files`` as ``tiemchung backlog import`` does. The files are
saved and the job row committed (on a worker thread: copying a large upload must not hold up
the event loop, nor the doses' group-commit writer) before the 202 is answered; then the
server's import runner (``registry/imports/runner.py``) takes the job.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from tiemchung.api.deps import CurrentActor, PlatformDep
from tiemchung.api.imports_schemas import ImportJobList, ImportJobOut
from tiemchung.api.problems import ERROR_RESPONSES, error_doc
from tiemchung.registry.imports import jobs
from tiemchung.registry.imports.runner import runner_for
from tiemchung.registry.models import ImportJob
from tiemchung.serving.downloads import path_response
from tiemchung.serving.types import RowId
from tiemchung.store.db import DbSession as Session

router = APIRouter(tags=["imports"])
_ERRORS = {
    **ERROR_RESPONSES,
    403: error_doc("A citizen, or a site outside the caller's area (a site user: its own only)"),
    404: error_doc("No such job within the caller's area, or no rejects (yet)"),
    413: error_doc("The upload is larger than the installation allows (TIEMCHUNG_IMPORT_MAX_MB)"),
    422: error_doc(
        "An unknown format, an unreadable file or mapping, an unknown site (named in errors[])"
    ),
}


def _out(job: ImportJob) -> ImportJobOut:
    view = jobs.job_view(job)
    report = view["report"] or {}
    view["rejects_url"] = (
        f"/api/v1/imports/{job.id}/rejects" if report.get("rows_rejected") else None
    )
    return ImportJobOut.model_validate(view)


@router.post(
    "/imports",
    status_code=202,
    response_model=ImportJobOut,
    responses=_ERRORS
    | {
        202: {
            "description": "The job, queued; poll its `Location` until `done` or `failed`",
            "headers": {
                "Location": {
                    "description": "the job: /api/v1/imports/{id}",
                    "schema": {"type": "string"},
                }
            },
        }
    },
)
async def create_import(
    response: Response,
    actor: CurrentActor,
    platform: PlatformDep,
    files: Annotated[
        list[UploadFile],
        File(description="one or more CSV, XLSX (every sheet) or Parquet files"),
    ],
    mapping: Annotated[
        UploadFile | None,
        File(description='TOML: [columns] "header" = "column", [vaccines] "name" = "CODE"'),
    ] = None,
    site: Annotated[
        str | None,
        Form(max_length=20, description="the site of rows that name none (a site user: its own)"),
    ] = None,
    source: Annotated[
        str | None,
        Form(max_length=40, description="a name that prefixes the files' own record ids"),
    ] = None,
) -> Any:
    """Upload a site's old spreadsheets (multipart/form-data) to import as backlog dose
    records, e.g. ``curl -F files=@so-tiem.xlsx -F site=S-79-26734 …/api/v1/imports``. The
    files are kept on the server before the answer (202, ``Location: /api/v1/imports/{id}``);
    the job then runs in the background: every row is stored, skipped (already stored: the
    same file again adds nothing) or rejected into the rejects file with its row and reason.
    A site user imports for its own site, a commune user for the sites of its ward, a
    province or central user within its area; a row naming a site outside it is rejected."""
    uploads = [jobs.Upload(f.filename or "upload", f.file) for f in files]
    mapped = jobs.Upload(mapping.filename or "mapping.toml", mapping.file) if mapping else None
    settings = platform.settings

    def job(s: Session) -> ImportJobOut:
        created = jobs.create_job(
            s,
            actor,
            uploads,
            data_dir=settings.data_dir,
            max_mb=settings.import_max_mb,
            mapping=mapped,
            site=site,
            source=source,
        )
        return _out(created)

    out = await run_in_threadpool(platform.in_transaction, job)
    runner_for(platform).submit(out.id)
    response.headers["Location"] = f"/api/v1/imports/{out.id}"
    return out


@router.get("/imports", response_model=ImportJobList, responses=_ERRORS)
async def list_imports(actor: CurrentActor, platform: PlatformDep) -> Any:
    """The jobs of the caller's area (a site: its own; a commune: its ward's), newest first
    (the last 50)."""

    def read() -> list[ImportJobOut]:
        with platform.sessions() as s:
            return [_out(j) for j in jobs.list_jobs(s, actor)]

    return ImportJobList(items=await run_in_threadpool(read))


@router.get("/imports/{job_id}", response_model=ImportJobOut, responses=_ERRORS)
async def read_import(job_id: RowId, actor: CurrentActor, platform: PlatformDep) -> Any:
    """A job's status and progress (rows read, of about how many, a percentage); once done,
    its report: rows read, stored, skipped and rejected, the reasons with counts, the vaccine
    names no product answers with counts, and the mapping guessed from the headers when none
    was given."""

    def read() -> ImportJobOut:
        with platform.sessions() as s:
            return _out(jobs.get_job(s, actor, job_id))

    return await run_in_threadpool(read)


@router.get(
    "/imports/{job_id}/rejects",
    response_class=Response,
    responses=_ERRORS | {200: {"content": {"text/csv": {}}, "description": "the rejects CSV"}},
)
async def import_rejects(job_id: RowId, actor: CurrentActor, platform: PlatformDep) -> Response:
    """The rows a finished job refused, as CSV: ``row, reason, file, sheet``, the canonical
    columns and the row as it was in the file."""

    def find() -> Any:
        with platform.sessions() as s:
            return jobs.rejects_file(s, actor, job_id)

    path = await run_in_threadpool(find)
    return path_response(path, "text/csv; charset=utf-8", f"import-{job_id}-rejects.csv")
