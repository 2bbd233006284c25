"""Dashboard statistics: thin routes over ``tiemchung.stats`` for every health-staff level
(issue 17): a site sees its own doses and its ward, a commune its ward, a province its province,
central the country; asking for an area outside one's own is a 403 problem naming the field.

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
from tiemchung.api.stats_schemas import RefreshAnswer, StatsOverview, StatsTableAnswer
from tiemchung.serving.downloads import file_response
from tiemchung.stats import reads
from tiemchung.stats.export import filename, table_file
from tiemchung.stats.filters import REFRESH_ROLES, STATS_ROLES, Filters

router = APIRouter(tags=["stats"])
_ERRORS = {
    **ERROR_RESPONSES,
    503: error_doc("The first statistics snapshot is still being built; retry after Retry-After s"),
}


@router.get("/stats", response_model=StatsOverview, responses=_ERRORS)
def list_stats(actor: CurrentActor, platform: PlatformDep) -> dict[str, Any]:
    """The tables there are, the caller's area, and how fresh the figures are."""
    require_roles(actor, *STATS_ROLES)
    return reads.overview(platform, actor)


@router.get(
    "/stats/{name}",
    responses={
        200: {
            "model": StatsTableAnswer,
            "description": "The table (JSON), or every row as a file (format=csv or xlsx)",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                    "schema": {"type": "string", "format": "binary"}
                },
            },
        },
        **_ERRORS,
    },
)
def read_stats(
    name: str,
    actor: CurrentActor,
    platform: PlatformDep,
    province: str | None = None,
    ward: str | None = None,
    age_group: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    site: Annotated[
        str | None,
        Query(
            description="One vaccination site (a site user's own is filled in)", examples=["S-A1"]
        ),
    ] = None,
    format: Annotated[Literal["json", "csv", "xlsx"], Query()] = "json",
) -> Response:
    """One table (see ``GET /stats``); CSV and XLSX carry every row, JSON the page's rows.
    ``doses_by_product`` is the breakdown by vaccine and sex; ``site_people`` the people each
    site vaccinated; ``stock`` the area's stock per lot (live)."""
    f = Filters(province or None, ward or None, age_group or None, date_from, date_to, site or None)
    require_roles(actor, *STATS_ROLES)  # before a refresh is ever started on their behalf
    full = format != "json"
    t, fresh, applied = reads.read_table(platform, actor, name, f, platform.today(), full=full)
    if full:
        return file_response(*table_file(t, format, filename(name, applied, format)))
    return JSONResponse({"snapshot": fresh, "table": t.to_json()})


@router.post("/stats:refresh", status_code=202, response_model=RefreshAnswer, responses=_ERRORS)
def refresh_stats(actor: CurrentActor, platform: PlatformDep) -> dict[str, Any]:
    """Start a new snapshot in the background; the answer says when the current one was taken.
    Province and central users only: it rebuilds the whole country's figures."""
    require_roles(actor, *REFRESH_ROLES)
    return reads.refresh(platform)
