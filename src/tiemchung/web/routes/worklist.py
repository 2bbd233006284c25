"""The commune worklist (commune role; province and central may look at a ward they cover).

Thin over :mod:`tiemchung.registry.review.worklists` (reads), ``review.decisions`` (decisions)
and ``review.xlsx`` (the spreadsheet round trip), exactly as the API's
``/api/v1/worklist`` routes are: the same :class:`~tiemchung.registry.scope.Actor`, so a
commune sees only its ward's items and another ward's item answers 404; reads are audited
(``review_item.read``, ``review_item.export``) and decisions go through the platform's writer.

The list (filters, progress counter, checkboxes for bulk accept) and an item's page (record and
register candidates side by side, the explanation in words, accept / reject / edit; in
:mod:`~tiemchung.web.routes.worklist_item`) post through htmx; after a decision the browser
goes to the ward's next open item. A decision someone else made first (409) is shown as a
message with a link onwards, never as an error page. The xlsx export and re-import are plain
downloads and uploads; the import's report (a summary by reason, the first rows) is shown on
the page and the full list can be downloaded as a spreadsheet (rebuilt from the report the
page carries, signed, so any server process can answer it).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from tiemchung.auth.tokens import sign_blob, verify_blob
from tiemchung.registry.errors import ServiceError, rule_error
from tiemchung.registry.review import decisions as wd
from tiemchung.registry.review import xlsx as wx
from tiemchung.serving.downloads import content_disposition
from tiemchung.serving.types import Offset, RowId
from tiemchung.web import pages
from tiemchung.web.guard import Csrf, WebActor, is_htmx, platform_of, require_role
from tiemchung.web.routes import worklist_item
from tiemchung.web.routes.worklist_common import (
    ROLES,
    _filters,
    _flash,
    _list_response,
    _problems,
)

router = APIRouter(include_in_schema=False)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD = 10 * 1024 * 1024
#: Rows of an import's report listed on the page (all are in the downloadable report).
SHOWN_ROWS = 50


@router.get("/worklist")
async def worklist(
    request: Request,
    actor: WebActor,
    ward: str | None = None,
    status: str | None = None,
    kind: str | None = None,
    field: str | None = None,
    q: str | None = None,
    offset: Offset = 0,
    done: RowId | None = None,
    outcome: str | None = None,
    dose: str | None = None,
    person: str | None = None,
    done_kind: str | None = None,
    ticket: str | None = None,
) -> Response:
    """The ward's items with filters and the progress counter; htmx asks for the list only."""
    require_role(actor, *ROLES)
    f = _filters(ward, status, kind, field, q)
    template = "worklist/_list.html" if is_htmx(request) else "worklist/page.html"
    flash = _flash(done, outcome, dose, person, kind=done_kind, ticket=ticket)
    return await _list_response(
        request, actor, f, offset, template=template, extra={"flash": flash}
    )


@router.post("/worklist/bulk-accept", dependencies=[Csrf])
async def bulk_accept(request: Request, actor: WebActor) -> Response:
    """Accept the ticked items' best candidates; each item gets its own answer."""
    require_role(actor, *ROLES)
    platform = platform_of(request)
    form = await request.form()
    f = _filters(*(str(form.get(k) or "") for k in ("ward", "status", "kind", "field", "q")))
    ids: list[int] = []
    bad: list[str] = []
    for raw in form.getlist("ids"):
        text = str(raw).strip()
        if text.isdigit():
            ids.append(int(text))
        else:
            bad.append(text[:20])
    if bad or not ids:
        exc = rule_error(
            "ids",
            "invalid_selection",
            "Chọn ít nhất một mục (ô đánh dấu ở đầu dòng)"
            if not bad
            else f"Mã mục không hợp lệ: {', '.join(bad)}",
            "tick at least one item (the box at the start of its row)"
            if not bad
            else f"invalid item ids: {', '.join(bad)}",
        )
        return await _list_response(
            request,
            actor,
            f,
            0,
            template="worklist/_list.html",
            extra={"error": _problems(exc, pages.lang_of(request))},
            status=422,
        )
    results = await platform.write(lambda s: wd.bulk_accept(s, actor, ids))
    lang = pages.lang_of(request)
    failed = [
        {"id": r["id"], "text": _problem_text(r["problem"], lang)}
        for r in results
        if r["status"] != 200
    ]
    bulk = {"accepted": sum(r["status"] == 200 for r in results), "failed": failed}
    return await _list_response(
        request, actor, f, 0, template="worklist/_list.html", extra={"bulk": bulk}
    )


def _problem_text(problem: dict[str, Any] | None, lang: str) -> str:
    """One line from a bulk result's problem (its messages carry both languages)."""
    if not problem:
        return ""
    parts = []
    for e in problem.get("errors") or []:
        vi, en = str(e.get("message_vi", "")), str(e.get("message_en", ""))
        parts.append(en if lang == "en" and en else vi)
    return "; ".join(parts) or str(problem.get("title", ""))


