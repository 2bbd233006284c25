"""Partners' webhook subscriptions: thin over ``registry/changes/webhooks.py`` (``tiemchung
webhooks`` calls the same functions). Central manages every partner's; a province or commune
user the partners of its own area (``Actor.covers_area`` on the client's area); others 403."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from tiemchung.api.deps import CurrentActor, PlatformDep
from tiemchung.api.problems import ERROR_RESPONSES
from tiemchung.api.webhooks_schemas import (
    DeadLetterList,
    DeadLetterPublic,
    PauseBody,
    WebhookBody,
    WebhookCreated,
    WebhookList,
    WebhookPublic,
)
from tiemchung.registry.changes import webhooks as svc
from tiemchung.serving.types import API_INT_MAX, RowId

router = APIRouter(tags=["webhooks"])


@router.post("/webhooks", response_model=WebhookCreated, status_code=201, responses=ERROR_RESPONSES)
async def add_webhook(body: WebhookBody, actor: CurrentActor, platform: PlatformDep) -> Any:
    """Subscribe a partner client's URL to the change log (audited). The answer carries the
    signing secret, **the only time it is shown**; 404 for a client outside the caller's
    area, 422 naming a bad URL or resource."""
    added = await run_in_threadpool(
        platform.in_transaction,
        lambda s: svc.add_subscription(
            s, actor, body.client_id, body.url, body.resources, from_seq=body.from_seq
        ),
    )
    return {"subscription": asdict(added.subscription), "secret": added.secret}


@router.get("/webhooks", response_model=WebhookList, responses=ERROR_RESPONSES)
def list_webhooks(
    actor: CurrentActor,
    platform: PlatformDep,
    client_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Any:
    """The subscriptions the caller manages (one client's when asked), with their cursors."""
    with platform.sessions() as s:
        rows = svc.list_subscriptions(s, actor, client_id)
    return {"items": [asdict(v) for v in rows]}


@router.get("/webhooks/dead-letters", response_model=DeadLetterList, responses=ERROR_RESPONSES)
def list_dead_letters(
    actor: CurrentActor,
    platform: PlatformDep,
    subscription_id: Annotated[int | None, Query(ge=1, le=API_INT_MAX)] = None,
    status: Annotated[Literal["dead", "replay", "replayed"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """Batches given up on, newest first."""
    with platform.sessions() as s:
        rows = svc.list_dead(s, actor, subscription_id, status=status, limit=limit)
    return {"items": [asdict(d) for d in rows]}


@router.post(
    "/webhooks/dead-letters/{dead_id}:replay",
    response_model=DeadLetterPublic,
    responses=ERROR_RESPONSES,
)
async def replay_dead_letter(dead_id: RowId, actor: CurrentActor, platform: PlatformDep) -> Any:
    """Send a dead batch again at the deliverer's next step (audited); 409 if it was already
    replayed."""
    d = await run_in_threadpool(platform.in_transaction, lambda s: svc.replay(s, actor, dead_id))
    return asdict(d)


@router.get("/webhooks/{sub_id}", response_model=WebhookPublic, responses=ERROR_RESPONSES)
def get_webhook(sub_id: RowId, actor: CurrentActor, platform: PlatformDep) -> Any:
    """One subscription (404 outside the caller's area)."""
    with platform.sessions() as s:
        return asdict(svc.get_subscription(s, actor, sub_id))


@router.post("/webhooks/{sub_id}:pause", response_model=WebhookPublic, responses=ERROR_RESPONSES)
async def pause_webhook(
    sub_id: RowId, actor: CurrentActor, platform: PlatformDep, body: PauseBody | None = None
) -> Any:
    """Stop delivering; the cursor stays where it is (audited)."""
    reason = body.reason if body else None
    v = await run_in_threadpool(
        platform.in_transaction, lambda s: svc.set_status(s, actor, sub_id, "paused", reason)
    )
    return asdict(v)


@router.post("/webhooks/{sub_id}:resume", response_model=WebhookPublic, responses=ERROR_RESPONSES)
async def resume_webhook(sub_id: RowId, actor: CurrentActor, platform: PlatformDep) -> Any:
    """Deliver again from the cursor, at once (audited)."""
    v = await run_in_threadpool(
        platform.in_transaction, lambda s: svc.set_status(s, actor, sub_id, "active")
    )
    return asdict(v)
