"""The commune worklist (commune role; province and central may look at a ward they cover).

Thin over :mod:`tiemchung.registry.worklists` (and ``worklist_xlsx``), exactly as the API's
``/api/v1/worklist`` routes are: the same :class:`~tiemchung.registry.scope.Actor`, so a
commune sees only its ward's items and another ward's item answers 404; reads are audited
(``review_item.read``, ``review_item.export``) and decisions go through the platform's writer.

The list (filters, progress counter, checkboxes for bulk accept) and an item's page (record and
register candidates side by side, the explanation in words, accept / reject / edit) post
through htmx; after a decision the browser goes to the ward's next open item. A decision
someone else made first (409) is shown as a message with a link onwards, never as an error
page. The xlsx export and re-import are plain downloads and uploads; the import's per-row
report is shown on the page and can be downloaded as a spreadsheet (rebuilt from the report
the page carries, signed, so any server process can answer it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from tiemchung.api.downloads import content_disposition
from tiemchung.api.types import Offset, RowId
from tiemchung.core import Platform
from tiemchung.registry import worklist_xlsx as wx
from tiemchung.registry import worklists as wl
from tiemchung.registry.corrections import CORRECTABLE
from tiemchung.registry.errors import ServiceError, rule_error
from tiemchung.registry.models import ReviewItem
from tiemchung.registry.scope import Actor, Role
from tiemchung.registry.worklist_explain import COMPARED, FIELD_LABELS
from tiemchung.web import desk, pages
from tiemchung.web.guard import Csrf, WebActor, is_htmx, platform_of, require_role

router = APIRouter(include_in_schema=False)
ROLES = (Role.COMMUNE, Role.PROVINCE, Role.CENTRAL)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD = 10 * 1024 * 1024
PAGE = 50
#: What a decision's flash message may say (the outcome travels in the next page's URL).
OUTCOMES = ("accepted", "rejected", "edited")
#: Fields an edit offers, in the order a reviewer reads them.
EDITABLE = tuple(f for f in COMPARED if f in CORRECTABLE)


# -- helpers ----------------------------------------------------------------------------------
def _filters(
    ward: str | None, status: str | None, kind: str | None, field: str | None, q: str | None
) -> dict[str, str]:
    """The list's filters as typed (empty ones dropped), to carry in links and forms."""
    raw = {"ward": ward, "status": status, "kind": kind, "field": field, "q": q}
    return {k: v.strip()[:100] for k, v in raw.items() if v and v.strip()}


def _query(f: dict[str, str], offset: int = 0) -> wl.WorklistQuery:
    status = f.get("status", wl.OPEN)
    return wl.WorklistQuery(
        ward_code=f.get("ward"),
        status=None if status == "all" else status,
        kind=f.get("kind"),
        field=f.get("field"),
        q=f.get("q"),
        limit=PAGE,
        offset=max(0, offset),
    )


def _names(platform: Platform) -> dict[str, Any]:
    """Lookups every worklist template uses."""

    def ward_name(code: str | None) -> str:
        found = platform.catalog.ward(code or "")
        return f"{found.name} ({code})" if found is not None else (code or "")

    def site_name(site_id: str | None) -> str:
        found = platform.catalog.site(site_id or "")
        return str(found.name) if found is not None else (site_id or "")

    def product_name(code: str | None) -> str:
        found = platform.catalog.product(code or "")
        return str(found.name) if found is not None else (code or "")

    return {
        "ward_name": ward_name,
        "site_name": site_name,
        "product_name": product_name,
        "field_labels": FIELD_LABELS,
        "statuses": wl.STATUSES,
        "kinds": wl.KINDS,
        "compared": COMPARED,
        "editable": EDITABLE,
    }


def _wards(session: Any, actor: Actor) -> list[str]:
    """The wards with items the caller may see (a province's or central's ward choice)."""
    if actor.role is Role.COMMUNE:
        return [actor.ward_code or ""]
    return list(
        session.scalars(
            select(ReviewItem.ward_code)
            .where(wl.item_filter(actor))
            .distinct()
            .order_by(ReviewItem.ward_code)
        )
    )


def _next_open(session: Any, actor: Actor, after: int, ward_code: str | None) -> int | None:
    """The ward's next open item after ``after`` (wrapping to its first), within the caller's
    area: where a reviewer goes once an item is decided."""
    where = [wl.item_filter(actor), ReviewItem.status == wl.OPEN, ReviewItem.id != after]
    if ward_code:
        where.append(ReviewItem.ward_code == ward_code)
    later = session.scalar(
        select(ReviewItem.id).where(*where, ReviewItem.id > after).order_by(ReviewItem.id).limit(1)
    )
    if later is not None:
        return int(later)
    first = session.scalar(select(ReviewItem.id).where(*where).order_by(ReviewItem.id).limit(1))
    return int(first) if first is not None else None


