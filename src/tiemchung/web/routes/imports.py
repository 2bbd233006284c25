"""The upload page for old records (issue 17 point 3) and a job's page: thin over
``registry/imports/jobs.py`` — ``POST /api/v1/imports`` and ``tiemchung backlog import`` go
through the same import.

A site or commune user chooses the files (a commune user the site, among its ward's), and
optionally a mapping; the page saves them as a job and sends the user to the job's page,
which shows the progress (``static/imports.js`` polls ``/imports/{id}/status``; without
scripts, a refresh link), then the report: rows stored, skipped and rejected with the
reasons, the vaccine names no product answers with their counts and how to add a synonym,
and the rejects file to download.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from tiemchung.registry.catalog.reference import list_sites
from tiemchung.registry.errors import FieldProblem, ServiceError
from tiemchung.registry.imports import jobs
from tiemchung.registry.imports.runner import runner_for
from tiemchung.registry.scope import Actor, Role
from tiemchung.serving.downloads import path_response
from tiemchung.serving.types import RowId
from tiemchung.store.db import DbSession as Session
from tiemchung.vaccines import BY_CODE
from tiemchung.web import pages
from tiemchung.web.guard import Csrf, WebActor, platform_of, require_role

router = APIRouter(include_in_schema=False)


def _sites(request: Request, actor: Actor) -> list[dict[str, str]]:
    """The sites a non-site user may import for (a site user imports for its own)."""
    if actor.role is Role.SITE:
        return []
    with platform_of(request).sessions() as s:
        found, _ = list_sites(s, actor, ward_code=None, limit=500, offset=0)
        return [{"id": x.site_id, "name": x.name} for x in found if x.active]


def _upload_page(
    request: Request,
    actor: Actor,
    problems: list[FieldProblem],
    form: dict[str, str],
    status: int = 200,
) -> Response:
    platform = platform_of(request)

    def read() -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
        with platform.sessions() as s:
            recent = [jobs.job_view(j) for j in jobs.list_jobs(s, actor, limit=20)]
        return _sites(request, actor), recent

    sites, recent = read()
    ctx = {
        "sites": sites,
        "recent": recent,
        "problems": problems,
        "form": form,
        "max_mb": platform.settings.import_max_mb,
    }
    return pages.render(request, "imports/upload.html", ctx, actor=actor, status=status)


@router.get("/imports")
async def upload_page(request: Request, actor: WebActor) -> Response:
    require_role(actor, *jobs.STAFF)
    return await run_in_threadpool(_upload_page, request, actor, [], {})


def _file(value: Any) -> UploadFile | None:
    """A chosen file; an empty file input is sent as a part with no name."""
    return value if isinstance(value, UploadFile) and value.filename else None


@router.post("/imports", dependencies=[Csrf])
async def upload(request: Request, actor: WebActor) -> Response:
    """Save the files as a job (the same service as ``POST /api/v1/imports``) and go to the
    job's page; a refusal comes back on the form, each problem naming the file or field."""
    require_role(actor, *jobs.STAFF)
    platform = platform_of(request)
    raw = await request.form()
    chosen = [f for f in map(_file, raw.getlist("files")) if f is not None]
    mapping = _file(raw.get("mapping"))
    form = {k: str(raw.get(k) or "")[:64] for k in ("site", "source")}
    uploads = [jobs.Upload(str(f.filename), f.file) for f in chosen]
    settings = platform.settings

    def create(s: Session) -> int:
        job = jobs.create_job(
            s,
            actor,
            uploads,
            data_dir=settings.data_dir,
            max_mb=settings.import_max_mb,
            mapping=jobs.Upload(str(mapping.filename), mapping.file) if mapping else None,
            site=form["site"] or None,
            source=form["source"] or None,
        )
        return job.id

    try:
        job_id = await run_in_threadpool(platform.in_transaction, create)
    except ServiceError as exc:
        return await run_in_threadpool(_upload_page, request, actor, exc.problems, form, exc.status)
    runner_for(platform).submit(job_id)
    return RedirectResponse(f"/imports/{job_id}", status_code=303)


def _view(request: Request, actor: Actor, job_id: int) -> dict[str, Any]:
    with platform_of(request).sessions() as s:
        return jobs.job_view(jobs.get_job(s, actor, job_id))


@router.get("/imports/{job_id}")
async def job_page(request: Request, actor: WebActor, job_id: RowId) -> Response:
    """The job: its progress while it runs, then its report."""
    require_role(actor, *jobs.STAFF)
    try:
        job = await run_in_threadpool(_view, request, actor, job_id)
    except ServiceError as exc:
        return pages.render(request, "forbidden.html", {}, actor=actor, status=exc.status)
    ctx = {"job": job, "products": sorted(BY_CODE)}
    return pages.render(request, "imports/job.html", ctx, actor=actor)


@router.get("/imports/{job_id}/status")
async def job_status(request: Request, actor: WebActor, job_id: RowId) -> Response:
    """The job's status and progress as JSON, for the page's polling script."""
    require_role(actor, *jobs.STAFF)
    try:
        job = await run_in_threadpool(_view, request, actor, job_id)
    except ServiceError as exc:
        return JSONResponse(exc.as_problem(), status_code=exc.status)
    return JSONResponse(
        {"id": job["id"], "status": job["status"], "progress": job["progress"]},
        headers={"Cache-Control": "no-store"},
    )


@router.get("/imports/{job_id}/rejects.csv")
async def job_rejects(request: Request, actor: WebActor, job_id: RowId) -> Response:
    """The rows the job refused, with their row numbers and reasons."""
    require_role(actor, *jobs.STAFF)
    platform = platform_of(request)

    def find() -> Any:
        with platform.sessions() as s:
            return jobs.rejects_file(s, actor, job_id)

    try:
        path = await run_in_threadpool(find)
    except ServiceError as exc:
        return pages.render(request, "forbidden.html", {}, actor=actor, status=exc.status)
    return path_response(path, "text/csv; charset=utf-8", f"import-{job_id}-rejects.csv")
