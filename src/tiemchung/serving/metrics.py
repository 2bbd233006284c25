"""Prometheus metrics: the requests (by route template and status), their latency, the ones in
flight, the writer's queue and group-commit sizes, and the stored work (serving/gauges.py).

Several workers (``tiemchung serve --workers N``) each count their own requests; a scrape
reaches one of them. ``serve`` therefore sets ``PROMETHEUS_MULTIPROC_DIR`` to a fresh folder
before the workers start, prometheus_client's multiprocess mode keeps each process's values in
a file there, and the answering worker sums them all. The variable must be set before
``prometheus_client`` is first imported in a process (it picks its value store then), which
``serve`` guarantees: the workers are new processes that inherit it.

The route label is the route's TEMPLATE (``/api/v1/persons/{person_id}``), never the raw path:
an ID in a label would make one time series per person, and put an ID into the monitoring.
Paths no route matches are counted as ``unmatched``.

``/metrics`` is not for the public (it tells the load and the backlog): it answers loopback,
the CIDRs of ``TIEMCHUNG_METRICS_ALLOW`` and a bearer ``TIEMCHUNG_METRICS_TOKEN``
(:func:`access`).
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from fastapi.routing import iter_route_contexts
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from tiemchung.config import Settings
from tiemchung.core import Platform
from tiemchung.serving.gauges import StoredGauges

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
UNMATCHED = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: Latency buckets (seconds): the desk's target is a p99 of 30 ms, so the low end is fine.
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Group-commit sizes: 1 (no company) up to the writer's default ``max_batch`` of 512.
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)

REQUESTS = Counter(
    "tiemchung_http_requests",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "tiemchung_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
IN_FLIGHT = Gauge(
    "tiemchung_http_requests_in_flight",
    "HTTP requests being answered now",
    multiprocess_mode="livesum",
)
WRITER_QUEUE = Gauge(
    "tiemchung_writer_queue_depth",
    "Writes queued for the group-commit writer and not yet in a batch",
    multiprocess_mode="livesum",
)
BATCH_SIZE = Histogram(
    "tiemchung_writer_batch_size",
    "Writes committed together by one group commit",
    buckets=BATCH_BUCKETS,
)


def route_templates(app: Any) -> dict[int, str]:
    """Each route's full template, by the route object's identity. FastAPI keeps an included
    router's routes with their own paths (``/persons/{person_id}``) and sets the matched one
    as ``scope["route"]``; the prefix it was included under is only in the route contexts."""
    routes = getattr(getattr(app, "router", None), "routes", [])
    return {
        id(context.original_route): context.path_format
        for context in iter_route_contexts(routes)
        if context.path_format
    }


def route_template(scope: Scope, templates: dict[int, str]) -> str:
    """The template of the route that answered (a mount's is ``/static/{path}``), else
    ``unmatched``."""
    route = scope.get("route")
    if route is None:
        return UNMATCHED
    template = templates.get(id(route)) or getattr(route, "path_format", None)
    return template if isinstance(template, str) else UNMATCHED


def watch_writer(writer: Any) -> None:
    """Observe the writer's group commits (once per writer)."""
    if writer.on_batch is None:

        def observe(size: int) -> None:
            BATCH_SIZE.observe(size)
            WRITER_QUEUE.set(writer.queue_depth())

        writer.on_batch = observe


class RequestMetrics:
    """ASGI middleware that counts and times every HTTP request (pure ASGI: the
    ``BaseHTTPMiddleware`` wrapper costs tens of microseconds a request on the desk's path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._templates: dict[int, str] | None = None  # read at the first request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._templates is None:  # every route is added before the first request
            app = scope.get("app")
            self._templates = route_templates(app)
            platform = getattr(getattr(app, "state", None), "platform", None)
            if platform is not None:
                watch_writer(platform.writer)
        status = 500  # an exception before the answer started is answered 500 outside us

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        method = scope["method"] if scope["method"] in _METHODS else "other"
        IN_FLIGHT.inc()
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_status)
        finally:
            elapsed = time.perf_counter() - start
            IN_FLIGHT.dec()
            route = route_template(scope, self._templates)
            REQUESTS.labels(method, route, str(status)).inc()
            LATENCY.labels(method, route).observe(elapsed)


def _networks(settings: Settings) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = [
        ipaddress.ip_network("127.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    ]
    for part in settings.metrics_allow.split(","):
        if part.strip():
            nets.append(ipaddress.ip_network(part.strip(), strict=False))
    return nets


def access(settings: Settings, client_host: str | None, authorization: str | None) -> int:
    """200 when the caller may scrape; 401 for a wrong or missing token where one would
    admit (a token is configured); 403 for an address outside the allowed networks."""
    token = settings.metrics_token
    if authorization and token:
        scheme, _, given = authorization.partition(" ")
        ok = scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)
        return 200 if ok else 401
    try:
        address = ipaddress.ip_address(client_host or "")
    except ValueError:
        address = None
    if address is not None and any(address in net for net in _networks(settings)):
        return 200
    return 401 if token else 403


_GAUGES: WeakKeyDictionary[Platform, StoredGauges] = WeakKeyDictionary()


def _clean_dead(folder: Path) -> None:
    """Forget the live gauges of workers that are gone (a killed worker's in-flight count
    must not stay in the sum); their counters stay, as counters must."""
    for path in folder.glob("gauge_live*_*.db"):
        pid = path.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not _pid_alive(int(pid)):
            multiprocess.mark_process_dead(int(pid), str(folder))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def exposition(platform: Platform) -> bytes:
    """The text a scrape gets: every worker's metrics (summed in multiprocess mode), then
    the stored-work gauges."""
    watch_writer(platform.writer)
    WRITER_QUEUE.set(platform.writer.queue_depth())
    folder = os.environ.get(MULTIPROC_ENV)
    if folder:
        _clean_dead(Path(folder))
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=folder)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    gauges = _GAUGES.get(platform)
    if gauges is None:
        gauges = _GAUGES[platform] = StoredGauges(platform)
    stored = CollectorRegistry(auto_describe=False)
    stored.register(gauges)
    return body + generate_latest(stored)
