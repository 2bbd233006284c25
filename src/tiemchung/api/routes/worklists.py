"""Commune worklists: list, read, decide (accept/reject/edit/bulk), and the .xlsx round trip.

Thin: each route calls :mod:`tiemchung.registry.review.worklists` (reads),
``review.decisions`` (decisions) or ``review.xlsx`` (the spreadsheet); reads run
in a thread on a read session and are audited, decisions go through the platform's writer.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from tiemchung.api.deps import CurrentActor, PlatformDep
from tiemchung.api.problems import ERROR_RESPONSES, error_doc
from tiemchung.api.worklist_schemas import (
    AcceptRequest,
    BulkAcceptRequest,
    BulkResult,
    DecisionResult,
    EditRequest,
    ImportReportOut,
    RejectRequest,
    ReopenRequest,
    WorklistItemDetail,
    WorklistPage,
)
from tiemchung.registry.errors import rule_error
from tiemchung.registry.review import decisions as wd
from tiemchung.registry.review import worklists as wl
from tiemchung.registry.review import xlsx as wx
from tiemchung.serving.downloads import file_response
from tiemchung.serving.types import Offset, RowId

router = APIRouter(tags=["worklists"])
_ERRORS = {**ERROR_RESPONSES, 409: error_doc("The item was already decided (reopen it first)")}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD = 10 * 1024 * 1024


@router.get("/worklist", response_model=WorklistPage, responses=_ERRORS)
async def list_worklist(
    actor: CurrentActor,
    platform: PlatformDep,
    ward_code: str | None = None,
    status: Annotated[
        str, Query(pattern="^(open|accepted|rejected|edited|superseded|all)$")
    ] = "open",
    kind: str | None = None,
    field: str | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> WorklistPage:
    """The caller's worklist (a commune its ward, a province its wards, central any), with
    the per-status counts for the progress bar. ``status=all`` lists every status."""
    query = wl.WorklistQuery(
        ward_code=ward_code,
        status=None if status == "all" else status,
        kind=kind,
        field=field,
        q=q,
        limit=limit,
        offset=offset,
    )

    def read() -> wl.WorklistPage:
        with platform.sessions() as session:
            return wl.list_items(session, actor, query)

    page = await run_in_threadpool(read)
    await platform.audit_read(
        actor, "review_item.read", "review_item", [str(x["id"]) for x in page.items]
    )
    return WorklistPage.model_validate(page.__dict__)


@router.get(
    "/worklist.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}, **_ERRORS}
)
async def export_worklist(
    actor: CurrentActor,
    platform: PlatformDep,
    ward_code: str | None = None,
    kind: str | None = None,
    status: Annotated[
        str | None, Query(description="only `open`: the sheet holds the open items")
    ] = None,
) -> Response:
    """The open items as a spreadsheet to decide offline (re-import with POST), optionally of
    one ward and one kind; an unknown ward, kind or a status other than ``open`` is a 422."""

    def read() -> tuple[bytes, list[int]]:
        with platform.sessions() as session:
            return wx.export_workbook(
                session, actor, ward_code, platform.settings.timezone, kind=kind, status=status
            )

    data, ids = await run_in_threadpool(read)
    await platform.audit_read(actor, "review_item.export", "review_item", [str(i) for i in ids])
    name = f"worklist-{ward_code or actor.ward_code or 'all'}{f'-{kind}' if kind else ''}.xlsx"
    return file_response(data, XLSX, name)


@router.post("/worklist.xlsx", response_model=ImportReportOut, responses=_ERRORS)
async def import_worklist(
    request: Request,
    file: UploadFile,
    actor: CurrentActor,
    platform: PlatformDep,
    report: Annotated[str, Query(pattern="^(json|xlsx)$")] = "json",
) -> Any:
    """Apply the decisions typed into an export; every row with a decision gets an outcome
    (``report=xlsx`` returns the report as a spreadsheet)."""
    wl.require_worklist_role(actor)
    data = await file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise rule_error(
            "file",
            "too_large",
            f"Tệp tối đa {MAX_UPLOAD // 1024 // 1024} MB",
            f"the file is at most {MAX_UPLOAD // 1024 // 1024} MB",
            status=413,
        )
    result = await platform.write(lambda s: wx.import_workbook(s, actor, data))
    if report == "xlsx":
        return file_response(wx.report_workbook(result), XLSX, "worklist-import-report.xlsx")
    return ImportReportOut.model_validate(result.as_dict())


@router.get("/worklist/{item_id}", response_model=WorklistItemDetail, responses=_ERRORS)
async def read_item(item_id: RowId, actor: CurrentActor, platform: PlatformDep) -> Any:
    """One item: the record and each candidate side by side, differences marked, the
    explanation in words."""

    def read() -> dict[str, Any]:
        with platform.sessions() as session:
            return wl.get_item(session, actor, item_id)

    detail = await run_in_threadpool(read)
    await platform.audit_read(actor, "review_item.read", "review_item", [str(item_id)])
    return WorklistItemDetail.model_validate(detail)


@router.post("/worklist/{item_id}:accept", response_model=DecisionResult, responses=_ERRORS)
async def accept_item(
    item_id: RowId, actor: CurrentActor, platform: PlatformDep, body: AcceptRequest | None = None
) -> Any:
    """This is the person: link the dose, the register's values win."""
    b = body or AcceptRequest(person_id=None, reason=None)
    return await platform.write(
        lambda s: wd.accept(s, actor, item_id, person_id=b.person_id, reason=b.reason)
    )


@router.post("/worklist/{item_id}:reject", response_model=DecisionResult, responses=_ERRORS)
async def reject_item(
    item_id: RowId, actor: CurrentActor, platform: PlatformDep, body: RejectRequest | None = None
) -> Any:
    """Not this person: another candidate (``person_id``) or not in the register."""
    b = body or RejectRequest(reason=None, person_id=None)
    return await platform.write(
        lambda s: wd.reject(s, actor, item_id, reason=b.reason, person_id=b.person_id)
    )


@router.post("/worklist/{item_id}:edit", response_model=DecisionResult, responses=_ERRORS)
async def edit_item(
    item_id: RowId, body: EditRequest, actor: CurrentActor, platform: PlatformDep
) -> Any:
    """Correct fields by hand (a reason is required), optionally linking a person."""
    return await platform.write(
        lambda s: wd.edit(
            s,
            actor,
            item_id,
            fields=body.fields,
            reason=body.reason,
            person_id=body.person_id,
            recheck=body.recheck,
        )
    )


@router.post("/worklist/{item_id}:reopen", response_model=WorklistItemDetail, responses=_ERRORS)
async def reopen_item(
    item_id: RowId, body: ReopenRequest, actor: CurrentActor, platform: PlatformDep
) -> Any:
    """Province or central: open a decided item again."""
    return await platform.write(lambda s: wd.reopen(s, actor, item_id, reason=body.reason))


@router.post("/worklist:bulk-accept", response_model=BulkResult, responses=_ERRORS)
async def bulk_accept(body: BulkAcceptRequest, actor: CurrentActor, platform: PlatformDep) -> Any:
    """Accept many items' best candidates; each id gets its own status and problem."""
    results = await platform.write(lambda s: wd.bulk_accept(s, actor, body.ids, reason=body.reason))
    return BulkResult(
        accepted=sum(r["status"] == 200 for r in results),
        failed=sum(r["status"] != 200 for r in results),
        results=results,  # type: ignore[arg-type]
    )
