"""Who may read the statistics, and which filters: the :class:`Filters` a dashboard page or
an API call asks for, and :func:`scope`, which completes them for the caller (a province user's
province) or refuses them, checked against the snapshot's places.

Split from :mod:`.queries` (the tables) because every entry point goes through it before any
table is read: the API and the dashboard scope a request once to name its export, the tables
scope again themselves. :func:`where_sql` turns scoped filters into the WHERE clause every
aggregate table is read with (:mod:`.queries` and :mod:`.breakdowns` alike), so a filter means
the same in each table.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import duckdb

from tiemchung.registry.errors import forbidden, role_not_allowed, rule_error
from tiemchung.registry.scope import Actor, Role
from tiemchung.stats.ages import BY_CODE, age_group_sql

#: every health-staff level has a dashboard (issue 17): a commune sees its ward, a site its own
#: doses and its ward; citizens see their own records on their page instead
STATS_ROLES = (Role.CENTRAL, Role.PROVINCE, Role.COMMUNE, Role.SITE)
#: a refresh rebuilds the whole country's snapshot: asked for by province and central only
REFRESH_ROLES = (Role.CENTRAL, Role.PROVINCE)


@dataclass(frozen=True)
class Filters:
    province: str | None = None
    ward: str | None = None
    age_group: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    #: one vaccination site: its doses per day, its tallies, and its ward's coverage
    site: str | None = None

    def ref_year(self, today: date) -> int:
        """The year ages are counted in: the end of the range, else today."""
        return (self.date_to or today).year


def unplaced(f: Filters) -> Filters:
    """``f`` without its area: a site's own rows are found by the site, not its ward."""
    return replace(f, province=None, ward=None, site=None)


def where_sql(
    f: Filters,
    *,
    age: bool = False,
    ref_year: int = 0,
    days: str | None = None,
    to_only: bool = False,
    by_site: bool = False,
) -> tuple[str, list[Any]]:
    """The WHERE clause (and its parameters) of scoped filters over an aggregate table with
    ``province`` and ``ward`` columns: the area; the age group when ``age`` (over
    ``birth_year``, ages counted in ``ref_year``); the date range over the column ``days``
    (only its end when ``to_only``: coverage is cumulative). ``by_site``: a table with a
    ``site_id`` column answers one site by its own rows (wherever its people live, no age:
    no site cut has a birth year) rather than by the site's ward."""
    if by_site and f.site:
        where, params = where_sql(unplaced(f), days=days, to_only=to_only)
        return f"{where} AND site_id = ?", [*params, f.site]
    cond: list[str] = ["TRUE"]
    params = []
    if f.site and not f.ward:  # a site with no ward has no area of its own (not the province)
        cond.append("FALSE")
    if f.ward:
        cond.append("ward = ?")
        params.append(f.ward)
    elif f.province:
        cond.append("province = ?")
        params.append(f.province)
    if age and f.age_group:
        cond.append(f"{age_group_sql('birth_year', ref_year)} = ?")
        params.append(f.age_group)
    if days:
        if f.date_from and not to_only:
            cond.append(f"{days} >= ?")
            params.append(f.date_from)
        if f.date_to:
            cond.append(f"{days} <= ?")
            params.append(f.date_to)
    return " AND ".join(cond), params


