"""Organisations, priority groups and registrations (issue 18): thin over
``registry/people/registration/`` (``tiemchung orgs|groups|registrations`` call the same
functions). A batch of 10,000 rows is checked and stored on a worker thread in its own
transaction (``Platform.in_transaction``), not on the group-commit writer the doses wait for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool

from tiemchung.api.deps import CurrentActor, PlatformDep, ReadSession
from tiemchung.api.problems import ERROR_RESPONSES, error_doc
from tiemchung.api.registration_schemas import (
    BatchAnswer,
    Decision,
    OrganisationApply,
    OrganisationPublic,
    OrganisationUserCreate,
    OrganisationUserPublic,
    PriorityGroupPublic,
    PriorityGroupPut,
    RegistrationBatch,
    RegistrationOne,
    RowAnswer,
    RowFix,
    SourcePage,
    SourceRow,
)
from tiemchung.auth.orgusers import add_organisation_user
from tiemchung.core import Platform
from tiemchung.registry.people.registration import organisations as orgs
from tiemchung.registry.people.registration import priority
from tiemchung.registry.people.registration import registrations as regs
from tiemchung.registry.scope import Actor
from tiemchung.serving.types import RowId, SmallRowId
from tiemchung.store.db import DbSession

router = APIRouter(tags=["registrations"])
T = TypeVar("T")
_BATCH_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    413: error_doc("More than 10,000 rows in one batch"),
}


async def _write(platform: Platform, job: Callable[[DbSession], T]) -> T:
    return await run_in_threadpool(platform.in_transaction, job)


@router.post(
    "/organisations", status_code=201, response_model=OrganisationPublic, responses=ERROR_RESPONSES
)
async def apply_organisation(body: OrganisationApply, platform: PlatformDep) -> Any:
    """An organisation applies (no sign-in: its ward, province or central approves it)."""
    app = orgs.Application(**body.model_dump())

    def job(s: DbSession) -> dict[str, Any]:
        return orgs.organisation_view(orgs.apply(s, Actor.anonymous("public-form"), app))

    return await _write(platform, job)


@router.get("/organisations", response_model=list[OrganisationPublic], responses=ERROR_RESPONSES)
def list_organisations(
    actor: CurrentActor,
    session: ReadSession,
    status: Annotated[str | None, Query(max_length=12)] = None,
) -> Any:
    """The organisations the caller decides on (an organisation's user: its own)."""
    return [
        orgs.organisation_view(o) for o in orgs.list_organisations(session, actor, status=status)
    ]


async def _decide(
    platform: Platform, actor: Actor, org_id: int, approve: bool, note: str | None
) -> dict[str, Any]:
    def job(s: DbSession) -> dict[str, Any]:
        return orgs.organisation_view(orgs.decide(s, actor, org_id, approve=approve, note=note))

    return await _write(platform, job)


@router.post(
    "/organisations/{org_id}:approve", response_model=OrganisationPublic, responses=ERROR_RESPONSES
)
async def approve_organisation(
    org_id: SmallRowId, body: Decision, actor: CurrentActor, platform: PlatformDep
) -> Any:
    """Approve (its ward's commune user, its province or central; audited)."""
    return await _decide(platform, actor, org_id, True, body.note)


@router.post(
    "/organisations/{org_id}:refuse", response_model=OrganisationPublic, responses=ERROR_RESPONSES
)
async def refuse_organisation(
    org_id: SmallRowId, body: Decision, actor: CurrentActor, platform: PlatformDep
) -> Any:
    """Refuse, with a note saying why (audited)."""
    return await _decide(platform, actor, org_id, False, body.note)


@router.post(
    "/organisations/{org_id}/users",
    status_code=201,
    response_model=OrganisationUserPublic,
    responses=ERROR_RESPONSES,
)
async def add_user(
    org_id: SmallRowId, body: OrganisationUserCreate, actor: CurrentActor, platform: PlatformDep
) -> Any:
    """Give an approved organisation a user who submits its lists (role ``org``)."""

    def job(s: DbSession) -> dict[str, Any]:
        u = add_organisation_user(s, actor, org_id, body.username, body.password)
        return {"id": u.id, "username": u.username, "role": u.role, "organisation_id": org_id}

    return await _write(platform, job)


@router.get(
    "/organisations/{org_id}/registrations", response_model=SourcePage, responses=ERROR_RESPONSES
)
def organisation_rows(
    org_id: SmallRowId,
    actor: CurrentActor,
    session: ReadSession,
    batch: Annotated[str | None, Query(max_length=40)] = None,
    result: Annotated[str | None, Query(max_length=12)] = None,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=5_000)] = 500,
) -> Any:
    """An organisation's rows with each one's result and reasons, by id (``after`` pages)."""
    rows = regs.list_rows(
        session, actor, org_id, batch=batch, result=result, after_id=after, limit=limit
    )
    counts = regs.result_counts(session, actor, org_id, batch=batch)
    items = [SourceRow(**regs.source_view(r)) for r in rows]
    return SourcePage(
        items=items, counts=counts, next_after=rows[-1].id if len(rows) == limit else None
    )


