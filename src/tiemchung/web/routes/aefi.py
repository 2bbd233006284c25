"""The AEFI pages: the report form a site opens at the desk right after a dose (or later
with the dose's number), and the list and counts of the user's area with each lot's cluster
flag — thin over ``registry/aefi/`` (the API's ``/aefi`` routes and the CLI's ``tiemchung
aefi`` call the same functions)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from tiemchung.registry.aefi import reports, signals
from tiemchung.registry.errors import FieldProblem, ServiceError
from tiemchung.registry.scope import Role
from tiemchung.serving.downloads import file_response
from tiemchung.serving.types import RowId
from tiemchung.web import pages
from tiemchung.web.guard import Csrf, WebActor, platform_of, require_role

router = APIRouter(include_in_schema=False)
_CODES = {
    "symptom_codes": reports.SYMPTOMS,
    "seriousness_codes": reports.SERIOUSNESS,
    "outcome_codes": reports.OUTCOMES,
}


def _day(text: str, field: str) -> tuple[date | None, list[FieldProblem]]:
    if not text:
        return None, []
    try:
        return date.fromisoformat(text), []
    except ValueError:
        return None, [
            FieldProblem(field, "format", f"Ngày không hợp lệ: {text}", f"not a date: {text}")
        ]


def _input(form: dict[str, Any], tz: Any) -> tuple[reports.AefiInput | None, list[FieldProblem]]:
    """The typed form as the service's input, or what cannot even be read (dates, times)."""
    problems: list[FieldProblem] = []
    day, bad = _day(form.get("onset_date", ""), "onset_at")
    problems += bad
    if day is None and not bad:
        problems.append(
            FieldProblem("onset_at", "required", "Chưa có ngày khởi phát", "no onset date")
        )
    try:
        at = time.fromisoformat(form.get("onset_time") or "00:00")
    except ValueError:
        problems.append(
            FieldProblem("onset_at", "format", "Giờ không hợp lệ (HH:MM)", "not a time (HH:MM)")
        )
        at = time()
    death, bad = _day(form.get("death_date", ""), "death_date")
    problems += bad
    if problems or day is None:
        return None, problems
    return reports.AefiInput(
        onset_at=datetime.combine(day, at, tz),
        symptoms=form.get("symptoms", []),
        symptoms_other=form.get("symptoms_other"),
        seriousness=form.get("seriousness", []),
        outcome=form.get("outcome") or "unknown",
        death_date=death,
        reporter_name=form.get("reporter_name", ""),
        reporter_role=form.get("reporter_role"),
        reporter_contact=form.get("reporter_contact"),
        notes=form.get("notes"),
    ), []


async def _form(request: Request) -> dict[str, Any]:
    raw = await request.form()
    out: dict[str, Any] = {k: str(v)[:4000] for k, v in raw.items()}
    out["symptoms"] = [str(v) for v in raw.getlist("symptoms")][:10]
    out["seriousness"] = [str(v) for v in raw.getlist("seriousness")][:5]
    return out


def _form_page(
    request: Request, actor: Any, form: dict[str, Any], problems: list[FieldProblem], status: int
) -> Response:
    by_field: dict[str, list[FieldProblem]] = {}
    for p in problems:
        by_field.setdefault(p.field, []).append(p)
    ctx = _CODES | {
        "form": form,
        "problems": problems,
        "by_field": by_field,
        "action": f"/aefi/{form['id']}/edit" if form.get("id") else "/aefi/new",
    }
    return pages.render(request, "aefi/form.html", ctx, actor=actor, status=status)


@router.get("/aefi/new")
async def new_report(request: Request, actor: WebActor) -> Response:
    """The empty form for a dose of the site (its number from the desk's recorded dose)."""
    require_role(actor, Role.SITE)
    platform = platform_of(request)
    now = datetime.now(platform.tz)
    form = {
        "dose_id": request.query_params.get("dose_id", "")[:20],
        "onset_date": now.date().isoformat(),
        "onset_time": now.strftime("%H:%M"),
        "symptoms": [],
        "seriousness": [],
        "outcome": "recovering",
    }
    return _form_page(request, actor, form, [], 200)


