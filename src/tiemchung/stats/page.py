"""Everything the dashboard page shows for one filter, computed once per snapshot.

A snapshot never changes once written (a refresh writes a new file), so the page's tables for
a given snapshot, caller scope (role and province: all that :func:`.filters.scope` looks at),
filter and reference day are fixed: they are kept in a small LRU and the next officer opening
the same province view, or the same officer reloading it, is answered without a query. A new
snapshot has a new path, hence new keys; old entries age out. Measured in
``bench/dashboard_page.py`` (cold and warm loads).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb

from tiemchung.registry.scope import Actor, Role
from tiemchung.stats import summary
from tiemchung.stats.filters import Filters, scope
from tiemchung.stats.queries import TABLES, table
from tiemchung.stats.tables import Table

#: page views kept per process (a province has a few dozen wards × a few filters in use)
CACHE_SIZE = 128


@dataclass
class PageData:
    filters: Filters  # as scoped: a province user's province filled in
    provinces: list[tuple[str, str]]
    wards: list[tuple[str, str]]
    tables: dict[str, Table]
    cards: list[summary.Card]
    daily_table: Table  # per day, or per month when the days span more than two months
    #: derived views of this data the page memoises (the charts per language)
    memo: dict[Any, Any] = field(default_factory=dict)

    def name_of(self, code: str | None) -> str | None:
        names = dict(self.provinces) | dict(self.wards)
        return names.get(code or "", code)


_cache: OrderedDict[tuple[Any, ...], PageData] = OrderedDict()
_lock = threading.Lock()


def page_data(
    con: duckdb.DuckDBPyConnection, snapshot: Any, actor: Actor, f: Filters, today: date
) -> PageData:
    """The page's figures for ``f`` (raises the scope's ``ServiceError`` for a bad filter)."""
    key = (
        str(snapshot),
        actor.role,
        actor.province_code,
        actor.ward_code,
        actor.site_id,
        f,
        today,
    )
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    data = _compute(con, actor, f, today)
    with _lock:
        _cache[key] = data
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return data


def _compute(con: duckdb.DuckDBPyConnection, actor: Actor, f: Filters, today: date) -> PageData:
    f = scope(con, actor, f)
    provinces = [
        (str(c), str(n))
        for c, n in con.execute(
            "SELECT code, name FROM places WHERE level = 'province' AND code IN "
            "(SELECT DISTINCT province FROM reg) ORDER BY name"
        ).fetchall()
    ]
    wards = (
        [
            (str(c), str(n))
            for c, n in con.execute(
                "SELECT code, name FROM places WHERE level = 'ward' AND in_province = ? "
                "AND code IN (SELECT DISTINCT ward FROM reg) ORDER BY name",
                [f.province],
            ).fetchall()
        ]
        if f.province
        else []
    )
    if actor.role in (Role.COMMUNE, Role.SITE):  # their own area only in the filter lists
        provinces = [p for p in provinces if p[0] == f.province]
        wards = [w for w in wards if w[0] == f.ward]
    t = {name: table(con, name, actor, f, today) for name in TABLES}
    return PageData(
        f,
        provinces,
        wards,
        t,
        summary.cards(t, f),
        summary.per_month(t["doses_per_day"], f) or t["doses_per_day"],
    )


def clear() -> None:
    """Forget every page (tests)."""
    with _lock:
        _cache.clear()
