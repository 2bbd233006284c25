"""Dose endpoints: record one (idempotent on the client UUID), record a batch, read."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from tiemchung.api.deps import CurrentActor, PlatformDep, require_roles
from tiemchung.api.problems import ERROR_RESPONSES, validation_errors
from tiemchung.api.schemas import (
    BATCH_BODY,
    BATCH_ENVELOPE,
    DOSE_ITEM,
    DoseBatchCreate,
    DoseBatchResult,
    DoseCreate,
    DosePublic,
    DoseRecorded,
    Page,
    submission_of,
)
from tiemchung.registry.doses.listing import DoseQuery
from tiemchung.registry.doses.listing import get_dose as read_dose
from tiemchung.registry.doses.listing import list_doses as read_doses
from tiemchung.registry.doses.record import (
    DoseResult,
    PreparedDoses,
    prepare_submissions,
    record_prepared,
)
from tiemchung.registry.errors import not_found, problem_body
from tiemchung.registry.scope import Actor, Role
from tiemchung.serving.types import Offset, RowId

router = APIRouter(tags=["doses"])

_ERRORS = ERROR_RESPONSES
_WRITERS = (Role.CENTRAL, Role.PROVINCE, Role.COMMUNE, Role.SITE)


#: DosePublic's fields in its declared order: the JSON a dose is answered with.
_PUBLIC_FIELDS = tuple(DosePublic.model_fields)


def _json(model: BaseModel, status: int = 200) -> Response:
    return Response(model.model_dump_json(), status_code=status, media_type="application/json")


def _public(result: DoseResult) -> dict[str, Any]:
    """The dose as :class:`DosePublic` serialises it, built as a plain dict.

    A batch answers 1,000 of these; validating a model per dose to serialise it cost a
    sixth of the batch. tests/api/test_doses_api.py checks the output against the model.
    """
    dose = result.dose
    assert dose is not None
    out = {f: dose.get(f) for f in _PUBLIC_FIELDS}
    out["person_id"] = result.person_id
    out["warnings"] = [w.as_dict() for w in result.warnings]
    return out


def _orjson(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


@router.post(
    "/doses",
    status_code=201,
    response_model=DoseRecorded,
    responses={
        201: {"description": "Recorded, with any sequence warnings", "model": DoseRecorded},
        200: {"description": "Already recorded: the original dose", "model": DoseRecorded},
        **_ERRORS,
    },
)
async def create_dose(body: DoseCreate, actor: CurrentActor, platform: PlatformDep) -> Response:
    """Record one dose. A retry with the same `client_uuid` returns the original (200).

    A dose that was given is always stored: only invalid input is refused (unknown or expired
    lot, unknown product, site or ward, a future date, malformed fields, a session that does
    not match, a `client_uuid` reused for other content). A missing earlier dose, a dose
    before the minimum interval or a dose number already recorded are answered as `warnings`
    on the 201 and reach the person's commune on the dose's one worklist item (an unverified
    dose's item carries them; a verified dose gets a `dose_check` item)."""
    require_roles(actor, *_WRITERS)
    result = await platform.record_dose(actor, body.to_submission())
    if result.error is not None:
        raise result.error
    # Serialised here, once: the hot path skips FastAPI's re-validation of the response.
    return _orjson(_public(result), result.status)


def _invalid_body(exc: ValidationError) -> RequestValidationError:
    """The batch body's own errors (not JSON, no ``doses``, too many) as FastAPI raises them,
    so they are answered by the same problem+json handler as any other bad body."""
    return RequestValidationError(
        [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
    )


def _item_problem(index: int, exc: ValidationError) -> dict[str, Any]:
    errors = validation_errors(list(exc.errors(include_url=False)))  # type: ignore[arg-type]
    for e in errors:
        e["field"] = f"doses.{index}.{e['field']}"
    return problem_body(422, "Invalid request / Dữ liệu không hợp lệ", errors=errors)


def _parse_batch(raw: bytes) -> tuple[list[dict[str, Any] | None], list[dict[str, Any]]]:
    """(answers so far, one per item: None or an invalid item's answer; the valid items).

    The fast path validates the whole body from bytes in one pydantic-core call. Only when
    it fails are the items validated one by one, so that each bad item is answered alone
    and the good ones are still recorded.
    """
    try:
        doses: list[dict[str, Any]] = BATCH_BODY.validate_json(raw)["doses"]
        return [None] * len(doses), doses
    except ValidationError:
        pass
    try:
        items = BATCH_ENVELOPE.validate_json(raw).doses
    except ValidationError as exc:
        raise _invalid_body(exc) from exc
    answers: list[dict[str, Any] | None] = [None] * len(items)
    valid: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        try:
            valid.append(DOSE_ITEM.validate_python(item))
        except ValidationError as exc:
            answers[i] = {"index": i, "status": 422, "dose": None, "problem": _item_problem(i, exc)}
            continue
    return answers, valid


def _prepare_batch(
    platform: PlatformDep, actor: Actor, valid: list[dict[str, Any]]
) -> PreparedDoses:
    """The batch's submissions with the checks done that need no database."""
    items = [(actor, submission_of(item)) for item in valid]
    return prepare_submissions(platform.catalog, items, today=platform.today())


_BATCH_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": DoseBatchCreate.model_json_schema()}},
    }
}


