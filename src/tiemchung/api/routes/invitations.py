"""Invitations to a planned session and the overdue list — thin over
:mod:`tiemchung.registry.invitations`. Sending writes many rows and texts, so it runs in a
transaction of its own on a worker thread (``Platform.in_transaction``), not on the
group-commit writer the doses wait for."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from tiemchung.api.deps import CurrentActor, PlatformDep
from tiemchung.api.invitations_schemas import (
    InvitationList,
    InvitationPreview,
    InvitationRequest,
    InvitationSent,
    OverduePage,
)
from tiemchung.api.problems import ERROR_RESPONSES as _ERRORS
from tiemchung.auth.invitelinks import link_maker
from tiemchung.registry.invitations import attendance, reminders
from tiemchung.registry.invitations import send as svc
from tiemchung.registry.invitations.select import Selection
from tiemchung.serving.downloads import file_response
from tiemchung.serving.types import Offset, SmallRowId

router = APIRouter(tags=["invitations"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _selection(body: InvitationRequest) -> Selection:
    return Selection(
        groups=body.groups,
        min_age=body.min_age,
        max_age=body.max_age,
        ward_code=body.ward_code,
        organisation_id=body.organisation_id,
        due_by=body.due_by,
    )


@router.post(
    "/sessions/{session_id}/invitations",
    status_code=201,
    response_model=InvitationSent,
    responses=_ERRORS,
)
async def send_invitations(
    session_id: SmallRowId, body: InvitationRequest, actor: CurrentActor, platform: PlatformDep
) -> Any:
    """Invite people to a planned (or open) session of the caller's area: places in its slots
    within capacity, a wait list beyond, one text per place (queued in the same transaction,
    with the short link). Nobody is invited twice: not to this session, not to another of
    the same day (409 if a race is lost: send again)."""
    links = link_maker(platform.token_secret, platform.settings.public_url)
    today, sel = platform.today(), _selection(body)
    result = await run_in_threadpool(
        platform.in_transaction,
        lambda s: svc.send_invitations(
            s, actor, session_id, sel, today, links, wait_list=body.wait_list
        ),
    )
    return result.as_dict()


@router.post(
    "/sessions/{session_id}/invitations:preview",
    response_model=InvitationPreview,
    responses=_ERRORS,
)
async def preview_invitations(
    session_id: SmallRowId, body: InvitationRequest, actor: CurrentActor, platform: PlatformDep
) -> Any:
    """What sending would do (eligible, with a phone, free places, wait list); sends nothing."""
    today, sel = platform.today(), _selection(body)

    def read() -> dict[str, Any]:
        with platform.sessions() as s:
            return svc.preview(s, actor, session_id, sel, today, wait_list=body.wait_list).as_dict()

    return await run_in_threadpool(read)


@router.get("/sessions/{session_id}/invitations", response_model=InvitationList, responses=_ERRORS)
async def list_invitations(
    session_id: SmallRowId,
    actor: CurrentActor,
    platform: PlatformDep,
    no_shows: Annotated[
        bool, Query(description="only the invited with no dose recorded on the day")
    ] = False,
) -> Any:
    """A session's invitations with their statuses, or (``no_shows``) who did not come."""

    def read() -> dict[str, Any]:
        with platform.sessions() as s:
            listed = attendance.list_invitations(s, actor, session_id)
            if no_shows:
                listed["items"] = attendance.no_shows(s, actor, session_id)
            return listed

    return await run_in_threadpool(read)


@router.get("/overdue", response_model=OverduePage, responses=_ERRORS)
async def overdue(
    actor: CurrentActor,
    platform: PlatformDep,
    ward_code: str | None = None,
    limit: Annotated[int, Query(ge=1, le=reminders.MAX_PAGE)] = 200,
    offset: Offset = 0,
) -> Any:
    """The overdue (defaulter) list: people of the area whose next dose was due before today,
    most overdue first, with their phone number and the last contact made. A commune: its
    ward; a province: its province or one of its wards; central: any. Reading it is audited."""
    today = platform.today()
    return await run_in_threadpool(
        platform.in_transaction,
        lambda s: reminders.overdue(
            s, actor, today, ward_code=ward_code, limit=limit, offset=offset
        ),
    )


@router.get(
    "/overdue.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}, **_ERRORS}
)
async def overdue_xlsx(
    actor: CurrentActor, platform: PlatformDep, ward_code: str | None = None
) -> Response:
    """The overdue list as a spreadsheet (up to 50,000 rows), headers in both languages."""
    today = platform.today()
    data, _n = await run_in_threadpool(
        platform.in_transaction,
        lambda s: reminders.overdue_workbook(s, actor, today, ward_code=ward_code),
    )
    return file_response(data, XLSX, f"overdue-{ward_code or actor.ward_code or 'all'}.xlsx")