def _neighbours(session: Any, actor: Actor, item_id: int, ward_code: str) -> dict[str, Any]:
    """The previous and next open items of the same ward (j/k on the item page)."""
    base = [
        wl.item_filter(actor),
        ReviewItem.status == wl.OPEN,
        ReviewItem.ward_code == ward_code,
    ]
    prev = session.scalar(
        select(ReviewItem.id)
        .where(*base, ReviewItem.id < item_id)
        .order_by(ReviewItem.id.desc())
        .limit(1)
    )
    nxt = session.scalar(
        select(ReviewItem.id).where(*base, ReviewItem.id > item_id).order_by(ReviewItem.id).limit(1)
    )
    return {"prev_id": prev, "next_id": nxt}


def _problems(exc: ServiceError, lang: str) -> list[desk.Problem]:
    return desk.problems_of(exc, lang)


# -- the list ---------------------------------------------------------------------------------
def _list_context(
    platform: Platform, actor: Actor, f: dict[str, str], offset: int
) -> dict[str, Any]:
    with platform.sessions() as session:
        page = wl.list_items(session, actor, _query(f, offset))
        wards = _wards(session, actor)
    decided = sum(page.counts.get(s, 0) for s in wl.DECIDED)
    total = sum(page.counts.values())
    return {
        "page": page,
        "filters": f,
        "wards": wards,
        "decided": decided,
        "all_items": total,
        "offset": page.offset,
        "prev_offset": max(0, page.offset - PAGE) if page.offset else None,
        "next_offset": page.offset + PAGE if page.offset + PAGE < page.total else None,
        "query": urlencode(f),
    }


async def _list_response(
    request: Request,
    actor: Actor,
    f: dict[str, str],
    offset: int,
    *,
    template: str,
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    platform = platform_of(request)
    base = {"filters": f, "error": None, "bulk": None} | _names(platform) | (extra or {})
    try:
        ctx = await run_in_threadpool(_list_context, platform, actor, f, offset)
    except ServiceError as exc:  # a filter outside the caller's area or not a choice
        return pages.render(
            request,
            template,
            base | {"page": None, "error": _problems(exc, pages.lang_of(request)), "wards": []},
            actor=actor,
            status=exc.status,
        )
    await platform.audit_read(
        actor, "review_item.read", "review_item", [str(x["id"]) for x in ctx["page"].items]
    )
    return pages.render(request, template, base | ctx, actor=actor, status=status)


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
) -> Response:
    """The ward's items with filters and the progress counter; htmx asks for the list only."""
    require_role(actor, *ROLES)
    f = _filters(ward, status, kind, field, q)
    template = "worklist/_list.html" if is_htmx(request) else "worklist/page.html"
    flash = {"id": done, "outcome": outcome} if done and outcome in OUTCOMES else None
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
    results = await platform.write(lambda s: wl.bulk_accept(s, actor, ids))
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
        vi, _, en = str(e.get("message", "")).partition(" / ")
        parts.append(en if lang == "en" and en else vi)
    return "; ".join(parts) or str(problem.get("title", ""))


# -- the spreadsheet round trip ---------------------------------------------------------------
@router.get("/worklist/export.xlsx")
async def export(request: Request, actor: WebActor, ward: str | None = None) -> Response:
    """The open items as a spreadsheet to decide offline (the API's export)."""
    require_role(actor, *ROLES)
    platform = platform_of(request)
    ward_code = (ward or "").strip() or None

    def read() -> tuple[bytes, list[int]]:
        with platform.sessions() as session:
            return wx.export_workbook(session, actor, ward_code)

    try:
        data, ids = await run_in_threadpool(read)
    except ServiceError as exc:
        return await _list_response(
            request,
            actor,
            {},
            0,
            template="worklist/page.html",
            extra={"error": _problems(exc, pages.lang_of(request))},
            status=exc.status,
        )
    await platform.audit_read(actor, "review_item.export", "review_item", [str(i) for i in ids])
    name = f"worklist-{ward_code or actor.ward_code or 'all'}.xlsx"
    return Response(
        data,
        media_type=XLSX,
        headers={
            "Content-Disposition": content_disposition(name),
            "Cache-Control": "no-store",
        },
    )


def _sign(secret: bytes, payload: str) -> str:
    return hmac.new(secret, b"import-report|" + payload.encode(), hashlib.sha256).hexdigest()


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
    ctx |= {
        "report": report,
        "rows": [_row_words(r, lang) for r in rows],
        "payload": payload,
        "signature": _sign(platform.token_secret, payload),
    }
    return pages.render(request, "worklist/import.html", ctx, actor=actor)


def _row_words(row: dict[str, Any], lang: str) -> dict[str, Any]:
    vi, _, en = str(row.get("message") or "").partition(" / ")
    return row | {"text": en if lang == "en" and en else vi}


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
    if not hmac.compare_digest(_sign(platform.token_secret, payload), signature):
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


