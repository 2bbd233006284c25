"""The dashboard of every health-staff level: coverage, doses per day, recorded vs reported,
data quality, the worklist backlog and the breakdowns by vaccine and sex, from the statistics
snapshot (``tiemchung.stats``), and the area's stock (live). A site sees its own doses and its
ward, a commune its ward (issue 17), a province its province and any of its communes (the
drill-down links), central the country.

One GET page with the filters in the query string, so every view has an address (drill-down
links, the back button, a bookmarked province). The filter form swaps only the figures with
htmx (``HX-Request``), the page works without it. A wrong filter (an unknown ward, a date typed
wrong, a province outside the user's area) is said on the page, in the user's language, with
what was typed kept in the form.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from tiemchung.core import Platform
from tiemchung.registry.errors import RULE_VIOLATED, FieldProblem, ServiceError, rule_error
from tiemchung.registry.scope import Actor
from tiemchung.serving.downloads import file_response
from tiemchung.stats import charts, reads
from tiemchung.stats.ages import AGE_GROUPS
from tiemchung.stats.export import filename, table_file
from tiemchung.stats.filters import STATS_ROLES, Filters
from tiemchung.stats.numbers import fmt
from tiemchung.stats.queries import TABLES
from tiemchung.stats.service import SnapshotPendingError
from tiemchung.web import pages
from tiemchung.web.guard import WebActor, is_htmx, platform_of, require_role

router = APIRouter(include_in_schema=False)
#: rows of the per-site gaps on the page (largest first); the download has them all
SITE_ROWS_SHOWN = 20
FILTER_KEYS = ("province", "ward", "age_group", "date_from", "date_to", "site")


def _typed(request: Request) -> dict[str, str]:
    """The filters as typed (kept in the form whatever happens)."""
    return {k: request.query_params.get(k, "").strip() for k in FILTER_KEYS}


_DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_DATE_LABEL = {"date_from": ("Từ ngày", "From"), "date_to": ("Đến ngày", "To")}


def _day(key: str, text: str) -> date | None:
    """A filter date typed as dd/mm/yyyy (the form) or yyyy-mm-dd (the page's own links)."""
    if not text:
        return None
    m = _DMY.fullmatch(text)
    ymd = (m.group(3), m.group(2), m.group(1)) if m else None
    m = _ISO.fullmatch(text)
    ymd = (m.group(1), m.group(2), m.group(3)) if m else ymd
    try:
        if ymd is None:
            raise ValueError(text)
        return date(int(ymd[0]), int(ymd[1]), int(ymd[2]))
    except ValueError:
        vi, en = _DATE_LABEL[key]
        raise rule_error(
            key,
            "date",
            f"{vi}: '{text}' không phải ngày; gõ ngày/tháng/năm, ví dụ 15/10/2021",
            f"{en}: '{text}' is not a date; type day/month/year, e.g. 15/10/2021",
        ) from None


def _shown(typed: dict[str, str]) -> dict[str, str]:
    """The form's values: dates as dd/mm/yyyy whichever way they came, a wrong one as typed."""
    shown = dict(typed)
    for key in ("date_from", "date_to"):
        try:
            day = _day(key, typed[key])
        except ServiceError:
            continue
        shown[key] = f"{day:%d/%m/%Y}" if day else ""
    return shown


def _parse(typed: dict[str, str]) -> Filters:
    problems: list[FieldProblem] = []
    days: dict[str, date | None] = {}
    for key in ("date_from", "date_to"):
        try:
            days[key] = _day(key, typed[key])
        except ServiceError as exc:
            problems.extend(exc.problems)
    if problems:  # both dates' problems at once, in rule_error's shape
        raise ServiceError(422, RULE_VIOLATED, problems)
    return Filters(
        typed["province"] or None,
        typed["ward"] or None,
        typed["age_group"] or None,
        days["date_from"],
        days["date_to"],
        typed["site"] or None,
    )


def _link(f: Filters, **change: str | None) -> str:
    """The dashboard's address with these filters (drill-down and breadcrumb links)."""
    values = {
        "province": f.province,
        "ward": f.ward,
        "age_group": f.age_group,
        "date_from": f.date_from.isoformat() if f.date_from else None,
        "date_to": f.date_to.isoformat() if f.date_to else None,
        "site": f.site,
    } | change
    q = urlencode({k: v for k, v in values.items() if v})
    return "/dashboard" + (f"?{q}" if q else "")


def _context(platform: Platform, actor: Actor, typed: dict[str, str], lang: str) -> dict[str, Any]:
    today = platform.today()
    ctx: dict[str, Any] = {"typed": _shown(typed), "age_groups": AGE_GROUPS, "problems": []}
    asked: Filters | ServiceError
    try:
        asked = _parse(typed)
    except ServiceError as exc:
        asked = exc
    board = reads.dashboard(platform, actor, asked, today)
    ctx["fresh"] = board.fresh
    if board.error is not None:  # said on the page; the figures of the whole area
        ctx["problems"] = board.error.problems
        ctx["status"] = board.error.status
    data = board.data
    f = data.filters
    ctx["data"] = data
    ctx["filters"] = f
    ctx["bad"] = {p.field for p in ctx["problems"]}
    ctx["provinces"], ctx["wards"] = data.provinces, data.wards
    ctx["province_name"] = data.name_of(f.province)
    ctx["ward_name"] = data.name_of(f.ward)
    ctx["t"] = t = data.tables
    ctx["cards"] = data.cards
    ctx["daily_table"] = data.daily_table
    ctx["stock"] = board.stock
    site_rows = t["recorded_vs_reported_by_site"]
    ctx["site_rows"] = site_rows.rows[:SITE_ROWS_SHOWN]
    ctx["site_rows_more"] = len(site_rows.rows) > SITE_ROWS_SHOWN or site_rows.truncated
    ctx["link"] = lambda **kw: _link(f, **kw)
    ctx["export"] = lambda name, fmt: _link(f).replace(
        "/dashboard", f"/dashboard/export/{name}.{fmt}", 1
    )
    ctx["level"] = "ward" if f.province else "province"
    ctx["drill"] = (
        (lambda code: _link(f, province=code, ward=None, site=None))
        if ctx["level"] == "province"
        else (lambda code: _link(f, ward=code, site=None))
    )
    ctx["ref_year"] = f.ref_year(today)
    ctx["fmt"] = lambda value, kind="int": fmt(value, kind, lang)
    charts_key = ("charts", lang)
    if charts_key not in data.memo:
        data.memo[charts_key] = _charts(ctx, lang)
    ctx["charts"] = data.memo[charts_key]
    return ctx


def _charts(ctx: dict[str, Any], lang: str) -> dict[str, Any]:
    """The three SVG charts, their numbers written the way the tables write them."""

    def say(vi: str, en: str) -> str:
        return en if lang == "en" else vi

    t, f = ctx["t"], ctx["filters"]
    ages = t["coverage_by_age"].rows
    days = t["doses_per_day"].rows
    rvr = t["recorded_vs_reported_by_day"].rows
    return {
        "coverage": charts.percent_bars(
            [r["label_en"] if lang == "en" else r["label_vi"] for r in ages],
            [
                (say("≥ 1 mũi", "≥ 1 dose"), [r["first_pct"] for r in ages]),
                (say("Đủ liều cơ bản", "Full primary"), [r["full_pct"] for r in ages]),
                (say("Mũi nhắc lại", "Booster"), [r["booster_pct"] for r in ages]),
            ],
            say("Độ bao phủ theo nhóm tuổi", "Coverage by age group"),
            say(
                "Phần trăm người trong sổ dân cư đã tiêm, theo nhóm tuổi",
                "Percent of register persons vaccinated, per age group",
            ),
            lang=lang,
        ),
        "daily": charts.line(
            [r["day"] for r in days],
            [
                (say("Tổng", "Total"), [r["total"] for r in days]),
                (say("Mũi 1", "Dose 1"), [r["dose1"] for r in days]),
                (say("Mũi 2", "Dose 2"), [r["dose2"] for r in days]),
            ],
            say("Số mũi tiêm theo ngày", "Doses per day"),
            say(
                "Số mũi tiêm đã nhập mỗi ngày; những quãng dài không có mũi nào được lược bớt",
                "Doses recorded each day; long stretches with no dose are cut out",
            ),
            lang=lang,
            span=(f.date_from, f.date_to),
            gap_label=say("lược quãng không có mũi tiêm", "stretch with no dose cut out"),
        ),
        "rvr": charts.paired_bars(
            charts.by_week(rvr),
            (
                say("Báo cáo", "Reported"),
                say("Đã nhập", "Recorded"),
                say("Phần nhạt là chênh lệch", "The light part is the gap"),
            ),
            say("Đã nhập so với báo cáo", "Recorded vs reported"),
            say(
                "Số mũi điểm tiêm báo cáo và số đã nhập phần mềm",
                "Doses the sites reported and doses recorded on the platform",
            ),
            lang=lang,
        ),
    }


@router.get("/dashboard")
async def dashboard(request: Request, actor: WebActor) -> Response:
    require_role(actor, *STATS_ROLES)
    platform = platform_of(request)
    lang = pages.lang_of(request)
    try:
        ctx = await run_in_threadpool(_context, platform, actor, _typed(request), lang)
    except SnapshotPendingError as exc:  # a fresh install: the first figures are being built
        return pages.render(
            request,
            "dashboard/pending.html",
            {"retry": exc.retry_after, "fragment": is_htmx(request)},
            actor=actor,
            status=503,
            headers={"Retry-After": str(exc.retry_after)},
        )
    ctx["fragment"] = is_htmx(request)
    template = "dashboard/_stats.html" if ctx["fragment"] else "dashboard/page.html"
    return pages.render(request, template, ctx, actor=actor, status=ctx.get("status", 200))


@router.get("/dashboard/export/{name}.{fmt}")
async def export(request: Request, actor: WebActor, name: str, fmt: str) -> Response:
    """One table of the dashboard, every row, as CSV or XLSX, named after the filter."""
    require_role(actor, *STATS_ROLES)
    platform = platform_of(request)
    if fmt not in ("csv", "xlsx") or name not in (*TABLES, reads.STOCK):
        return pages.render(request, "forbidden.html", {}, actor=actor, status=404)

    def make() -> Response:
        asked = _parse(_typed(request))
        t, _fresh, f = reads.read_table(platform, actor, name, asked, platform.today(), full=True)
        return file_response(*table_file(t, fmt, filename(name, f, fmt)))

    try:
        return await run_in_threadpool(make)
    except ServiceError as exc:
        lang = pages.lang_of(request)
        text = "; ".join(p.message_en if lang == "en" else p.message_vi for p in exc.problems)
        return Response(text, status_code=exc.status, media_type="text/plain; charset=utf-8")
