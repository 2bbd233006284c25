"""What the API and the dashboard read from the statistics: one function per question, each
taking the platform and opening its own snapshot cursor, so that neither ``api/`` nor ``web/``
touches DuckDB and both say the same about how fresh the figures are.

``platform`` is anything :func:`~tiemchung.stats.service.stats_for` accepts (the core's
``Platform``): this package sits below the core and does not import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from tiemchung.registry.errors import ServiceError
from tiemchung.registry.scope import Actor
from tiemchung.stats.filters import Filters, scope
from tiemchung.stats.page import PageData, page_data
from tiemchung.stats.queries import TABLES, applied, table
from tiemchung.stats.service import Snapshot, StatsService, stats_for
from tiemchung.stats.stockview import stock_table
from tiemchung.stats.tables import Table

#: the dashboard's stock panel: read live from the store, not from the snapshot
STOCK = "stock"


def freshness(snap: Snapshot, refreshing: bool, max_age: float = 600) -> dict[str, Any]:
    """What the page and the API say about how old the figures are."""
    return {
        "max_age_minutes": round(max_age / 60),
        "built_at": snap.meta["built_at"],
        "age_seconds": round(snap.age_seconds()),
        "refreshing": refreshing,
        "rows": snap.meta.get("rows"),
        "export_seconds": snap.meta.get("export_seconds"),
        "build_seconds": snap.meta.get("build_seconds"),
    }


def _fresh(svc: StatsService, snap: Snapshot) -> dict[str, Any]:
    return freshness(snap, svc.refreshing, svc.max_age)


def overview(platform: Any, actor: Actor) -> dict[str, Any]:
    """The tables there are, the caller's area (its province, or None: the country) and how
    fresh the figures are (``GET /stats``)."""
    svc = stats_for(platform)
    with svc.cursor() as (cur, snap):
        f = scope(cur, actor, Filters())
    return {
        "tables": [*TABLES, STOCK],
        "province": f.province,
        "ward": f.ward,
        "site": f.site,
        "snapshot": _fresh(svc, snap),
    }


def read_table(
    platform: Any, actor: Actor, name: str, f: Filters, today: date, *, full: bool = False
) -> tuple[Table, dict[str, Any], Filters]:
    """One statistics table for this actor, the freshness of the snapshot it came from, and
    the filters as applied (a province user's province filled in: the export's name).
    ``full``: every row (the downloads), else the page's rows."""
    svc = stats_for(platform)
    with svc.cursor() as (cur, snap):
        f = scope(cur, actor, f)
        if name == STOCK:
            f = applied(name, f)
            with platform.sessions() as session:
                t = stock_table(session, actor, f, today)
        else:
            t = table(cur, name, actor, f, today, full=full)
    return t, _fresh(svc, snap), f


def refresh(platform: Any) -> dict[str, Any]:
    """Start a new snapshot in the background; says how fresh the current one is."""
    svc = stats_for(platform)
    snap = svc.current()
    svc.start_refresh()
    return {"snapshot": _fresh(svc, snap)}


@dataclass
class Dashboard:
    """The dashboard's figures, how fresh they are, and why the filters asked for were not
    used (``error``: the figures are then the caller's whole area)."""

    data: PageData
    fresh: dict[str, Any]
    error: ServiceError | None = None
    #: the area's stock per lot (live, not from the snapshot)
    stock: Table | None = None


def dashboard(platform: Any, actor: Actor, f: Filters | ServiceError, today: date) -> Dashboard:
    """The dashboard's figures for the filters ``f``. Filters that could not be read (``f``
    is then the error saying why) or that lie outside the caller's area answer the figures of
    the caller's whole area, with the reason in ``error``. Raises ``SnapshotPendingError``
    before the first snapshot exists."""
    svc = stats_for(platform)
    error = f if isinstance(f, ServiceError) else None
    with svc.cursor() as (cur, snap):
        fresh = _fresh(svc, snap)
        data: PageData | None = None
        if isinstance(f, Filters):
            try:
                data = page_data(cur, snap.path, actor, f, today)
            except ServiceError as exc:
                error = exc
        if data is None:
            data = page_data(cur, snap.path, actor, Filters(), today)
    # the stock panel is a commune's or a site's (or a ward drilled down to): a province's or
    # the country's would sum every dose of every tracked lot on each page view, and has its
    # own page (/stock)
    stock = None
    if data.filters.ward or data.filters.site:
        with platform.sessions() as session:
            stock = stock_table(session, actor, data.filters, today)
    return Dashboard(data, fresh, error, stock)
