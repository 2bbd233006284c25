"""Breakdowns by vaccine (product) and sex, and the people a site vaccinated (issue 17).

Every level's dashboard shows them: doses (double entries excluded) in the area of the dose, or
at one site when the filters name a site (a site user's own dashboard), per product with the
vaccinated person's sex as columns — the register's sex for a dose linked to a person, else the
sex on the form, else "not given". The area and date range apply; the age group does not (the
cut has no birth year, so a breakdown never claims an age it did not use).
"""

from __future__ import annotations

from typing import Any

import duckdb

from tiemchung.registry.scope import Actor
from tiemchung.stats.filters import Filters, scope, where_sql
from tiemchung.stats.tables import Column, Table

#: sex codes of the cut, their columns and labels
SEXES = (
    ("M", "male", "Nam", "Male"),
    ("F", "female", "Nữ", "Female"),
    ("U", "unknown", "Không ghi", "Not given"),
)


def _source(f: Filters) -> str:
    """The smallest cut that answers (the conditions are :func:`.filters.where_sql`'s)."""
    return "site_daily" if f.site else "mix" if f.ward else "mix_p"


def doses_by_product(con: duckdb.DuckDBPyConnection, actor: Actor, f: Filters) -> Table:
    """Doses per product, split by sex, with a total row last."""
    f = scope(con, actor, f)
    source = _source(f)
    where, params = where_sql(f, days="day", by_site=True)
    sums = ", ".join(
        f"coalesce(sum(n) FILTER (WHERE sex = '{code}'), 0)::BIGINT AS {key}"
        for code, key, _, _ in SEXES
    )
    cur = con.execute(
        f"""SELECT product, {sums}, sum(n)::BIGINT AS total FROM {source}
            WHERE {where} GROUP BY product ORDER BY total DESC, product""",
        params,
    )
    names = [d[0] for d in cur.description]
    rows: list[dict[str, Any]] = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    if rows:
        total: dict[str, Any] = {"product": "Tổng / Total"}
        for key in (*(k for _, k, _, _ in SEXES), "total"):
            total[key] = sum(r[key] for r in rows)
        rows.append(total)
    cols = [
        Column("product", "Vắc xin", "Vaccine", "text"),
        *(Column(key, vi, en) for _, key, vi, en in SEXES),
        Column("total", "Tổng", "Total"),
    ]
    where_vi, where_en = (
        ("tại điểm tiêm", "given at the site")
        if f.site
        else ("theo nơi cư trú của người được tiêm", "by residence of the person vaccinated")
    )
    return Table(
        "doses_by_product",
        "Số mũi tiêm theo vắc xin và giới tính",
        "Doses by vaccine and sex",
        cols,
        rows,
        f"Mọi bản ghi mũi tiêm trừ bản ghi trùng, {where_vi}; giới tính theo sổ dân cư khi mũi "
        "tiêm đã gắn với người, nếu không thì theo phiếu. Không lọc theo nhóm tuổi.",
        f"Every dose record except double entries, {where_en}; sex from the register when the "
        "dose is linked to a person, else from the form. No age-group filter.",
    )


def site_people(con: duckdb.DuckDBPyConnection, actor: Actor, f: Filters) -> Table:
    """Per site of the area (or the one site): register persons with a verified dose given
    there — the people the site vaccinated, as of the snapshot."""
    f = scope(con, actor, f)
    where, params = where_sql(f, by_site=True)
    cur = con.execute(
        f"""SELECT site_id, name, ward, people FROM (
                SELECT s.site_id, s.name, s.ward, s.province,
                       coalesce(p.n, 0)::BIGINT AS people
                FROM site_names s LEFT JOIN site_people p ON p.site_id = s.site_id)
            WHERE {where} ORDER BY people DESC, site_id""",
        params,
    )
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    return Table(
        "site_people",
        "Số người đã tiêm tại điểm tiêm",
        "People vaccinated at each site",
        [
            Column("site_id", "Mã điểm tiêm", "Site", "text"),
            Column("name", "Điểm tiêm", "Site name", "text"),
            Column("ward", "Mã xã/phường", "Ward code", "text"),
            Column("people", "Số người đã tiêm (đã xác minh)", "People vaccinated (verified)"),
        ],
        rows,
        "Người trong sổ dân cư có ít nhất một mũi tiêm đã xác minh tại điểm tiêm, cộng dồn đến "
        "lúc tính số liệu; một người tiêm ở hai điểm được tính ở cả hai.",
        "Register persons with at least one verified dose given at the site, as of the "
        "snapshot; a person vaccinated at two sites counts at both.",
    )
