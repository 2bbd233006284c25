"""Dose endpoints: record one (idempotent on the client UUID), record a batch, read."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from tiemchung.api.deps import CurrentActor, PlatformDep, require_roles
from tiemchung.api.problems import (
    ERROR_RESPONSES,
    problem_body,
    service_error_body,
    validation_errors,
)
from tiemchung.api.schemas import (
    DoseBatchCreate,
    DoseBatchItem,
    DoseBatchResult,
    DoseCreate,
    DosePublic,
    Page,
)
from tiemchung.registry.doses import DOSE_COLUMNS, DoseResult, DoseSubmission, record_doses
from tiemchung.registry.errors import not_found
from tiemchung.registry.models import Dose, Person
from tiemchung.registry.scope import Actor, Role

router = APIRouter(tags=["doses"])

_ERRORS = ERROR_RESPONSES
_WRITERS = (Role.CENTRAL, Role.PROVINCE, Role.COMMUNE, Role.SITE)


def _json(model: BaseModel, status: int = 200) -> Response:
    return Response(model.model_dump_json(), status_code=status, media_type="application/json")


def _public(result: DoseResult) -> DosePublic:
    assert result.dose is not None
    return DosePublic(**result.dose, person_id=result.person_id)


@router.post(
    "/doses",
    status_code=201,
    response_model=DosePublic,
    responses={
        200: {"description": "Already recorded: the original dose", "model": DosePublic},
        **_ERRORS,
    },
)
async def create_dose(body: DoseCreate, actor: CurrentActor, platform: PlatformDep) -> Response:
    """Record one dose. A retry with the same `client_uuid` returns the original (200)."""
    require_roles(actor, *_WRITERS)
    result = await platform.record_dose(actor, body.to_submission())
    if result.error is not None:
        raise result.error
    # Serialised here, once: the hot path skips FastAPI's re-validation of the response.
    return _json(_public(result), result.status)


@router.post("/doses:batch", response_model=DoseBatchResult, responses=_ERRORS)
async def create_doses(
    body: DoseBatchCreate, actor: CurrentActor, platform: PlatformDep
) -> Response:
    """Record up to 1,000 doses; each item gets its own status and, if refused, a problem."""
    require_roles(actor, *_WRITERS)
    items: list[DoseBatchItem | None] = [None] * len(body.doses)
    subs: list[tuple[int, DoseSubmission]] = []
    for i, raw in enumerate(body.doses):
        try:
            subs.append((i, DoseCreate.model_validate(raw).to_submission()))
        except ValidationError as exc:
            errors = validation_errors(list(exc.errors()))  # type: ignore[arg-type]
            for e in errors:
                e["field"] = f"doses.{i}.{e['field']}"
            items[i] = DoseBatchItem(
                index=i,
                status=422,
                problem=problem_body(422, "Invalid request / Dữ liệu không hợp lệ", errors=errors),
            )
    today = platform.today()
    results = (
        await platform.write(
            lambda s: record_doses(s, platform.catalog, actor, [x for _, x in subs], today=today)
        )
        if subs
        else []
    )
    for (i, _sub), result in zip(subs, results, strict=True):
        if result.error is not None:
            items[i] = DoseBatchItem(
                index=i, status=result.status, problem=service_error_body(result.error)
            )
        else:
            items[i] = DoseBatchItem(index=i, status=result.status, dose=_public(result))
    done = [x for x in items if x is not None]
    return _json(
        DoseBatchResult(
            created=sum(x.status == 201 for x in done),
            existing=sum(x.status == 200 for x in done),
            failed=sum(x.status >= 400 for x in done),
            results=done,
        )
    )


def _dose_rows(
    session: Session, actor: Actor, where: list[Any], limit: int, offset: int
) -> tuple[list[DosePublic], int]:
    stmt = (
        select(Dose, Person.person_id)
        .outerjoin(Person, Dose.person_pk == Person.id)
        .where(actor.dose_filter(), *where)
    )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(stmt.order_by(Dose.id).limit(limit).offset(offset)).all()
    items = [
        DosePublic(**{c: getattr(d, c) for c in DOSE_COLUMNS}, person_id=pid) for d, pid in rows
    ]
    return items, int(total)


@router.get("/doses", response_model=Page[DosePublic], responses=_ERRORS)
async def list_doses(
    actor: CurrentActor,
    platform: PlatformDep,
    site_id: str | None = None,
    person_id: str | None = None,
    status: Annotated[str | None, Query(pattern="^(verified|unverified)$")] = None,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[DosePublic]:
    """Doses in the caller's area (a site sees its own doses, a citizen their own)."""
    where: list[Any] = []
    if site_id:
        where.append(Dose.site_id == site_id)
    if person_id:
        where.append(Person.person_id == person_id)
    if status:
        where.append(Dose.status == status)
    if date_from:
        where.append(Dose.dose_date >= date_from)
    if date_to:
        where.append(Dose.dose_date <= date_to)

    def read() -> tuple[list[DosePublic], int]:
        with platform.sessions() as session:
            return _dose_rows(session, actor, where, limit, offset)

    items, total = await run_in_threadpool(read)
    ids = [str(d.id) for d in items]
    await platform.audit_read(actor, "dose.read", "dose", ids)
    return Page[DosePublic](items=items, total=total, limit=limit, offset=offset)


@router.get("/doses/{dose_id}", response_model=DosePublic, responses=_ERRORS)
async def get_dose(dose_id: int, actor: CurrentActor, platform: PlatformDep) -> DosePublic:
    def read() -> tuple[list[DosePublic], int]:
        with platform.sessions() as session:
            return _dose_rows(session, actor, [Dose.id == dose_id], 1, 0)

    items, _ = await run_in_threadpool(read)
    if not items:
        raise not_found("dose_id", "mũi tiêm", "dose")
    await platform.audit_read(actor, "dose.read", "dose", [str(dose_id)])
    return items[0]
