"""The dashboard's statistics, read from a snapshot's aggregate tables (see :mod:`.build`).

Every function takes the caller's :class:`Actor` and the page's :class:`Filters`, and goes
through :func:`scope` first (both in :mod:`.filters`): province
users see their province, central users the country; commune, site and citizen users are
refused (their pages show their own records instead). A query answers per province (no
province chosen), per ward of a province, or for one ward.

Which filters apply: area everywhere; age group to coverage and doses per day (tallies and
the quality categories carry no age); the date range to doses per day and recorded vs reported,
while coverage is cumulative *as of* the end date.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import duckdb

from tiemchung.registry.errors import rule_error
from tiemchung.registry.scope import Actor
from tiemchung.stats import breakdowns
from tiemchung.stats.ages import AGE_GROUPS, UNKNOWN, age_group_sql
from tiemchung.stats.filters import Filters, scope, where_sql
from tiemchung.stats.tables import Column, Table, pct

MAX_SITE_ROWS = 500


# -- building blocks ----------------------------------------------------------------------------
def _level(f: Filters) -> str:
    """The rows' area: ``province`` (country view), ``ward`` (a province or one ward)."""
    return "ward" if f.province else "province"


def _area_columns(level: str) -> list[Column]:
    if level == "ward":
        return [
            Column("code", "Mã xã/phường", "Ward code", "text"),
            Column("name", "Xã/phường", "Ward", "text"),
        ]
    return [
        Column("code", "Mã tỉnh", "Province code", "text"),
        Column("name", "Tỉnh/thành phố", "Province", "text"),
    ]


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _named(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        if r.get("code") is None:
            r["code"], r["name"] = "", "(không rõ / unknown)"
        elif r.get("name") is None:
            r["name"] = r["code"]


# -- coverage -----------------------------------------------------------------------------------
_COV = [
    Column("registered", "Người trong sổ dân cư", "Register persons"),
    Column("first", "Đã tiêm ≥ 1 mũi", "≥ 1 dose"),
    Column("first_pct", "% ≥ 1 mũi", "% ≥ 1 dose", "pct"),
    Column("full", "Đủ liều cơ bản", "Full primary series"),
    Column("full_pct", "% đủ liều cơ bản", "% full primary", "pct"),
    Column("booster", "Mũi nhắc lại", "Booster"),
    Column("booster_pct", "% mũi nhắc lại", "% booster", "pct"),
]
_COV_NOTE = (
    "Mẫu số: người trong sổ dân cư của địa bàn. Tử số: người có mũi tiêm đã xác minh với sổ "
    "dân cư đến ngày kết thúc. Đủ liều cơ bản: mũi số ≥ số mũi cơ bản của vắc xin. Tuổi tính "
    "theo năm sinh.",
    "Denominator: register persons of the area. Numerator: persons with a dose verified "
    "against the register up to the end date. Full primary: a dose number ≥ the product's "
    "primary doses. Age is counted by birth year.",
)


def _coverage(
    con: duckdb.DuckDBPyConnection, f: Filters, key: str, ref_year: int, *, by_sex: bool = False
) -> list[dict[str, Any]]:
    """Coverage grouped by the expression ``key``; ``by_sex``: over the cuts with the sex."""
    where_r, pr = where_sql(f, age=True, ref_year=ref_year)
    reg = "reg_sex" if by_sex else "reg"
    if f.date_to is None:  # as of the snapshot: no day to filter on
        source, where_c, pc_ = "cov_sex_now" if by_sex else "cov_now", where_r, list(pr)
    else:
        needs_ward = key == "ward" or f.ward is not None
        source = "cov_sex" if by_sex else "cov" if needs_ward else "cov_pday"
        where_c, pc_ = where_sql(f, age=True, ref_year=ref_year, days="day", to_only=True)
    sql = f"""
        WITH r AS (SELECT {key} AS k, sum(n) AS registered FROM {reg} WHERE {where_r} GROUP BY 1),
        c AS (SELECT {key} AS k,
                     sum(n) FILTER (WHERE measure = 'first') AS first,
                     sum(n) FILTER (WHERE measure = 'full') AS full,
                     sum(n) FILTER (WHERE measure = 'booster') AS booster
              FROM {source} WHERE {where_c} GROUP BY 1)
        SELECT coalesce(r.k, c.k) AS k, coalesce(r.registered, 0)::BIGINT AS registered,
               coalesce(c.first, 0)::BIGINT AS first, coalesce(c.full, 0)::BIGINT AS full,
               coalesce(c.booster, 0)::BIGINT AS booster
        FROM r FULL JOIN c ON r.k IS NOT DISTINCT FROM c.k ORDER BY 1 NULLS LAST"""
    rows = _rows(con, sql, pr + pc_)
    for r in rows:
        for m in ("first", "full", "booster"):
            r[f"{m}_pct"] = pct(r[m], r["registered"])
    return rows


def coverage(con: duckdb.DuckDBPyConnection, actor: Actor, f: Filters, today: date) -> Table:
    """Coverage per province (or per ward of the chosen province) over register persons."""
    f = scope(con, actor, f)
    level, ref = _level(f), f.ref_year(today)
    rows = _coverage(con, f, level, ref)
    names = dict(con.execute("SELECT code, name FROM places WHERE level = ?", [level]).fetchall())
    for r in rows:
        r["code"] = r.pop("k")
        r["name"] = names.get(r["code"])
    _named(rows)
    return Table(
        "coverage",
        "Độ bao phủ theo địa bàn",
        "Coverage by area",
        _area_columns(level) + _COV,
        rows,
        *_COV_NOTE,
    )


def coverage_by_age(con: duckdb.DuckDBPyConnection, actor: Actor, f: Filters, today: date) -> Table:
    """Coverage of the chosen area per age group (the age-group filter is not applied)."""
    f = scope(con, actor, f)
    ref = f.ref_year(today)
    got = {
        r["k"]: r
        for r in _coverage(con, replace(f, age_group=None), age_group_sql("birth_year", ref), ref)
    }
    rows = []
    for g in (*AGE_GROUPS, UNKNOWN):
        r = got.get(g.code)
        if r is None and g is UNKNOWN:
            continue
        r = r or {
            "registered": 0,
            "first": 0,
            "full": 0,
            "booster": 0,
            "first_pct": None,
            "full_pct": None,
            "booster_pct": None,
        }
        r.pop("k", None)
        rows.append({"age_group": g.code, "label_vi": g.vi, "label_en": g.en} | r)
    cols = [Column("age_group", "Nhóm tuổi", "Age group", "text"), *_COV]
    return Table(
        "coverage_by_age",
        f"Độ bao phủ theo nhóm tuổi (tuổi năm {ref})",
        f"Coverage by age group (age in {ref})",
        cols,
        rows,
        *_COV_NOTE,
    )


#: the register's sex in coverage by sex: code, vi, en (U only shown when someone has it)
SEX_ROWS = (("M", "Nam", "Male"), ("F", "Nữ", "Female"), ("U", "Không ghi", "Not given"))


def coverage_by_sex(con: duckdb.DuckDBPyConnection, actor: Actor, f: Filters, today: date) -> Table:
    """Coverage of the chosen area per sex (the register person's: numerator and denominator
    alike), with the age group and the end date applied as in :func:`coverage`."""
    f = scope(con, actor, f)
    ref = f.ref_year(today)
    got = {r.pop("k"): r for r in _coverage(con, f, "sex", ref, by_sex=True)}
    empty = dict.fromkeys(("registered", "first", "full", "booster"), 0) | dict.fromkeys(
        ("first_pct", "full_pct", "booster_pct")
    )
    rows = [
        {"sex": code, "label_vi": vi, "label_en": en} | got.get(code, empty)
        for code, vi, en in SEX_ROWS
        if code in got or code != "U"
    ]
    return Table(
        "coverage_by_sex",
        "Độ bao phủ theo giới tính",
        "Coverage by sex",
        [Column("sex", "Giới tính", "Sex", "text"), *_COV],
        rows,
        _COV_NOTE[0] + " Giới tính theo sổ dân cư.",
        _COV_NOTE[1] + " Sex as in the register.",
    )


# -- doses per day ----------------------------------------------------------------------------
def doses_per_day(con: duckdb.DuckDBPyConnection, actor: Actor, f: Filters, today: date) -> Table:
    """Dose records per day by dose number (double entries excluded), in the area of the dose."""
    f = scope(con, actor, f)
    # a site: its own doses, wherever its people live (no age: site_daily has none)
    where, params = where_sql(f, age=True, ref_year=f.ref_year(today), days="day", by_site=True)
    if f.site:
        source = "site_daily"
    else:
        # the smallest cut that answers: no ward -> daily_p; a ward, no age -> daily_w
        source = "daily" if f.ward and f.age_group else "daily_w" if f.ward else "daily_p"
    rows = _rows(
        con,
        f"""
        SELECT day,
               coalesce(sum(n) FILTER (WHERE dose_number = 1), 0)::BIGINT AS dose1,
               coalesce(sum(n) FILTER (WHERE dose_number = 2), 0)::BIGINT AS dose2,
               coalesce(sum(n) FILTER (WHERE dose_number = 3), 0)::BIGINT AS dose3,
               coalesce(sum(n) FILTER (WHERE dose_number >= 4), 0)::BIGINT AS dose4,
               sum(n)::BIGINT AS total
        FROM {source} WHERE {where} GROUP BY day ORDER BY day""",
        params,
    )
    cols = [
        Column("day", "Ngày", "Day", "date"),
        Column("dose1", "Mũi 1", "Dose 1"),
        Column("dose2", "Mũi 2", "Dose 2"),
        Column("dose3", "Mũi 3", "Dose 3"),
        Column("dose4", "Mũi 4 trở lên", "Dose 4+"),
        Column("total", "Tổng (theo nơi cư trú)", "Total (by residence)"),
    ]
    return Table(
        "doses_per_day",
        "Số mũi tiêm theo ngày",
        "Doses per day",
        cols,
        rows,
        "Mọi bản ghi mũi tiêm trừ bản ghi trùng, tính theo nơi cư trú của người được tiêm "
        "(mũi chưa xác minh: xã ghi trên phiếu, nếu không có thì xã của điểm tiêm), "
        "dù tiêm ở điểm tiêm nào.",
        "Every dose record except double entries, counted by where the vaccinated person "
        "lives (an unverified dose: the ward on its form, else the site's ward), wherever "
        "the dose was given.",
    )


# -- recorded vs reported -----------------------------------------------------------------------
_RVR = [
    Column(
        "recorded",
        "Đã nhập phần mềm (theo nơi đặt điểm tiêm)",
        "Recorded on the platform (by site location)",
    ),
    Column("reported", "Báo cáo của điểm tiêm", "Reported by the site"),
    Column("gap", "Chênh lệch (báo cáo − nhập)", "Gap (reported − recorded)"),
    Column("recorded_pct", "% đã nhập", "% recorded", "pct"),
]
_RVR_NOTE = (
    "Như các báo cáo nguồn tính tỷ lệ mũi tiêm đã cập nhật lên phần mềm: số mũi đã nhập (trừ "
    "bản ghi trùng) của điểm tiêm, ngày và vắc xin có báo cáo, so với số báo cáo. Mũi đã nhập "
    "mà điểm tiêm không báo cáo được tính riêng. Tính theo nơi đặt điểm tiêm: mọi mũi tiêm "
    "tại các điểm tiêm trong địa bàn, kể cả cho người cư trú nơi khác.",
    "As the source reports counted the share of doses entered on the software: doses recorded "
    "(double entries excluded) for the site, day and product a tally covers, over the tally. "
    "Doses recorded where no tally was sent are counted apart. Counted by site location: "
    "every dose given at the sites in the area, including to people living elsewhere.",
)


def _rvr_rows(
    con: duckdb.DuckDBPyConnection, f: Filters, keys: str, order: str, limit: int | None = None
) -> list[dict[str, Any]]:
    """Sums of ``rvr`` (per site and day) or, with no ward chosen, ``rvr_pday``; rows are
    grouped by ``keys`` unless those are the site-day keys themselves."""
    per_site = keys.startswith("site_id")
    where, params = where_sql(f, days="day", by_site=True)
    source = "rvr" if f.ward or f.site or per_site else "rvr_pday"
    if per_site:
        sql = f"""SELECT {keys}, recorded, reported, recorded_untallied,
                         reported - recorded AS gap
                  FROM rvr WHERE {where} ORDER BY {order}"""
    else:
        sql = f"""
        SELECT {keys}, coalesce(sum(recorded), 0)::BIGINT AS recorded,
               coalesce(sum(reported), 0)::BIGINT AS reported,
               coalesce(sum(recorded_untallied), 0)::BIGINT AS recorded_untallied
        FROM {source} WHERE {where} GROUP BY ALL ORDER BY {order}"""
    if limit is not None:
        sql += f" LIMIT {int(limit) + 1}"
    rows = _rows(con, sql, params)
    for r in rows:
        r["gap"] = r["reported"] - r["recorded"]
        r["recorded_pct"] = pct(r["recorded"], r["reported"])
    return rows


def recorded_vs_reported(con: duckdb.DuckDBPyConnection, actor: Actor, f: Filters) -> Table:
    """The area's totals: recorded vs reported, gap and percentage (one row)."""
    f = scope(con, actor, f)
    rows = _rvr_rows(con, f, "1 AS one", "1")
    for r in rows:
        r.pop("one")
    if not rows:
        rows = [
            {"recorded": 0, "reported": 0, "recorded_untallied": 0, "gap": 0, "recorded_pct": None}
        ]
    cols = [*_RVR, Column("recorded_untallied", "Đã nhập, không có báo cáo", "Recorded, no tally")]
    return Table(
        "recorded_vs_reported",
        "Đã nhập so với báo cáo",
        "Recorded vs reported",
        cols,
        rows,
        *_RVR_NOTE,
    )


def recorded_vs_reported_by_day(con: duckdb.DuckDBPyConnection, actor: Actor, f: Filters) -> Table:
    f = scope(con, actor, f)
    rows = _rvr_rows(con, f, "day", "day")
    cols = [
        Column("day", "Ngày", "Day", "date"),
        *_RVR,
        Column("recorded_untallied", "Đã nhập, không có báo cáo", "Recorded, no tally"),
    ]
    return Table(
        "recorded_vs_reported_by_day",
        "Đã nhập so với báo cáo theo ngày",
        "Recorded vs reported per day",
        cols,
        rows,
        *_RVR_NOTE,
    )


def recorded_vs_reported_by_site(
    con: duckdb.DuckDBPyConnection, actor: Actor, f: Filters, *, limit: int | None = MAX_SITE_ROWS
) -> Table:
    """Per site and day, the largest gaps first; ``limit`` rows (None: all, for exports)."""
    f = scope(con, actor, f)
    rows = _rvr_rows(
        con,
        f,
        "site_id, ward, day",
        "gap DESC, site_id, day",
        limit,
    )
    truncated = limit is not None and len(rows) > limit
    rows = rows[:limit] if limit is not None else rows
    sites = dict(con.execute("SELECT site_id, name FROM site_names").fetchall())
    wards = dict(con.execute("SELECT code, name FROM places WHERE level = 'ward'").fetchall())
    for r in rows:
        r["site_name"] = sites.get(r["site_id"])
        r["ward_name"] = wards.get(r["ward"])
    cols = [
        Column("site_id", "Mã điểm tiêm", "Site", "text"),
        Column("site_name", "Điểm tiêm", "Site name", "text"),
        Column("ward", "Mã xã/phường", "Ward code", "text"),
        Column("ward_name", "Xã/phường", "Ward", "text"),
        Column("day", "Ngày", "Day", "date"),
        *_RVR,
        Column("recorded_untallied", "Đã nhập, không có báo cáo", "Recorded, no tally"),
    ]
    t = Table(
        "recorded_vs_reported_by_site",
        "Đã nhập so với báo cáo theo điểm tiêm và ngày",
        "Recorded vs reported per site and day",
        cols,
        rows,
        *_RVR_NOTE,
    )
    t.truncated = truncated
    return t


# -- data quality -------------------------------------------------------------------------------
_QUALITY = [
    Column("total", "Tổng số bản ghi", "Dose records"),
    Column("verified", "Đã xác minh, đúng thông tin", "Verified, information right"),
    Column("verified_wrong", "Đã xác minh nhưng sai thông tin", "Verified, information wrong"),
    Column("wrong_id", "Sai số định danh", "Wrong ID number"),
    Column("wrong_dob", "Sai ngày sinh", "Wrong date of birth"),
    Column("wrong_name", "Sai họ tên", "Wrong name"),
    Column("wrong_other", "Sai thông tin khác", "Other wrong information"),
    Column("review", "Đang chờ xã rà soát", "Awaiting commune review"),
    Column("not_found", "Không tìm thấy trong sổ dân cư", "Not found in the register"),
    Column("duplicate", "Bản ghi trùng", "Duplicates"),
    Column("pending", "Chưa đối soát", "Not yet reconciled"),
    Column("verified_pct", "% đã xác minh", "% verified", "pct"),
]
_CATS = ("verified", "verified_wrong", "review", "not_found", "duplicate", "pending")


def quality(con: duckdb.DuckDBPyConnection, actor: Actor, f: Filters) -> Table:
    """Dose records per area in the source reports' categories."""
    f = scope(con, actor, f)
    level = _level(f)
    where, params = where_sql(f)
    cats = ", ".join(
        f"coalesce(sum(n) FILTER (WHERE category = '{c}'), 0)::BIGINT AS {c}" for c in _CATS
    )
    wrong = ", ".join(
        f"sum({w})::BIGINT AS {w}" for w in ("wrong_id", "wrong_dob", "wrong_name", "wrong_other")
    )
    rows = _rows(
        con,
        f"""
        SELECT q.{level} AS code, p.name, sum(n)::BIGINT AS total, {cats}, {wrong}
        FROM quality q LEFT JOIN places p ON p.code = q.{level} AND p.level = '{level}'
        WHERE {where} GROUP BY ALL ORDER BY 1 NULLS LAST""",
        params,
    )
    for r in rows:
        r["verified_pct"] = pct(r["verified"] + r["verified_wrong"], r["total"])
    _named(rows)
    return Table(
        "quality",
        "Chất lượng dữ liệu",
        "Data quality",
        _area_columns(level) + _QUALITY,
        rows,
        "Sai thông tin theo trường: mũi đã xác minh có trường được sửa, và mũi đang "
        "chờ rà soát có trường khác sổ dân cư; một bản ghi có thể sai nhiều trường. Mũi đang "
        "chờ rà soát được tính ở xã có danh sách rà soát chứa mục đó, như bảng tồn đọng.",
        "Wrong information by field: verified doses with a corrected field, and doses "
        "awaiting review with a field differing from the register; a record may have "
        "several wrong fields. A dose awaiting review counts in the ward whose worklist "
        "holds its item, as in the backlog.",
    )


# -- worklist backlog ---------------------------------------------------------------------------
def backlog(con: duckdb.DuckDBPyConnection, actor: Actor, f: Filters) -> Table:
    """Review items per area: open (by kind), decided, superseded."""
    f = scope(con, actor, f)
    level = _level(f)
    where, params = where_sql(f)
    rows = _rows(
        con,
        f"""
        SELECT b.{level} AS code, p.name,
          coalesce(sum(n) FILTER (WHERE status = 'open'), 0)::BIGINT AS open,
          coalesce(sum(n) FILTER (WHERE status = 'open' AND kind = 'review'), 0)::BIGINT
              AS open_review,
          coalesce(sum(n) FILTER (WHERE status = 'open' AND kind = 'not_found'), 0)::BIGINT
              AS open_not_found,
          coalesce(sum(n) FILTER (WHERE status = 'open' AND kind = 'unverified'), 0)::BIGINT
              AS open_unverified,
          coalesce(sum(n) FILTER (WHERE status = 'open' AND kind = 'ticket'), 0)::BIGINT
              AS open_ticket,
          coalesce(sum(n) FILTER (WHERE status IN ('accepted', 'rejected', 'edited')), 0)::BIGINT
              AS decided,
          coalesce(sum(n) FILTER (WHERE status = 'superseded'), 0)::BIGINT AS superseded
        FROM backlog b LEFT JOIN places p ON p.code = b.{level} AND p.level = '{level}'
        WHERE {where} GROUP BY ALL ORDER BY 3 DESC, 1 NULLS LAST""",
        params,
    )
    for r in rows:
        r["decided_pct"] = pct(r["decided"], r["decided"] + r["open"])
    _named(rows)
    cols = [
        *_area_columns(level),
        Column("open", "Còn mở", "Open"),
        Column("open_review", "Cần rà soát", "To review"),
        Column("open_not_found", "Không tìm thấy", "Not found"),
        Column("open_unverified", "Chưa xác minh", "Unverified"),
        Column("open_ticket", "Phản ánh của người dân", "Citizens' reports"),
        Column("decided", "Đã quyết định", "Decided"),
        Column("superseded", "Đã thay thế", "Superseded"),
        Column("decided_pct", "% đã quyết định", "% decided", "pct"),
    ]
    return Table(
        "backlog",
        "Tồn đọng danh sách rà soát",
        "Worklist backlog",
        cols,
        rows,
        "Mục rà soát theo địa bàn được giao; đã quyết định = chấp nhận, từ chối hoặc sửa.",
        "Review items by the ward they are routed to; decided = accepted, rejected or edited.",
    )


TABLES = (
    "coverage",
    "coverage_by_age",
    "coverage_by_sex",
    "doses_per_day",
    "recorded_vs_reported",
    "recorded_vs_reported_by_day",
    "recorded_vs_reported_by_site",
    "quality",
    "backlog",
    "doses_by_product",
    "site_people",
)


#: The filters each table applies besides the area (see the module's docstring). An export's
#: name says these and no others, so a file never claims an age or a period it did not use.
APPLIED: dict[str, frozenset[str]] = {
    "coverage": frozenset({"age_group", "date_to"}),  # cumulative as of the end date
    "coverage_by_age": frozenset({"date_to"}),  # one row per age group
    "coverage_by_sex": frozenset({"age_group", "date_to"}),
    "doses_per_day": frozenset({"age_group", "date_from", "date_to"}),
    "recorded_vs_reported": frozenset({"date_from", "date_to"}),  # tallies carry no age
    "recorded_vs_reported_by_day": frozenset({"date_from", "date_to"}),
    "recorded_vs_reported_by_site": frozenset({"date_from", "date_to"}),
    "quality": frozenset(),  # the snapshot's records, whatever their day or age
    "backlog": frozenset(),  # the review items as they stand
    "doses_by_product": frozenset({"date_from", "date_to"}),  # the cut has no age
    "site_people": frozenset(),  # as of the snapshot
}


def applied(name: str, f: Filters) -> Filters:
    """``f`` with only the filters table ``name`` applies (the area always applies)."""
    keep = APPLIED.get(name, frozenset())
    return replace(
        f,
        age_group=f.age_group if "age_group" in keep else None,
        date_from=f.date_from if "date_from" in keep else None,
        date_to=f.date_to if "date_to" in keep else None,
    )


def table(
    con: duckdb.DuckDBPyConnection,
    name: str,
    actor: Actor,
    f: Filters,
    today: date,
    *,
    full: bool = False,
) -> Table:
    """One table by name (the exports and the API); ``full``: no row limit."""
    match name:
        case "coverage":
            return coverage(con, actor, f, today)
        case "coverage_by_age":
            return coverage_by_age(con, actor, f, today)
        case "coverage_by_sex":
            return coverage_by_sex(con, actor, f, today)
        case "doses_per_day":
            return doses_per_day(con, actor, f, today)
        case "recorded_vs_reported":
            return recorded_vs_reported(con, actor, f)
        case "recorded_vs_reported_by_day":
            return recorded_vs_reported_by_day(con, actor, f)
        case "recorded_vs_reported_by_site":
            return recorded_vs_reported_by_site(
                con, actor, f, limit=None if full else MAX_SITE_ROWS
            )
        case "quality":
            return quality(con, actor, f)
        case "backlog":
            return backlog(con, actor, f)
        case "doses_by_product":
            return breakdowns.doses_by_product(con, actor, f)
        case "site_people":
            return breakdowns.site_people(con, actor, f)
    raise rule_error(
        "table",
        "choice",
        f"Không có bảng '{name}'; chọn một trong {list(TABLES)}",
        f"No table '{name}'; choose one of {list(TABLES)}",
        status=404,
    )