@router.post("/aefi/new", dependencies=[Csrf])
async def record_report(request: Request, actor: WebActor) -> Response:
    """Record the report (the same service as ``POST /api/v1/aefi``); on a refusal the form
    comes back as typed with each problem beside its field."""
    require_role(actor, Role.SITE)
    platform = platform_of(request)
    form = await _form(request)
    data, problems = _input(form, platform.tz)
    dose_id = form.get("dose_id", "")
    if not dose_id.isdigit() or len(dose_id) > 18:
        problems.append(
            FieldProblem(
                "dose_id", "format", "Mã mũi tiêm phải là một số", "the dose id is a number"
            )
        )
    if problems or data is None:
        return _form_page(request, actor, form, problems, 422)
    today, tz = platform.today(), platform.tz
    try:
        report = await platform.write(
            lambda s: reports.record_report(s, actor, int(dose_id), data, today=today, tz=tz)
        )
    except ServiceError as exc:
        return _form_page(request, actor, form, exc.problems, exc.status)
    return RedirectResponse(f"/aefi?recorded={report.id}", status_code=303)


@router.get("/aefi/{report_id}/edit")
async def edit_report(request: Request, actor: WebActor, report_id: RowId) -> Response:
    """The form filled with a report of the site, to correct it."""
    require_role(actor, Role.SITE)
    platform = platform_of(request)

    def read() -> dict[str, Any]:
        with platform.sessions() as s:
            r = reports.get_report(s, actor, report_id)
            (row,) = signals.reports_with_flags(s, [r], platform.tz)
        onset: datetime = row["onset_at"]
        return row | {
            "onset_date": onset.date().isoformat(),
            "onset_time": onset.strftime("%H:%M"),
            "death_date": row["death_date"].isoformat() if row["death_date"] else "",
        }

    try:
        form = await run_in_threadpool(read)
    except ServiceError as exc:
        return _form_page(request, actor, {"symptoms": [], "seriousness": []}, exc.problems, 404)
    return _form_page(request, actor, form, [], 200)


@router.post("/aefi/{report_id}/edit", dependencies=[Csrf])
async def correct_report(request: Request, actor: WebActor, report_id: RowId) -> Response:
    """Store the corrected form (the same service as ``PATCH /api/v1/aefi/{id}``): what
    changed, with its value before, goes to the audit log."""
    require_role(actor, Role.SITE)
    platform = platform_of(request)
    form = await _form(request) | {"id": report_id}
    data, problems = _input(form, platform.tz)
    if problems or data is None:
        return _form_page(request, actor, form, problems, 422)
    today, tz, changes = platform.today(), platform.tz, asdict(data)
    try:
        await platform.write(
            lambda s: reports.correct_report(s, actor, report_id, changes, today=today, tz=tz)
        )
    except ServiceError as exc:
        return _form_page(request, actor, form, exc.problems, exc.status)
    return RedirectResponse(f"/aefi?recorded={report_id}", status_code=303)


def _query(request: Request) -> reports.AefiQuery:
    p = request.query_params
    since, _ = _day(p.get("from", ""), "from")
    until, _ = _day(p.get("to", ""), "to")
    serious = {"serious": True, "non_serious": False}.get(p.get("seriousness", ""))
    return reports.AefiQuery(since=since, until=until, serious=serious)


@router.get("/aefi")
async def aefi_page(request: Request, actor: WebActor) -> Response:
    """The reports of the area, newest first (the first 100), and the counts by product and
    lot with the flagged lots marked."""
    require_role(actor, *reports.READERS)
    platform = platform_of(request)
    q, tz = _query(request), platform.tz
    rule = signals.rule_from(platform.settings)

    def read() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        with platform.sessions() as s:
            items, _ = reports.list_reports(s, actor, q, tz=tz, limit=100)
            rows = signals.reports_with_flags(s, items, tz, rule)
            counts = [r.as_dict() for r in signals.summarise(s, actor, q, tz=tz, rule=rule)]
        return rows, counts

    rows, counts = await run_in_threadpool(read)
    ctx = _CODES | {
        "rows": rows,
        "counts": counts,
        "rule": rule,
        "recorded": request.query_params.get("recorded", ""),
        "q": request.query_params,
    }
    return pages.render(request, "aefi/page.html", ctx, actor=actor)


@router.get("/aefi/export.csv")
async def aefi_export(request: Request, actor: WebActor) -> Response:
    """Every report the page's filters keep, as CSV."""
    require_role(actor, *reports.READERS)
    platform = platform_of(request)
    q, tz = _query(request), platform.tz
    rule = signals.rule_from(platform.settings)

    def make() -> bytes:
        with platform.sessions() as s:
            items, _ = reports.list_reports(s, actor, q, tz=tz, limit=reports.MAX_EXPORT)
            return reports.export_csv(signals.reports_with_flags(s, items, tz, rule))

    return file_response(await run_in_threadpool(make), reports.CSV_TYPE, "aefi.csv")