@router.post(
    "/doses:batch",
    response_model=DoseBatchResult,
    responses=_ERRORS,
    openapi_extra=_BATCH_BODY_DOC,
)
async def create_doses(request: Request, actor: CurrentActor, platform: PlatformDep) -> Response:
    """Record up to 1,000 doses; each item gets its own status and, if refused, a problem.
    A stored item's dose carries its `warnings` (sequence rules never refuse a dose).

    The body is read as bytes and validated here (the schema is `DoseBatchCreate`, each item
    a `DoseCreate`): one compiled pass instead of a JSON parse, a dict copy and a model per
    item.
    """
    require_roles(actor, *_WRITERS)
    answers, valid = _parse_batch(await request.body())
    results: list[DoseResult] = []
    if valid:
        # The checks that need no database run here, on a worker thread, rather than on the
        # single writer thread that every write of the server waits for.
        prepared = await run_in_threadpool(_prepare_batch, platform, actor, valid)
        results = await platform.write(lambda s: record_prepared(s, prepared))
    done = iter(results)
    created = existing = failed = 0
    for i, answer in enumerate(answers):
        if answer is None:
            result = next(done)
            if result.error is not None:
                answer = {
                    "index": i,
                    "status": result.status,
                    "dose": None,
                    "problem": result.error.as_problem(),
                }
            else:
                answer = {
                    "index": i,
                    "status": result.status,
                    "dose": _public(result),
                    "problem": None,
                }
            answers[i] = answer
        status = answer["status"]
        created += status == 201
        existing += status == 200
        failed += status >= 400
    return _orjson({"created": created, "existing": existing, "failed": failed, "results": answers})


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
    offset: Offset = 0,
) -> Page[DosePublic]:
    """Doses in the caller's area (a site sees its own doses, a citizen their own)."""
    query = DoseQuery(site_id, person_id, status, date_from, date_to)

    def read() -> tuple[list[DosePublic], int]:
        with platform.sessions() as session:
            rows, total = read_doses(session, actor, query, limit=limit, offset=offset)
        return [DosePublic(**r) for r in rows], total

    items, total = await run_in_threadpool(read)
    ids = [str(d.id) for d in items]
    await platform.audit_read(actor, "dose.read", "dose", ids)
    return Page[DosePublic](items=items, total=total, limit=limit, offset=offset)


@router.get("/doses/{dose_id}", response_model=DosePublic, responses=_ERRORS)
async def get_dose(dose_id: RowId, actor: CurrentActor, platform: PlatformDep) -> DosePublic:
    def read() -> dict[str, Any] | None:
        with platform.sessions() as session:
            return read_dose(session, actor, dose_id)

    row = await run_in_threadpool(read)
    if row is None:
        raise not_found("dose_id", "mũi tiêm", "dose")
    await platform.audit_read(actor, "dose.read", "dose", [str(dose_id)])
    return DosePublic(**row)
