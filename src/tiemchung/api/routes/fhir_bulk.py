"""FHIR Bulk Data export at ``/fhir/R4`` (issue 19 point 2): thin routes over
``tiemchung.fhir.bulk`` and ``registry/exports/jobs.py``, answered as the Bulk Data Access
spec says.

* kick-off, ``GET /$export`` or ``GET /Group/{ward or province}/$export`` with ``Prefer:
  respond-async``: 202, the status URL in ``Content-Location``;
* the status URL: 202 with ``X-Progress`` and ``Retry-After`` while the job runs, 200 with
  the manifest once done, 500 with an OperationOutcome if it failed; ``DELETE`` cancels the
  job and deletes its files (202);
* the files, ``application/fhir+ndjson``, to the user who asked only (another user's job is
  404, as is an expired one).

Every refusal is an ``OperationOutcome`` (:class:`~tiemchung.api.routes.fhir.FhirRoute`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from tiemchung.api.deps import PlatformDep, require_scope
from tiemchung.api.routes.fhir import (
    _ERRORS,
    MEDIA_TYPE,
    PREFIX,
    FhirRoute,
    fhir_json,
)
from tiemchung.fhir import bulk, resources
from tiemchung.fhir.export_runner import runner_for
from tiemchung.registry.exports import jobs
from tiemchung.registry.scope import Actor

router = APIRouter(tags=["fhir"], route_class=FhirRoute)

#: seconds a client is asked to wait before polling again
RETRY_AFTER = "5"
_ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {
        "description": "Accepted: the status URL is in Content-Location",
        "headers": {"Content-Location": {"schema": {"type": "string"}}},
    }
}
_MANIFEST_EXAMPLE = {
    "transactionTime": "2026-12-07T10:00:00Z",
    "request": "https://tiemchung.example/fhir/R4/Group/00004/$export?_type=Patient",
    "requiresAccessToken": True,
    "output": [
        {
            "type": "Patient",
            "url": "https://tiemchung.example/fhir/R4/$export-file/7/Patient.ndjson",
            "count": 1523,
        }
    ],
    "error": [],
}
#: The Bulk Data manifest (its own shape, not a FHIR resource), for the OpenAPI.
_MANIFEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["transactionTime", "request", "requiresAccessToken", "output", "error"],
    "properties": {
        "transactionTime": {"type": "string"},
        "request": {"type": "string"},
        "requiresAccessToken": {"type": "boolean"},
        "output": {"type": "array", "items": {"type": "object"}},
        "error": {"type": "array", "items": {"type": "object"}},
    },
}
_STATUS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Done: the manifest",
        "content": {MEDIA_TYPE: {"schema": _MANIFEST_SCHEMA, "example": _MANIFEST_EXAMPLE}},
    },
    202: {
        "description": "Still running (X-Progress, Retry-After)",
        "headers": {
            "X-Progress": {"schema": {"type": "string"}},
            "Retry-After": {"schema": {"type": "string"}},
        },
    },
    500: {"description": "The export failed (OperationOutcome)", "content": {MEDIA_TYPE: {}}},
}


#: A partner client exports with the read scopes of both types it may write (the Bulk Data
#: spec has no export scope of its own); a staff token as for every FHIR read.
ExportActor = Annotated[
    Actor, Depends(require_scope("system/Patient.read", "system/Immunization.read"))
]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + PREFIX


async def _start(
    request: Request, actor: Actor, platform: Any, prefer: str | None, group: str | None
) -> Response:
    jobs.check_role(actor)  # who may not export, or not this Group, learns that first
    if group is not None:
        jobs.resolve_group(actor, group)
    types, since = bulk.parse_kickoff(list(request.query_params.multi_items()), prefer)

    def create() -> int:
        with platform.sessions() as session:
            job = jobs.create_job(
                session,
                actor,
                request=str(request.url),
                types=types,
                since=since,
                group=group,
                data_dir=platform.settings.data_dir,
            )
            session.commit()
            return int(job.id)

    job_id = await run_in_threadpool(create)
    runner_for(platform).submit(job_id)
    status_url = f"{_base(request)}/$export-status/{job_id}"
    return Response(status_code=202, headers={"Content-Location": status_url})


@router.get("/$export", status_code=202, response_class=Response, responses=_ERRORS | _ACCEPTED)
async def export_system(
    request: Request,
    actor: ExportActor,
    platform: PlatformDep,
    prefer: str | None = Header(default=None),
) -> Response:
    """System-level export: every Patient and Immunization the caller may read (its area),
    or ``_type`` of them, changed after ``_since``. ``Prefer: respond-async`` required."""
    return await _start(request, actor, platform, prefer, None)


@router.get(
    "/Group/{group_id}/$export",
    status_code=202,
    response_class=Response,
    responses=_ERRORS | _ACCEPTED,
)
async def export_group(
    group_id: str,
    request: Request,
    actor: ExportActor,
    platform: PlatformDep,
    prefer: str | None = Header(default=None),
) -> Response:
    """A ward's (5-digit code) or a province's (2-digit code) people and their doses; a
    Group outside the caller's area is refused (403)."""
    return await _start(request, actor, platform, prefer, group_id)


@router.get("/$export-status/{job_id}", response_class=Response, responses=_ERRORS | _STATUS)
async def export_status(
    job_id: str, request: Request, actor: ExportActor, platform: PlatformDep
) -> Response:
    """Poll a job: 202 while it runs, the manifest (200) once done."""

    def read() -> tuple[str, dict[str, Any] | str]:
        with platform.sessions() as session:
            job = jobs.get_job(session, actor, job_id)
            if job.status == jobs.DONE:
                return job.status, bulk.manifest(job, _base(request))
            if job.status == jobs.FAILED:
                return job.status, job.error or {}
            return job.status, bulk.progress_text(job)

    status, body = await run_in_threadpool(read)
    if status == jobs.DONE:
        assert isinstance(body, dict)
        return JSONResponse(body, media_type="application/json")
    if status == jobs.FAILED:
        assert isinstance(body, dict)
        items = [("", str(body.get("vi", "")), str(body.get("en", "")))]
        return fhir_json(resources.outcome("error", "exception", items), 500)
    return Response(status_code=202, headers={"X-Progress": str(body), "Retry-After": RETRY_AFTER})


@router.delete(
    "/$export-status/{job_id}", status_code=202, response_class=Response, responses=_ERRORS
)
async def export_cancel(job_id: str, actor: ExportActor, platform: PlatformDep) -> Response:
    """Cancel a job (running or done): it and its files are deleted; polling it is 404."""

    def cancel() -> None:
        with platform.sessions() as session:
            jobs.cancel_job(session, actor, job_id)

    await run_in_threadpool(cancel)
    return Response(status_code=202)


@router.get(
    "/$export-file/{job_id}/{name}",
    response_class=Response,
    responses=_ERRORS | {200: {"content": {bulk.NDJSON: {}}, "description": "NDJSON"}},
)
async def export_file(
    job_id: str, name: str, actor: ExportActor, platform: PlatformDep
) -> Response:
    """One file of a done job, to the user who asked for it (with the same token)."""

    def path() -> Any:
        with platform.sessions() as session:
            return jobs.output_file(session, actor, job_id, name)

    found = await run_in_threadpool(path)
    await platform.audit_read(actor, "export.read", "export_job", [f"{job_id}/{name}"])
    return FileResponse(found, media_type=bulk.NDJSON)