def scope(con: duckdb.DuckDBPyConnection, actor: Actor, f: Filters) -> Filters:
    """The filters this actor may ask for, completed (a province user's province) or refused."""
    if actor.role not in STATS_ROLES:
        raise role_not_allowed(
            "Bảng số liệu chỉ dành cho cán bộ y tế (điểm tiêm, xã, tỉnh, trung ương)",
            "The dashboard is for health staff (site, commune, province, central)",
            rule="role",
        )
    if f.age_group is not None and f.age_group not in BY_CODE:
        raise rule_error(
            "age_group",
            "choice",
            f"Nhóm tuổi '{f.age_group}' không có; chọn một trong {list(BY_CODE)}",
            f"Unknown age group '{f.age_group}'; choose one of {list(BY_CODE)}",
        )
    if f.date_from and f.date_to and f.date_from > f.date_to:
        raise rule_error(
            "date_from",
            "range",
            "Ngày bắt đầu sau ngày kết thúc",
            "The start date is after the end date",
        )
    f = _own_area(con, actor, f)
    province = f.province
    if actor.role is Role.PROVINCE:
        if province is not None and province != actor.province_code:
            raise forbidden(
                "province", "Tỉnh này ngoài phạm vi của bạn", "That province is outside your area"
            )
        province = actor.province_code
    if province is not None and _place(con, province, "province") is None:
        raise rule_error(
            "province",
            "unknown",
            f"Không có tỉnh mã '{province}'",
            f"No province with code '{province}'",
        )
    if f.ward is not None:
        unit = _place(con, f.ward, "ward")
        if unit is None:
            raise rule_error(
                "ward",
                "unknown",
                f"Không có xã/phường mã '{f.ward}'",
                f"No ward with code '{f.ward}'",
            )
        if province is not None and unit[1] != province:
            if actor.role is not Role.CENTRAL:
                raise forbidden(
                    "ward", "Xã/phường này ngoài phạm vi của bạn", "That ward is outside your area"
                )
            raise rule_error(
                "ward",
                "not_in_province",
                "Xã/phường không thuộc tỉnh đã chọn",
                "The ward is not in the chosen province",
            )
        province = unit[1]
    return replace(f, province=province)


def _outside(field: str) -> Exception:
    what = {"province": "Tỉnh", "ward": "Xã/phường", "site": "Điểm tiêm"}[field]
    return forbidden(
        field, f"{what} này ngoài phạm vi của bạn", f"That {field} is outside your area"
    )


def _own_area(con: duckdb.DuckDBPyConnection, actor: Actor, f: Filters) -> Filters:
    """A commune's filters pinned to its ward, a site's to itself and its ward; a site asked
    for by a province or central user, checked and placed in its ward. Asking for another
    area is a 403 naming the field (a commune or site never sees a neighbour's figures)."""
    site = f.site
    if actor.role is Role.SITE:
        if site is not None and site != actor.site_id:
            raise _outside("site")
        site = actor.site_id or ""  # a site user without a site sees nothing, not the country
    if actor.role is Role.COMMUNE:
        if f.ward is not None and f.ward != actor.ward_code:
            raise _outside("ward")
        ward = actor.ward_code or ""
        unit = _place(con, ward, "ward")
        province = unit[1] if unit else actor.province_code
        if f.province is not None and f.province != province:
            raise _outside("province")
        if site is not None:
            placed = _site(con, site)
            if placed is None or placed[0] != ward:
                raise _outside("site")
        return replace(f, ward=ward, province=province)
    if site is None:
        return f
    placed = _site(con, site)
    if placed is None:
        if actor.role is Role.SITE:  # a new site, not in the snapshot yet: its own figures
            return replace(f, site=site, ward=None, province=None)
        raise rule_error(
            "site", "unknown", f"Không có điểm tiêm mã '{site}'", f"No site with code '{site}'"
        )
    site_ward, site_province = placed
    if actor.role is Role.PROVINCE and site_province != actor.province_code:
        raise _outside("site")
    if actor.role is Role.SITE:
        if f.ward is not None and f.ward != site_ward:
            raise _outside("ward")
        if f.province is not None and f.province != site_province:
            raise _outside("province")
    elif f.ward is not None and f.ward != site_ward:
        raise rule_error(
            "site",
            "not_in_ward",
            "Điểm tiêm không thuộc xã/phường đã chọn",
            "The site is not in the chosen ward",
        )
    # a site without a ward: its province is kept for the export's name, but the area tables
    # (coverage, quality, backlog) answer nothing rather than the whole province
    return replace(f, site=site, ward=site_ward, province=site_province)


def _site(con: duckdb.DuckDBPyConnection, site: str) -> tuple[str | None, str | None] | None:
    row = con.execute("SELECT ward, province FROM site_names WHERE site_id = ?", [site]).fetchone()
    return (row[0], row[1]) if row else None


def _place(con: duckdb.DuckDBPyConnection, code: str, level: str) -> tuple[str, str] | None:
    row = con.execute(
        "SELECT name, in_province FROM places WHERE code = ? AND level = ?", [code, level]
    ).fetchone()
    return (str(row[0]), str(row[1])) if row else None