# -- the spreadsheet round trip ---------------------------------------------------------------
@router.get("/worklist/export.xlsx")
async def export(
    request: Request,
    actor: WebActor,
    ward: str | None = None,
    kind: str | None = None,
    status: str | None = None,
) -> Response:
    """The open items as a spreadsheet to decide offline (the API's export); a bad filter
    is shown next to it on the list page."""
    require_role(actor, *ROLES)
    platform = platform_of(request)
    f = _filters(ward, status, kind, None, None)

    def read() -> tuple[bytes, list[int]]:
        with platform.sessions() as session:
            return wx.export_workbook(
                session,
                actor,
                f.get("ward"),
                platform.settings.timezone,
                kind=f.get("kind"),
                status=f.get("status"),
            )

    ward_code = f.get("ward")
    try:
        data, ids = await run_in_threadpool(read)
    except ServiceError as exc:
        return await _list_response(
            request,
            actor,
            f,
            0,
            template="worklist/page.html",
            extra={"error": _problems(exc, pages.lang_of(request))},
            status=exc.status,
        )
    await platform.audit_read(actor, "review_item.export", "review_item", [str(i) for i in ids])
    kind = f.get("kind")
    name = f"worklist-{ward_code or actor.ward_code or 'all'}{f'-{kind}' if kind else ''}.xlsx"
    return Response(
        data,
        media_type=XLSX,
        headers={
            "Content-Disposition": content_disposition(name),
            "Cache-Control": "no-store",
        },
    )


#: what the import report's signature is for (auth.tokens.sign_blob)
REPORT_PURPOSE = "import-report"


@router.post("/worklist/import", dependencies=[Csrf])
async def import_sheet(request: Request, actor: WebActor, file: UploadFile) -> Response:
    """Apply the decisions typed into an export; the per-row report is shown on the page."""
    require_role(actor, *ROLES)
    platform = platform_of(request)
    lang = pages.lang_of(request)
    data = await file.read(MAX_UPLOAD + 1)
    ctx: dict[str, Any] = {"filename": file.filename or "", "report": None, "error": None}
    if len(data) > MAX_UPLOAD or not data:
        exc = rule_error(
            "file",
            "too_large" if data else "empty",
            f"Tệp tối đa {MAX_UPLOAD // 1024 // 1024} MB"
            if data
            else "Chưa chọn tệp hoặc tệp rỗng",
            f"the file is at most {MAX_UPLOAD // 1024 // 1024} MB"
            if data
            else "no file chosen, or it is empty",
            status=413 if data else 422,
        )
        ctx["error"] = _problems(exc, lang)
        return pages.render(request, "worklist/import.html", ctx, actor=actor, status=exc.status)
    try:
        report = await platform.write(lambda s: wx.import_workbook(s, actor, data))
    except ServiceError as exc:  # not a workbook, no worklist sheet, too many rows, …
        ctx["error"] = _problems(exc, lang)
        return pages.render(request, "worklist/import.html", ctx, actor=actor, status=exc.status)
    rows = report.as_dict()["rows"]
    payload = json.dumps(rows, ensure_ascii=False, separators=(",", ":"), default=str)
    # the page lists the rows that need action (failed), up to SHOWN_ROWS; the skipped ones
    # (no decision typed: nothing to fix) are summed up above and folded away below; every
    # row, with its reason, is in the downloadable report
    failed = [r for r in rows if r["outcome"] == "failed"]
    skipped = [r for r in rows if r["outcome"] == "skipped"]
    ctx |= {
        "report": report,
        "summary": report.by_reason(),
        "rows": [_row_words(r, lang) for r in failed[:SHOWN_ROWS]],
        "more_rows": max(0, len(failed) - SHOWN_ROWS),
        "skipped_rows": [_row_words(r, lang) for r in skipped[:SHOWN_ROWS]],
        "more_skipped": max(0, len(skipped) - SHOWN_ROWS),
        "payload": payload,
        "signature": sign_blob(platform.token_secret, REPORT_PURPOSE, payload),
    }
    return pages.render(request, "worklist/import.html", ctx, actor=actor)


def _row_words(row: dict[str, Any], lang: str) -> dict[str, Any]:
    """A report row with its reason in the page's language."""
    vi, en = row.get("message_vi") or "", row.get("message_en") or ""
    return row | {"text": (en if lang == "en" and en else vi) or row.get("message") or ""}


@router.post("/worklist/import/report.xlsx", dependencies=[Csrf])
async def import_report(
    request: Request,
    actor: WebActor,
    payload: str = Form(..., max_length=8_000_000),
    signature: str = Form(..., max_length=64),
) -> Response:
    """The import report shown on the page, as a spreadsheet (the page's own signed copy)."""
    require_role(actor, *ROLES)
    platform = platform_of(request)
    if not verify_blob(platform.token_secret, REPORT_PURPOSE, payload, signature):
        return pages.render(request, "csrf.html", {"next": "/worklist"}, actor=actor, status=403)
    report = wx.ImportReport([wx.RowOutcome(**r) for r in json.loads(payload)])
    data = await run_in_threadpool(wx.report_workbook, report)
    return Response(
        data,
        media_type=XLSX,
        headers={
            "Content-Disposition": content_disposition("worklist-import-report.xlsx"),
            "Cache-Control": "no-store",
        },
    )


# the item routes come after the fixed paths above (/worklist/export.xlsx is not an item id)
router.include_router(worklist_item.router)
