"""``GET /metrics``: the Prometheus exposition (serving/metrics.py), for the monitoring only.

Outside ``/api/v1`` where Prometheus looks by default, and outside the OpenAPI document (it
is not part of the API partners program against). Its refusals are plain text: a scraper
shows the body as it is, and the page layer's error pages are for people.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from tiemchung.api.deps import PlatformDep
from tiemchung.serving import metrics

router = APIRouter(include_in_schema=False)

_REFUSALS = {
    401: "Cần mã truy cập số liệu giám sát (Bearer) / a metrics bearer token is required\n",
    403: (
        "Địa chỉ này không được đọc số liệu giám sát (TIEMCHUNG_METRICS_ALLOW) / "
        "this address may not read the metrics (TIEMCHUNG_METRICS_ALLOW)\n"
    ),
}


@router.get("/metrics")
async def scrape(request: Request, platform: PlatformDep) -> Response:
    """Every worker's request metrics and the stored work's gauges, for allowed callers."""
    host = request.client.host if request.client else None
    status = metrics.access(platform.settings, host, request.headers.get("authorization"))
    if status != 200:
        headers = {"WWW-Authenticate": 'Bearer realm="metrics"'} if status == 401 else None
        return PlainTextResponse(_REFUSALS[status], status_code=status, headers=headers)
    body = await run_in_threadpool(metrics.exposition, platform)
    return Response(body, media_type=metrics.CONTENT_TYPE)
