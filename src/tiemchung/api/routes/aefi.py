"""Adverse events following immunisation: thin over ``registry/aefi/`` (the CLI's ``aefi``
commands call the same functions). Writes run on the writer (``Platform.write``)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from tiemchung.api.aefi_schemas import (
    AefiCount,
    AefiCreate,
    AefiPage,
    AefiPatch,
    AefiPublic,
    AefiSummary,
    ClusterRulePublic,
)
from tiemchung.api.deps import CurrentActor, PlatformDep, ReadSession
from tiemchung.api.problems import ERROR_RESPONSES
from tiemchung.registry.aefi import reports, signals
from tiemchung.serving.downloads import file_response
from tiemchung.serving.types import RowId

router = APIRouter(tags=["aefi"])
_CSV: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A page of reports (JSON), or every matching report (format=csv)",
        "content": {"text/csv": {"example": "Mã báo cáo / Report id,…\n"}},
    }
}


def _query(
    since: date | None,
    until: date | None,
    serious: bool | None,
    product_code: str | None,
    lot_number: str | None,
    site_id: str | None,
    ward_code: str | None,
    province_code: str | None,
) -> reports.AefiQuery:
    return reports.AefiQuery(
        since, until, serious, product_code, lot_number, site_id, ward_code, province_code
    )


Since = Annotated[date | None, Query(alias="from", description="first onset day, included")]
Until = Annotated[date | None, Query(alias="to", description="last onset day, included")]
Short = Annotated[str | None, Query(max_length=40)]


@router.post("/aefi", status_code=201, response_model=AefiPublic, responses=ERROR_RESPONSES)
async def record_aefi(body: AefiCreate, actor: CurrentActor, platform: PlatformDep) -> Any:
    """Record an adverse event against a dose given at the caller's site (site users)."""
    data = reports.AefiInput(**body.model_dump(exclude={"dose_id"}))
    today, tz, rule = platform.today(), platform.tz, signals.rule_from(platform.settings)

    def work(s: Any) -> dict[str, Any]:
        r = reports.record_report(s, actor, body.dose_id, data, today=today, tz=tz)
        return signals.reports_with_flags(s, [r], tz, rule)[0]

    return await platform.write(work)


@router.get("/aefi", response_model=AefiPage, responses={**ERROR_RESPONSES, **_CSV})
def list_aefi(
    actor: CurrentActor,
    session: ReadSession,
    platform: PlatformDep,
    since: Since = None,
    until: Until = None,
    serious: bool | None = None,
    product_code: Short = None,
    lot_number: Short = None,
    site_id: Short = None,
    ward_code: Short = None,
    province_code: Short = None,
    before: RowId | None = None,
    limit: Annotated[int, Query(ge=1, le=reports.MAX_PAGE)] = 100,
    format: Literal["json", "csv"] = "json",
) -> Any:
    """The reports of the caller's area, newest first, ``before`` pages to older ones
    (keyset); ``format=csv`` gives every matching report as a file."""
    q = _query(since, until, serious, product_code, lot_number, site_id, ward_code, province_code)
    tz, rule = platform.tz, signals.rule_from(platform.settings)
    if format == "csv":
        items, _ = reports.list_reports(session, actor, q, tz=tz, limit=reports.MAX_EXPORT)
        body = reports.export_csv(signals.reports_with_flags(session, items, tz, rule))
        response: Response = file_response(body, reports.CSV_TYPE, "aefi.csv")
        return response
    items, nxt = reports.list_reports(session, actor, q, tz=tz, before=before, limit=limit)
    rows = signals.reports_with_flags(session, items, tz, rule)
    return AefiPage(items=[AefiPublic(**r) for r in rows], next_before=nxt)


@router.get("/aefi/summary", response_model=AefiSummary, responses=ERROR_RESPONSES)
def summarise_aefi(
    actor: CurrentActor,
    session: ReadSession,
    platform: PlatformDep,
    by: Literal["lot", "site", "commune", "province"] = "lot",
    since: Since = None,
    until: Until = None,
    serious: bool | None = None,
    product_code: Short = None,
    lot_number: Short = None,
    site_id: Short = None,
    ward_code: Short = None,
    province_code: Short = None,
) -> Any:
    """Reports counted by product and lot (and site, commune or province) in the caller's
    area, each lot flagged when its serious events make a cluster (the rule is answered)."""
    q = _query(since, until, serious, product_code, lot_number, site_id, ward_code, province_code)
    rule = signals.rule_from(platform.settings)
    rows = signals.summarise(session, actor, q, tz=platform.tz, by=by, rule=rule)
    return AefiSummary(
        by=by,
        rule=ClusterRulePublic(**asdict(rule)),
        items=[AefiCount(**r.as_dict()) for r in rows],
    )


@router.get("/aefi/{report_id}", response_model=AefiPublic, responses=ERROR_RESPONSES)
def read_aefi(
    report_id: RowId, actor: CurrentActor, session: ReadSession, platform: PlatformDep
) -> Any:
    """One report of the caller's area (404 otherwise, as if there were none)."""
    r = reports.get_report(session, actor, report_id)
    rule = signals.rule_from(platform.settings)
    return signals.reports_with_flags(session, [r], platform.tz, rule)[0]


@router.patch("/aefi/{report_id}", response_model=AefiPublic, responses=ERROR_RESPONSES)
async def correct_aefi(
    report_id: RowId, body: AefiPatch, actor: CurrentActor, platform: PlatformDep
) -> Any:
    """Correct a report of the caller's site; the values before stay in the audit log."""
    changes = body.model_dump(exclude_unset=True)
    today, tz, rule = platform.today(), platform.tz, signals.rule_from(platform.settings)

    def work(s: Any) -> dict[str, Any]:
        r = reports.correct_report(s, actor, report_id, changes, today=today, tz=tz)
        return signals.reports_with_flags(s, [r], tz, rule)[0]

    return await platform.write(work)
