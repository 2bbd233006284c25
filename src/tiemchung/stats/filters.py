"""Who may read the statistics, and which filters: the :class:`Filters` a dashboard page or
an API call asks for, and :func:`scope`, which completes them for the caller (a province user's
province) or refuses them, checked against the snapshot's places.

Split from :mod:`.queries` (the tables) because every entry point goes through it before any
table is read: the API and the dashboard scope a request once to name its export, the tables
scope again themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import duckdb

from tiemchung.registry.errors import forbidden, role_not_allowed, rule_error
from tiemchung.registry.scope import Actor, Role
from tiemchung.stats.ages import BY_CODE

STATS_ROLES = (Role.CENTRAL, Role.PROVINCE)


@dataclass(frozen=True)
class Filters:
    province: str | None = None
    ward: str | None = None
    age_group: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    def ref_year(self, today: date) -> int:
        """The year ages are counted in: the end of the range, else today."""
        return (self.date_to or today).year


def scope(con: duckdb.DuckDBPyConnection, actor: Actor, f: Filters) -> Filters:
    """The filters this actor may ask for, completed (a province user's province) or refused."""
    if actor.role not in STATS_ROLES:
        raise role_not_allowed(
            "Bảng số liệu chỉ dành cho cán bộ tỉnh và trung ương",
            "The dashboard is for province and central users",
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
            if actor.role is Role.PROVINCE:
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


def _place(con: duckdb.DuckDBPyConnection, code: str, level: str) -> tuple[str, str] | None:
    row = con.execute(
        "SELECT name, in_province FROM places WHERE code = ? AND level = ?", [code, level]
    ).fetchone()
    return (str(row[0]), str(row[1])) if row else None
