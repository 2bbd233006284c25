"""``GET /changes``: the change feed partners read by cursor (issue 19 point 3), thin over
``registry/changes/feed.py`` (``tiemchung changes list`` calls the same function). The read
is audited (one event per page), so it runs in a transaction of its own on a worker thread,
off the doses' group-commit writer. Partner clients read it too (OAuth2 client credentials
with the ``changes.read`` scope, ``auth/clients.py``), within their area."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from tiemchung.api.changes_schemas import ChangePagePublic
from tiemchung.api.deps import PlatformDep, require_scope
from tiemchung.api.problems import ERROR_RESPONSES
from tiemchung.registry.changes import feed
from tiemchung.registry.scope import Actor
from tiemchung.serving.types import API_INT_MAX

router = APIRouter(tags=["changes"])

#: staff by their role and area; a partner client by its area with the ``changes.read`` scope
FeedReader = Annotated[Actor, Depends(require_scope("changes.read"))]


@router.get("/changes", response_model=ChangePagePublic, responses=ERROR_RESPONSES)
async def list_changes(
    actor: FeedReader,
    platform: PlatformDep,
    after: Annotated[
        int,
        Query(ge=0, le=API_INT_MAX, description="the cursor: the last seq read (0: the start)"),
    ] = 0,
    limit: Annotated[
        int,
        Query(ge=1, le=feed.MAX_LIMIT, description=f"at most this many (1-{feed.MAX_LIMIT:,})"),
    ] = feed.DEFAULT_LIMIT,
) -> Any:
    """The changes after ``after`` in the caller's area (central all, a province its own, a
    commune its ward), in commit order. At least once: re-read each resource at its ``url``."""
    page = await run_in_threadpool(
        platform.in_transaction,
        lambda s: feed.read_changes(s, actor, after=after, limit=limit),
    )
    return page.as_dict()
