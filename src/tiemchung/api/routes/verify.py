"""Verification at the desk: ``POST /api/v1/verify`` (thin: the rules live in registry/verify)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from tiemchung.api.deps import CurrentActor, PlatformDep, require_roles
from tiemchung.api.problems import ERROR_RESPONSES
from tiemchung.api.verify_schemas import DeskVerifyRequest, DeskVerifyResponse
from tiemchung.registry.doses.verify import Verification, verify
from tiemchung.registry.scope import Role

router = APIRouter(tags=["verify"])

_ERRORS = {k: v for k, v in ERROR_RESPONSES.items() if k != 404 and k != 409}


@router.post(
    "/verify",
    response_model=DeskVerifyResponse,
    response_model_exclude_unset=True,  # the desk view has no phone/address keys at all
    responses=_ERRORS,
)
async def verify_person(
    body: DeskVerifyRequest, actor: CurrentActor, platform: PlatformDep
) -> Response:
    """Check a scanned chip-card QR payload or typed fields against the register before a
    dose: status, the register person (masked as the caller's role allows), the fields that
    differ, ID conflicts, candidates when ambiguous, the dose history and the next dose due.
    Sites, communes, provinces and central may verify; citizens may not (403). Every person
    shown is audited as read."""
    require_roles(actor, Role.SITE, Role.COMMUNE, Role.PROVINCE, Role.CENTRAL)
    record = body.to_record()

    def run() -> Verification:
        with platform.sessions() as session:
            return verify(session, actor, record, audit=False, remote=platform.register_remote)

    result = await run_in_threadpool(run)
    await platform.audit_read(actor, "person.read", "person", result.read_person_ids)
    answer = DeskVerifyResponse.model_validate(asdict(result))
    # the model's own JSON, sent as it is: returned as a model, FastAPI would dump it to a
    # dict, validate that again against ``response_model`` and encode it (~0.2 ms a request)
    return Response(
        answer.model_dump_json(exclude_unset=True), media_type="application/json"
    )
