"""The SMS outbox of the caller's area: thin over ``registry/messages/listing.py`` (the
``tiemchung messages list`` command calls the same function)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from tiemchung.api.deps import CurrentActor, ReadSession
from tiemchung.api.messages_schemas import MessagePage, MessagePublic
from tiemchung.api.problems import ERROR_RESPONSES
from tiemchung.registry.messages import listing
from tiemchung.serving.types import RowId

router = APIRouter(tags=["messages"])
Short = Annotated[str | None, Query(max_length=80)]


@router.get("/messages", response_model=MessagePage, responses=ERROR_RESPONSES)
def list_messages(
    actor: CurrentActor,
    session: ReadSession,
    status: Annotated[
        str | None, Query(max_length=12, description="queued, sent, delivered, invalid…")
    ] = None,
    kind: Annotated[
        str | None, Query(max_length=20, description="invitation, reminder, otp…")
    ] = None,
    phone: Annotated[str | None, Query(max_length=32, description="any written form")] = None,
    ref: Annotated[str | None, Query(max_length=100, description="type:id or id")] = None,
    before: RowId | None = None,
    limit: Annotated[int, Query(ge=1, le=listing.MAX_PAGE)] = 100,
) -> Any:
    """The messages of the caller's area, newest first; ``status=invalid`` lists the numbers
    that could not be texted; ``before`` pages to older ones (keyset)."""
    q = listing.MessageQuery(status=status, kind=kind, phone=phone, ref=ref)
    rows, nxt = listing.list_messages(session, actor, q, before=before, limit=limit)
    return MessagePage(items=[MessagePublic(**listing.as_dict(m)) for m in rows], next_before=nxt)
