"""The registration pages (issue 18): an organisation applies (public form), its user uploads
lists and works each row's result (``/organisation``), and a person registers themselves with
a one-time code (``/register``).

Thin over ``registry/people/registration/`` — the same functions as ``tiemchung orgs`` and
``registrations import`` and the API's ``/organisations`` and ``/registrations``. An upload
runs ``upload.import_list`` (batches of 10,000, each committed) on a worker thread; a refused
form comes back with what was typed and each problem in the page's language.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from tiemchung.registry.errors import FieldProblem, ServiceError, rule_error
from tiemchung.registry.people.registration import organisations as orgs
from tiemchung.registry.people.registration import priority, selfreg, upload
from tiemchung.registry.people.registration import registrations as regs
from tiemchung.registry.scope import Actor, Role
from tiemchung.serving.types import RowId
from tiemchung.store.db import DbSession as Session
from tiemchung.web import pages
from tiemchung.web.guard import Csrf, WebActor, platform_of, require_role

router = APIRouter(include_in_schema=False)
MAX_UPLOAD = 40 * 1024 * 1024
SHOWN = 500
APPLY_KEYS = ("name", "code", "kind", "ward_code", "contact_name", "contact_phone",
              "contact_email")  # fmt: skip
SUFFIXES = (".csv", ".xlsx", ".xlsm", ".parquet", ".txt")


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# -- an organisation applies ------------------------------------------------------------------


def _apply_page(
    request: Request, typed: dict[str, str], problems: list[FieldProblem], status: int = 200,
    done: dict[str, Any] | None = None,
) -> Response:  # fmt: skip
    ctx = {"typed": typed, "problems": problems, "kinds": orgs.KINDS, "done": done}
    return pages.render(request, "registration/apply.html", ctx, status=status)


@router.get("/organisations/apply")
async def apply_form(request: Request) -> Response:
    return _apply_page(request, {"kind": "company"}, [])


@router.post("/organisations/apply", dependencies=[Csrf])
async def apply(request: Request) -> Response:
    form = await request.form()
    typed = {k: str(form.get(k) or "")[:300] for k in APPLY_KEYS}
    app = orgs.Application(**{k: (v.strip() or None) if k.startswith("contact") else v
                              for k, v in typed.items()})  # type: ignore[arg-type]  # fmt: skip

    def job(s: Session) -> dict[str, Any]:
        return orgs.organisation_view(orgs.apply(s, Actor.anonymous("public-form"), app))

    try:
        done = await run_in_threadpool(platform_of(request).in_transaction, job)
    except ServiceError as exc:
        return _apply_page(request, typed, exc.problems, exc.status)
    return _apply_page(request, {"kind": "company"}, [], 201, done)


# -- the ward, province or central decides ---------------------------------------------------

DECIDERS = (Role.COMMUNE, Role.PROVINCE, Role.CENTRAL)


async def _decisions_page(
    request: Request, actor: Actor, problems: list[FieldProblem] | None = None, status: int = 200
) -> Response:
    status_filter = request.query_params.get("status") or "applied"

    def read() -> list[dict[str, Any]]:
        with platform_of(request).sessions() as s:
            found = orgs.list_organisations(s, actor, status=status_filter[:12])
            return [orgs.organisation_view(o) for o in found]

    ctx = {"orgs": await run_in_threadpool(read), "status": status_filter,
           "problems": problems or [], "done": request.query_params.get("done", "")}  # fmt: skip
    return pages.render(request, "registration/decide.html", ctx, actor=actor, status=status)


@router.get("/organisations")
async def decisions(request: Request, actor: WebActor) -> Response:
    """The applications the caller decides on (its ward, its province, or all)."""
    require_role(actor, *DECIDERS)
    return await _decisions_page(request, actor)


@router.post("/organisations/{org_id}/decision", dependencies=[Csrf])
async def decide(
    request: Request,
    actor: WebActor,
    org_id: RowId,
    approve: str = Form("", max_length=5),
    note: str = Form("", max_length=2000),
) -> Response:
    require_role(actor, *DECIDERS)

    def job(s: Session) -> str:
        org = orgs.decide(s, actor, org_id, approve=approve == "1", note=note.strip() or None)
        return org.status

    try:
        done = await run_in_threadpool(platform_of(request).in_transaction, job)
    except ServiceError as exc:
        return await _decisions_page(request, actor, exc.problems, exc.status)
    return RedirectResponse(f"/organisations?done={done}", status_code=303)


# -- an organisation's lists ------------------------------------------------------------------


def _own(request: Request, actor: Actor) -> dict[str, Any]:
    """The organisation, its counts and rows (filtered by ``result``) for its user."""
    result = request.query_params.get("result") or None
    with platform_of(request).sessions() as s:
        org_id = orgs.member_of(s, actor)
        if org_id is None:
            raise rule_error("organisation", "no_organisation", "Tài khoản không thuộc tổ chức nào",
                             "the account speaks for no organisation", status=403)  # fmt: skip
        org = orgs.organisation_view(orgs.get_organisation(s, actor, org_id))
        counts = regs.result_counts(s, actor, org_id)
        rows = [regs.source_view(r) for r in
                regs.list_rows(s, actor, org_id, result=result, limit=SHOWN)]  # fmt: skip
    return {"org": org, "counts": counts, "rows": rows, "result": result or ""}


async def _org_page(
    request: Request, actor: Actor, problems: list[FieldProblem] | None = None, status: int = 200
) -> Response:
    ctx = await run_in_threadpool(_own, request, actor)
    q = request.query_params
    ctx |= {"problems": problems or [], "done": q.get("done", ""), "summary": q.get("summary", "")}
    ctx["columns"] = list(upload.ROW_COLUMNS)
    return pages.render(request, "registration/organisation.html", ctx, actor=actor, status=status)


@router.get("/organisation")
async def organisation_page(request: Request, actor: WebActor) -> Response:
    require_role(actor, Role.ORGANISATION)
    try:
        return await _org_page(request, actor)
    except ServiceError as exc:
        return pages.render(request, "forbidden.html", {"fragment": False}, actor=actor,
                            status=exc.status)  # fmt: skip


def _done(what: str, summary: str = "") -> RedirectResponse:
    query = urlencode({"done": what, "summary": summary})
    return RedirectResponse(f"/organisation?{query}#rows", status_code=303)


@router.post("/organisation/upload", dependencies=[Csrf])
async def upload_list(request: Request, actor: WebActor, file: UploadFile) -> Response:
    """Check the uploaded list against the register; every row is stored with its result."""
    require_role(actor, Role.ORGANISATION)
    platform = platform_of(request)
    data = await file.read(MAX_UPLOAD + 1)
    suffix = Path(file.filename or "").suffix.lower()
    if not data or len(data) > MAX_UPLOAD or suffix not in SUFFIXES:
        exc = rule_error(
            "file",
            "bad_file",
            "Chọn tệp .xlsx hoặc .csv (tối đa 40 MB)",
            "choose an .xlsx or .csv file (at most 40 MB)",
            status=413 if len(data) > MAX_UPLOAD else 422,
        )
        return await _org_page(request, actor, exc.problems, exc.status)

    def job() -> upload.ImportSummary:
        with platform.sessions() as s:
            org_id = orgs.member_of(s, actor)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"list{suffix}"
            path.write_bytes(data)
            return upload.import_list(platform.sessions, actor, org_id or 0, path)

    try:
        summary = await run_in_threadpool(job)
    except upload.LegacyFileError as exc:
        text = str(exc)
        problem = FieldProblem("file", "unreadable", text, text)
        return await _org_page(request, actor, [problem], 422)
    except ServiceError as exc:
        return await _org_page(request, actor, exc.problems, exc.status)
    counts = " ".join(f"{k}:{v}" for k, v in sorted(summary.counts.items()))
    return _done("uploaded", f"{summary.rows} {counts}")


@router.post("/organisation/rows/{source_id}/withdraw", dependencies=[Csrf])
async def withdraw(request: Request, actor: WebActor, source_id: RowId) -> Response:
    require_role(actor, Role.ORGANISATION)
    try:
        await run_in_threadpool(
            platform_of(request).in_transaction, lambda s: regs.withdraw_row(s, actor, source_id)
        )
    except ServiceError as exc:
        return await _org_page(request, actor, exc.problems, exc.status)
    return _done("withdrawn")


@router.post("/organisation/rows/{source_id}/fix", dependencies=[Csrf])
async def fix(request: Request, actor: WebActor, source_id: RowId) -> Response:
    require_role(actor, Role.ORGANISATION)
    form = await request.form()
    changes = {k: str(form.get(k) or "").strip()[:200] for k in upload.ROW_COLUMNS if k in form}

    def job(s: Session) -> str:
        return regs.fix_row(s, actor, source_id, changes).result

    try:
        result = await run_in_threadpool(platform_of(request).in_transaction, job)
    except ServiceError as exc:
        return await _org_page(request, actor, exc.problems, exc.status)
    return _done("fixed", result)


# -- a person registers themselves -------------------------------------------------------------


def _groups(request: Request) -> list[Any]:
    with platform_of(request).sessions() as s:
        return priority.list_priority_groups(s, active_only=True)


async def _self_page(
    request: Request, step: str, ctx: dict[str, Any], status: int = 200
) -> Response:
    base = {"typed": {}, "problems": [], "step": step}
    base["groups"] = await run_in_threadpool(_groups, request)
    return pages.render(request, "registration/self.html", base | ctx, status=status)


@router.get("/register")
async def self_form(request: Request) -> Response:
    return await _self_page(request, "form", {})


@router.post("/register", dependencies=[Csrf])
async def self_start(request: Request) -> Response:
    """Check the form and send the one-time code by SMS."""
    platform = platform_of(request)
    form = await request.form()
    typed = {k: str(form.get(k) or "")[:200] for k in selfreg.FORM_FIELDS}
    typed["underlying_condition"] = "có" if form.get("underlying_condition") else ""
    ip = _client(request)

    def job(s: Session) -> selfreg.Started:
        return selfreg.start(s, typed, ip=ip, secret=platform.token_secret)

    try:
        started = await run_in_threadpool(platform.in_transaction, job)
    except ServiceError as exc:
        return await _self_page(request, "form", {"typed": typed, "problems": exc.problems},
                                exc.status)  # fmt: skip
    masked = started.phone[:3] + "****" + started.phone[-3:]
    return await _self_page(request, "code", {"code_id": started.code_id, "phone": masked})


@router.post("/register/confirm", dependencies=[Csrf])
async def self_confirm(
    request: Request,
    code_id: int = Form(0, ge=0, le=2**62),
    code: str = Form("", max_length=20),
    phone: str = Form("", max_length=20),
) -> Response:
    """Take the code back: the person is registered (or the page says why not)."""
    platform = platform_of(request)

    def job(s: Session) -> regs.RowResult:
        return selfreg.confirm(s, code_id, code, secret=platform.token_secret)

    try:
        result = await run_in_threadpool(platform.in_transaction, job)
    except ServiceError as exc:
        ctx = {"code_id": code_id, "phone": phone, "problems": exc.problems}
        return await _self_page(request, "code", ctx, exc.status)
    return await _self_page(request, "done", {"result": result})
