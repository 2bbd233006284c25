"""Citizen reports: a citizen opens and follows tickets; the commune or province decides."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from tiemchung.api.deps import CurrentActor, PlatformDep
from tiemchung.api.problems import ERROR_RESPONSES, error_doc
from tiemchung.api.worklist_schemas import TicketCreate, TicketDecision, TicketPage, TicketPublic
from tiemchung.registry.review import tickets as tk
from tiemchung.serving.types import Offset, SmallRowId

router = APIRouter(tags=["tickets"])
_ERRORS = {
    **ERROR_RESPONSES,
    409: error_doc("A ticket about this field is open already, or the ticket was decided"),
    429: error_doc("Too many unresolved tickets for this citizen"),
}


@router.post("/tickets", status_code=201, response_model=TicketPublic, responses=_ERRORS)
async def open_ticket(body: TicketCreate, actor: CurrentActor, platform: PlatformDep) -> Any:
    """A citizen reports a wrong field of one of their doses (``dose_id``) or of their
    register data; it goes to their ward, due in 7 working days."""
    req = tk.TicketRequest(
        field=body.field,
        proposed_value=body.proposed_value,
        message=body.message,
        dose_id=body.dose_id,
        channel=body.channel,
    )
    today = platform.today()
    return await platform.write(lambda s: tk.open_ticket(s, actor, req, today=today))


@router.get("/tickets", response_model=TicketPage, responses=_ERRORS)
async def list_tickets(
    actor: CurrentActor,
    platform: PlatformDep,
    status: Annotated[str | None, Query(pattern="^(open|in_review|accepted|rejected)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> Any:
    """A citizen's own tickets; a ward's or province's tickets, nearest deadline first."""
    today = platform.today()

    def read() -> tuple[list[dict[str, Any]], int]:
        with platform.sessions() as session:
            return tk.list_tickets(
                session, actor, today=today, status=status, limit=limit, offset=offset
            )

    items, total = await run_in_threadpool(read)
    await platform.audit_read(actor, "ticket.read", "ticket", [str(t["id"]) for t in items])
    return TicketPage(
        items=[TicketPublic.model_validate(t) for t in items],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/tickets/{ticket_id}", response_model=TicketPublic, responses=_ERRORS)
async def read_ticket(ticket_id: SmallRowId, actor: CurrentActor, platform: PlatformDep) -> Any:
    today = platform.today()

    def read() -> dict[str, Any]:
        with platform.sessions() as session:
            return tk.get_ticket(session, actor, ticket_id, today=today)

    ticket = await run_in_threadpool(read)
    await platform.audit_read(actor, "ticket.read", "ticket", [str(ticket_id)])
    return ticket


@router.post("/tickets/{ticket_id}:start-review", response_model=TicketPublic, responses=_ERRORS)
async def start_review(ticket_id: SmallRowId, actor: CurrentActor, platform: PlatformDep) -> Any:
    """The commune has started checking (the citizen sees ``in_review``)."""
    today = platform.today()
    return await platform.write(lambda s: tk.start_review(s, actor, ticket_id, today=today))


@router.post("/tickets/{ticket_id}:accept", response_model=TicketPublic, responses=_ERRORS)
async def accept_ticket(
    ticket_id: SmallRowId,
    actor: CurrentActor,
    platform: PlatformDep,
    body: TicketDecision | None = None,
) -> Any:
    """Apply the proposed value (dose record: through link_dose, source citizen)."""
    reason = body.reason if body else None
    today = platform.today()
    return await platform.write(
        lambda s: tk.decide(s, actor, ticket_id, accept=True, reason=reason, today=today)
    )


@router.post("/tickets/{ticket_id}:reject", response_model=TicketPublic, responses=_ERRORS)
async def reject_ticket(
    ticket_id: SmallRowId, body: TicketDecision, actor: CurrentActor, platform: PlatformDep
) -> Any:
    """Refuse the report, with a reason the citizen reads."""
    today = platform.today()
    return await platform.write(
        lambda s: tk.decide(s, actor, ticket_id, accept=False, reason=body.reason, today=today)
    )