@router.get("/priority-groups", response_model=list[PriorityGroupPublic])
def list_groups(session: ReadSession, active: bool = False) -> Any:
    """The priority groups in the government's order (public: the citizen form lists them)."""
    return [
        PriorityGroupPublic(code=g.code, name_vi=g.name_vi, name_en=g.name_en, sort=g.sort,
                            active=bool(g.active))
        for g in priority.list_priority_groups(session, active_only=active)
    ]  # fmt: skip


@router.put(
    "/priority-groups/{code}", response_model=PriorityGroupPublic, responses=ERROR_RESPONSES
)
async def put_group(
    code: Annotated[str, Path(max_length=20)],
    body: PriorityGroupPut,
    actor: CurrentActor,
    platform: PlatformDep,
) -> Any:
    """Edit a group, or add one under a new code (central only; audited)."""
    changes = priority.GroupChanges(**body.model_dump())

    def job(s: DbSession) -> dict[str, Any]:
        g = priority.save_priority_group(s, actor, code, changes)
        return {"code": g.code, "name_vi": g.name_vi, "name_en": g.name_en, "sort": g.sort,
                "active": bool(g.active)}  # fmt: skip

    return await _write(platform, job)


def _answer(report: regs.SubmitReport) -> BatchAnswer:
    return BatchAnswer(
        batch=report.batch,
        counts=report.counts,
        registrations_new=report.registrations_new,
        registrations_joined=report.registrations_joined,
        rows=[RowAnswer(**asdict(r)) for r in report.rows],
    )


@router.post("/registrations", status_code=201, response_model=RowAnswer, responses=ERROR_RESPONSES)
async def register_one(body: RegistrationOne, actor: CurrentActor, platform: PlatformDep) -> Any:
    """One person put forward by an organisation, checked against the register at once."""
    row = body.model_dump(exclude={"organisation_id"}, exclude_none=True)

    def job(s: DbSession) -> RowAnswer:
        report = regs.submit_rows(s, actor, [row], organisation_id=body.organisation_id)
        return RowAnswer(**asdict(report.rows[0]))

    return await _write(platform, job)


@router.post(
    "/registrations:batch", status_code=201, response_model=BatchAnswer, responses=_BATCH_ERRORS
)
async def register_batch(
    body: RegistrationBatch, actor: CurrentActor, platform: PlatformDep
) -> Any:
    """Up to 10,000 rows (more: 413, nothing stored), each stored with its result; a person
    already registered (by another organisation, or themselves) is joined, not doubled."""
    if len(body.rows) > regs.MAX_BATCH:
        raise regs.too_many(len(body.rows))
    rows = [r.model_dump(exclude_none=True) for r in body.rows]

    def job(s: DbSession) -> BatchAnswer:
        return _answer(regs.submit_rows(s, actor, rows, organisation_id=body.organisation_id))

    return await _write(platform, job)


@router.patch(
    "/registrations/sources/{source_id}", response_model=SourceRow, responses=ERROR_RESPONSES
)
async def fix_source(
    source_id: RowId,
    body: RowFix,
    actor: CurrentActor,
    platform: PlatformDep,
) -> Any:
    """Correct a row's values; it is checked again and its result follows."""
    changes = body.model_dump(exclude_unset=True)

    def job(s: DbSession) -> SourceRow:
        return SourceRow(**regs.source_view(regs.fix_row(s, actor, source_id, changes)))

    return await _write(platform, job)


@router.post(
    "/registrations/sources/{source_id}:withdraw",
    response_model=SourceRow,
    responses=ERROR_RESPONSES,
)
async def withdraw_source(
    source_id: RowId,
    actor: CurrentActor,
    platform: PlatformDep,
) -> Any:
    """Withdraw a row; the person stays registered while another source names them."""

    def job(s: DbSession) -> SourceRow:
        return SourceRow(**regs.source_view(regs.withdraw_row(s, actor, source_id)))

    return await _write(platform, job)
