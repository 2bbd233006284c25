"""``GET /audit``: the audit log, searched and paged, or exported as CSV (issue 17).

The service (:mod:`tiemchung.auth.auditlog`) decides who may read what (province and central,
a province the events of its own users) and audits the reading itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from tiemchung.api.deps import CurrentActor, PlatformDep
from tiemchung.api.problems import ERROR_RESPONSES
from tiemchung.api.users_schemas import AuditEventPublic, AuditPage
from tiemchung.auth import auditlog
from tiemchung.serving.downloads import content_disposition
from tiemchung.serving.types import RowId

router = APIRouter(tags=["audit"])


@router.get(
    "/audit",
    response_model=AuditPage,
    responses={
        **ERROR_RESPONSES,
        200: {
            "description": "A page of events (JSON), or every matching event (format=csv)",
            "content": {"text/csv": {"example": "id,at,username,user_id,action,…\n"}},
        },
    },
)
async def search_audit(
    actor: CurrentActor,
    platform: PlatformDep,
    user: Annotated[str | None, Query(max_length=80, description="who acted")] = None,
    person: Annotated[
        str | None, Query(max_length=40, description="a register person id: reads and doses")
    ] = None,
    action: Annotated[
        str | None,
        Query(max_length=40, description="an action (user.disable) or a family (user)"),
    ] = None,
    since: Annotated[date | None, Query(alias="from", description="first day, included")] = None,
    until: Annotated[date | None, Query(alias="to", description="last day, included")] = None,
    before: RowId | None = None,
    limit: Annotated[int, Query(ge=1, le=auditlog.MAX_PAGE)] = 100,
    format: Literal["json", "csv"] = "json",
) -> Any:
    """Newest first, ``before`` pages to older events (keyset); ``format=csv`` streams
    every matching event (``before`` and ``limit`` ignored). Province and central only."""
    q = auditlog.AuditQuery(user, person, action, since, until)
    tz = platform.tz
    if format == "csv":
        await run_in_threadpool(
            platform.in_transaction, lambda s: auditlog.start_export(s, actor, q)
        )

        def rows() -> Iterator[str]:
            with platform.sessions() as s:
                yield from auditlog.export_csv(s, actor, q, tz=tz)

        return StreamingResponse(
            rows(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": content_disposition("audit.csv")},
        )
    items, next_before = await run_in_threadpool(
        platform.in_transaction,
        lambda s: auditlog.search_audit(s, actor, q, tz=tz, before=before, limit=limit),
    )
    return AuditPage(
        items=[AuditEventPublic.model_validate(e) for e in items], next_before=next_before
    )
