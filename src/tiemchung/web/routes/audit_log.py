"""The audit log page (province and central): search by user, person, action and days, a
page at a time (keyset: older events by ``before``), and the same search as CSV.

The same service as ``GET /api/v1/audit`` (:mod:`tiemchung.auth.auditlog`): it scopes the
events to the caller's area and audits the search itself. A wrong filter (a day typed wrong,
a range backwards) is said on the page with what was typed kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from tiemchung.auth import auditlog
from tiemchung.auth.admin import ADMIN_ROLES
from tiemchung.registry.errors import FieldProblem, ServiceError
from tiemchung.serving.downloads import content_disposition
from tiemchung.web import pages
from tiemchung.web.guard import WebActor, platform_of, require_role

router = APIRouter(include_in_schema=False)
KEYS = ("user", "person", "action", "from", "to")
PAGE = 50
_LABEL = {"from": ("Từ ngày", "From"), "to": ("Đến ngày", "To")}


def _typed(request: Request) -> dict[str, str]:
    return {k: request.query_params.get(k, "").strip()[:80] for k in KEYS}


def _query(typed: dict[str, str]) -> auditlog.AuditQuery:
    """The search the form asks for; a 422 naming every field typed wrong."""
    problems: list[FieldProblem] = []
    days: dict[str, date | None] = {}
    for key in ("from", "to"):
        try:
            days[key] = date.fromisoformat(typed[key]) if typed[key] else None
        except ValueError:
            vi, en = _LABEL[key]
            days[key] = None
            problems.append(
                FieldProblem(
                    key,
                    "date",
                    f"{vi}: '{typed[key]}' không phải ngày (năm-tháng-ngày)",
                    f"{en}: '{typed[key]}' is not a date (year-month-day)",
                )
            )
    if problems:
        raise ServiceError(422, "Rule violated / Vi phạm quy tắc", problems)
    return auditlog.AuditQuery(
        typed["user"] or None,
        typed["person"] or None,
        typed["action"] or None,
        days["from"],
        days["to"],
    )


@router.get("/audit")
async def audit_page(request: Request, actor: WebActor) -> Response:
    require_role(actor, *ADMIN_ROLES)
    platform = platform_of(request)
    typed = _typed(request)
    before_text = request.query_params.get("before", "")
    before = int(before_text) if before_text.isdigit() and len(before_text) < 16 else None
    ctx: dict[str, Any] = {"typed": typed, "events": [], "problems": [], "older": None}
    filters = urlencode({k: v for k, v in typed.items() if v})
    ctx["csv"] = "/audit.csv" + (f"?{filters}" if filters else "")
    try:
        q = _query(typed)
        items, next_before = await run_in_threadpool(
            platform.in_transaction,
            lambda s: auditlog.search_audit(s, actor, q, tz=platform.tz, before=before, limit=PAGE),
        )
    except ServiceError as exc:
        ctx["problems"] = exc.problems
        return pages.render(request, "admin/audit.html", ctx, actor=actor, status=exc.status)
    ctx["events"] = items
    if next_before is not None:
        ctx["older"] = "/audit?" + urlencode(
            {**{k: v for k, v in typed.items() if v}, "before": next_before}
        )
    return pages.render(request, "admin/audit.html", ctx, actor=actor)


@router.get("/audit.csv")
async def audit_csv(request: Request, actor: WebActor) -> Response:
    """Every event the search finds, as CSV (the export is audited first)."""
    require_role(actor, *ADMIN_ROLES)
    platform = platform_of(request)
    q = _query(_typed(request))
    await run_in_threadpool(platform.in_transaction, lambda s: auditlog.start_export(s, actor, q))

    def rows() -> Iterator[str]:
        with platform.sessions() as s:
            yield from auditlog.export_csv(s, actor, q, tz=platform.tz)

    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": content_disposition("audit.csv"), **pages.SECURITY_HEADERS},
    )
