"""Dashboard statistics: thin routes over ``tiemchung.stats`` (province and central users).

``GET /stats`` lists the tables and says how fresh the snapshot is; ``GET /stats/{table}``
answers one table as JSON, CSV or XLSX (``format=``) with the dashboard's filters;
``POST /stats:refresh`` asks for a new snapshot now (it runs in the background).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from tiemchung.api.deps import CurrentActor, PlatformDep, require_roles
from tiemchung.api.problems import ERROR_RESPONSES, error_doc
from tiemchung.core import Platform
from tiemchung.registry.scope import Actor
from tiemchung.serving.downloads import file_response
from tiemchung.stats.export import CSV_TYPE, XLSX_TYPE, filename, to_csv, to_xlsx
from tiemchung.stats.queries import STATS_ROLES, TABLES, Filters, scope, table
from tiemchung.stats.service import Snapshot, stats_for
from tiemchung.stats.tables import Table

router = APIRouter(tags=["stats"])
_ERRORS = {
    **ERROR_RESPONSES,
    503: error_doc("The first statistics snapshot is still being built; retry after Retry-After s"),
}


def freshness(snap: Snapshot, refreshing: bool, max_age: float = 600) -> dict[str, Any]:
    """What the page and the API say about how old the figures are."""
    return {
        "max_age_minutes": round(max_age / 60),
        "built_at": snap.meta["built_at"],
        "age_seconds": round(snap.age_seconds()),
        "refreshing": refreshing,
        "rows": snap.meta.get("rows"),
        "export_seconds": snap.meta.get("export_seconds"),
        "build_seconds": snap.meta.get("build_seconds"),
    }


def get_table(
    platform: Platform, actor: Actor, name: str, f: Filters, *, full: bool = False
) -> tuple[Table, dict[str, Any], Filters]:
    """One statistics table for this actor, the freshness of the snapshot it came from, and
    the filters as applied (a province user's province filled in: the export's name)."""
    require_roles(actor, *STATS_ROLES)  # before a refresh is ever started on their behalf
    svc = stats_for(platform)
    with svc.cursor() as (cur, snap):
        f = scope(cur, actor, f)
        t = table(cur, name, actor, f, platform.today(), full=full)
    return t, freshness(snap, svc.refreshing, svc.max_age), f


def download(t: Table, fmt: str, name: str | None = None) -> Response:
    """The table as a CSV or XLSX attachment, saved as ``name`` (default: the table's)."""
    if fmt == "csv":
        body, media, ext = to_csv(t), CSV_TYPE, "csv"
    else:
        body, media, ext = to_xlsx(t), XLSX_TYPE, "xlsx"
    return file_response(body, media, name or f"{t.name}.{ext}")


@router.get("/stats", responses=_ERRORS)
def list_stats(actor: CurrentActor, platform: PlatformDep) -> dict[str, Any]:
    """The tables there are, the caller's area, and how fresh the figures are."""
    require_roles(actor, *STATS_ROLES)
    svc = stats_for(platform)
    with svc.cursor() as (cur, snap):
        f = scope(cur, actor, Filters())
    return {
        "tables": list(TABLES),
        "province": f.province,
        "snapshot": freshness(snap, svc.refreshing, svc.max_age),
    }


@router.get("/stats/{name}", responses=_ERRORS)
def read_stats(
    name: str,
    actor: CurrentActor,
    platform: PlatformDep,
    province: str | None = None,
    ward: str | None = None,
    age_group: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    format: Annotated[Literal["json", "csv", "xlsx"], Query()] = "json",
) -> Response:
    """One table (see ``GET /stats``); CSV and XLSX carry every row, JSON the page's rows."""
    f = Filters(province or None, ward or None, age_group or None, date_from, date_to)
    t, fresh, applied = get_table(platform, actor, name, f, full=format != "json")
    if format != "json":
        return download(t, format, filename(name, applied, format))
    return JSONResponse({"snapshot": fresh, "table": t.to_json()})


@router.post("/stats:refresh", status_code=202, responses=_ERRORS)
def refresh_stats(actor: CurrentActor, platform: PlatformDep) -> dict[str, Any]:
    """Start a new snapshot in the background; the answer says when the current one was taken."""
    require_roles(actor, *STATS_ROLES)
    svc = stats_for(platform)
    snap = svc.current()
    svc.start_refresh()
    return {"snapshot": freshness(snap, svc.refreshing, svc.max_age)}