# -- one item ---------------------------------------------------------------------------------
def _item_context(platform: Platform, actor: Actor, item_id: int) -> dict[str, Any]:
    with platform.sessions() as session:
        item = wl.get_item(session, actor, item_id)
        around = _neighbours(session, actor, item_id, item["ward_code"])
    return {"item": item, **around}


@router.get("/worklist/{item_id}")
async def item_page(
    request: Request,
    actor: WebActor,
    item_id: RowId,
    done: RowId | None = None,
    outcome: str | None = None,
) -> Response:
    """One item: the record and its register candidate(s) side by side, and the decision."""
    require_role(actor, *ROLES)
    platform = platform_of(request)
    base = _names(platform) | {"values": {}, "problems": {}, "error": None}
    try:
        ctx = await run_in_threadpool(_item_context, platform, actor, item_id)
    except ServiceError as exc:  # another ward's item, or none: 404 as in the API
        return pages.render(
            request,
            "worklist/missing.html",
            {"problems": _problems(exc, pages.lang_of(request))},
            actor=actor,
            status=exc.status,
        )
    await platform.audit_read(actor, "review_item.read", "review_item", [str(item_id)])
    flash = {"id": done, "outcome": outcome} if done and outcome in OUTCOMES else None
    return pages.render(request, "worklist/item.html", base | ctx | {"flash": flash}, actor=actor)


async def _decide(request: Request, actor: Actor, item_id: int, job: Any) -> Response:
    """Run a decision on the writer; on success go to the ward's next open item, on a refusal
    answer the message (a 409: someone decided first) in the item's decision area."""
    platform = platform_of(request)
    lang = pages.lang_of(request)
    try:
        result = await platform.write(job)
    except ServiceError as exc:

        def around() -> tuple[dict[str, Any] | None, int | None]:
            with platform.sessions() as session:
                try:
                    item = wl.get_item(session, actor, item_id)
                except ServiceError:
                    return None, None
                return item, _next_open(session, actor, item_id, item["ward_code"])

        item, nxt = await run_in_threadpool(around)
        problems = _problems(exc, lang)
        return pages.render(
            request,
            "worklist/_refused.html",
            {
                "status": exc.status,
                "problems": problems,
                "by_field": {p.field: p.text for p in problems},
                "item": item,
                "next_id": nxt,
                "fragment": is_htmx(request),
            },
            actor=actor,
            status=exc.status,
        )

    def following() -> tuple[int | None, str]:
        with platform.sessions() as session:
            ward = session.scalar(select(ReviewItem.ward_code).where(ReviewItem.id == item_id))
            return _next_open(session, actor, item_id, ward), ward or ""

    nxt, ward = await run_in_threadpool(following)
    flash = urlencode({"done": item_id, "outcome": result["status"]})
    if nxt is not None:
        target = f"/worklist/{nxt}?{flash}"
    else:
        keep = {"ward": ward} if actor.role is not Role.COMMUNE else {}
        target = f"/worklist?{urlencode(keep | {'done': item_id, 'outcome': result['status']})}"
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _opt(value: str) -> str | None:
    return value.strip() or None


@router.post("/worklist/{item_id}/accept", dependencies=[Csrf])
async def accept(
    request: Request,
    actor: WebActor,
    item_id: RowId,
    person_id: str = Form("", max_length=40),
    reason: str = Form("", max_length=1000),
) -> Response:
    """This is the person (the best candidate, or the one chosen): link, register values win."""
    require_role(actor, *ROLES)
    pid, why = _opt(person_id), _opt(reason)
    return await _decide(
        request, actor, item_id, lambda s: wl.accept(s, actor, item_id, person_id=pid, reason=why)
    )


@router.post("/worklist/{item_id}/reject", dependencies=[Csrf])
async def reject(
    request: Request,
    actor: WebActor,
    item_id: RowId,
    person_id: str = Form("", max_length=40),
    reason: str = Form("", max_length=1000),
) -> Response:
    """Not this person: another candidate (``person_id``), or not in the register (empty)."""
    require_role(actor, *ROLES)
    pid, why = _opt(person_id), _opt(reason)
    return await _decide(
        request, actor, item_id, lambda s: wl.reject(s, actor, item_id, reason=why, person_id=pid)
    )


@router.post("/worklist/{item_id}/edit", dependencies=[Csrf])
async def edit(request: Request, actor: WebActor, item_id: RowId) -> Response:
    """Correct the record's fields by hand, with a reason. Only the fields whose value was
    changed from the record's (as the form showed it) are sent as corrections."""
    require_role(actor, *ROLES)
    form = await request.form()
    fields: dict[str, str | None] = {}
    for f in EDITABLE:
        typed = str(form.get(f"field_{f}") or "")[:200]
        shown = str(form.get(f"shown_{f}") or "")[:200]
        if typed.strip() != shown.strip():
            fields[f] = typed
    why = _opt(str(form.get("reason") or "")[:1000])
    return await _decide(
        request,
        actor,
        item_id,
        lambda s: wl.edit(s, actor, item_id, fields=fields, reason=why),
    )
