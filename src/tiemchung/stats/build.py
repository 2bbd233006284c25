"""Reduce the registry's rows to the dashboard's aggregate tables (DuckDB SQL).

Input: views ``raw_<table>`` over the exported rows (Parquet files, see
:mod:`tiemchung.stats.snapshot`; the benchmark points them at its synthetic files). Output:
tables small enough to answer any dashboard query in milliseconds, keyed by area, birth year
(age groups are computed at query time from the reference year, see :mod:`.ages`) and day:

``reg``      register persons per province, ward, birth year (the coverage denominator)
``cov``      register persons reaching a measure (``first``: ≥ 1 dose, ``full``: the primary
             series of the product, ``booster``: a dose past it) per area, birth year, the
             day they reached it — from verified doses linked to them
``daily``    dose records (double entries excluded) per area of the dose, day, dose number,
             birth year
``rvr``      recorded vs reported per site and day: a tally (per product, and per dose
             number when it has one) against the dose records it covers (no double entries)
``reg_sex``, ``cov_sex`` ``reg`` and ``cov`` per sex too (the register's: M, F, U), for
             coverage by sex; ``cov`` is ``cov_sex`` summed over the sexes
``cov_now``, ``cov_sex_now``, ``cov_pday``, ``daily_p``, ``daily_w``, ``rvr_pday``: smaller
             cuts of the above (no day, no ward or no birth year) so each view scans the
             smallest table that answers it
``quality``  dose records per area of the dose in the source reports' categories, with the
             wrong fields; a dose waiting in a worklist counts in that worklist's ward
``backlog``  review items per ward, kind and status
``mix``      dose records (no double entries) per area of the dose, day, product and sex (the
             linked person's, else the form's: M, F, U), for the breakdowns by vaccine and sex;
             ``mix_p`` without the ward
``site_daily`` the same per site, day, dose number, product and sex (a site's own dashboard)
``site_people`` register persons with a verified dose given at each site
``places``   province and ward names (2021 units)
"""

from __future__ import annotations

import duckdb

from tiemchung.identity import iter_admin_units

#: The raw tables and the columns the build reads from each.
RAW_COLUMNS: dict[str, tuple[str, ...]] = {
    "persons": ("id", "dob", "sex", "ward_code", "province_code"),
    "doses": (
        "id",
        "person_pk",
        "dob",
        "sex",
        "status",
        "dose_number",
        "dose_date",
        "product_code",
        "site_id",
        "area_ward_code",
        "area_province_code",
    ),
    "products": ("code", "primary_doses"),
    "sites": ("site_id", "name", "ward_code", "province_code"),
    "tallies": ("site_id", "report_date", "product_code", "dose_number", "reported"),
    "corrections": ("dose_id", "field"),
    "review_items": ("dose_id", "kind", "status", "ward_code", "province_code", "mismatches"),
}
#: The identity fields a correction or a review mismatch can name, in the source reports'
#: categories: "số định danh, ngày sinh, họ tên và thông tin khác".
FIELD_CATEGORY = {"national_id": "id", "dob": "dob", "full_name": "name"}
OTHER_FIELDS = ("sex", "phone", "ward_code", "address")
DECIDED = ("accepted", "rejected", "edited")
AGGREGATES = (
    "reg",
    "reg_sex",
    "cov",
    "cov_sex",
    "cov_now",
    "cov_sex_now",
    "cov_pday",
    "daily",
    "daily_p",
    "daily_w",
    "rvr",
    "rvr_pday",
    "quality",
    "backlog",
    "site_names",
    "mix",
    "mix_p",
    "site_daily",
    "site_people",
    "places",
)


#: a person's sex in the cuts: the register's M or F, else U (not given)
_SEX = "CASE {} WHEN 'M' THEN 'M' WHEN 'F' THEN 'F' ELSE 'U' END"


def _year(col: str) -> str:
    """Birth year of an ISO partial date string ("1990-03-05", "1990-03", "1990")."""
    return f"TRY_CAST(substr({col}, 1, 4) AS SMALLINT)"


def _has(field: str) -> str:
    return f"(';' || coalesce(ri.mism, '') || ';') LIKE '%;{field};%'"


def build(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Create the aggregate tables from the ``raw_*`` views; returns their row counts."""
    ident = "', '".join([*FIELD_CATEGORY, *OTHER_FIELDS])
    other_corr = "', '".join(OTHER_FIELDS)
    # not verified, not a double entry, and an open review item routed to a ward
    waiting = "coalesce(d.status, '') NOT IN ('verified', 'duplicate') AND ri.item_ward IS NOT NULL"
    statements = [
        f"""CREATE OR REPLACE TABLE reg AS
        SELECT province_code AS province, ward_code AS ward, {_year("dob")} AS birth_year,
               count(*)::BIGINT AS n
        FROM raw_persons GROUP BY ALL ORDER BY ALL""",
        f"""CREATE OR REPLACE TABLE reg_sex AS
        SELECT province_code AS province, ward_code AS ward, {_year("dob")} AS birth_year,
               {_SEX.format("sex")} AS sex, count(*)::BIGINT AS n
        FROM raw_persons GROUP BY ALL ORDER BY ALL""",
        # each person once, by sex: ``cov_sex``; ``cov`` is the same without the sex
        f"""CREATE OR REPLACE TABLE cov_sex AS
        WITH per AS (
            SELECT d.person_pk,
                   min(d.dose_date) AS first_day,
                   min(d.dose_date) FILTER (WHERE d.dose_number >= p.primary_doses) AS full_day,
                   min(d.dose_date) FILTER (WHERE d.dose_number > p.primary_doses)
                       AS booster_day
            FROM raw_doses d JOIN raw_products p ON p.code = d.product_code
            WHERE d.person_pk IS NOT NULL AND d.status = 'verified'
            GROUP BY d.person_pk),
        pp AS (
            SELECT ps.province_code AS province, ps.ward_code AS ward,
                   {_year("ps.dob")} AS birth_year, {_SEX.format("ps.sex")} AS sex, per.*
            FROM per JOIN raw_persons ps ON ps.id = per.person_pk)
        SELECT province, ward, birth_year, sex, 'first' AS measure, first_day AS day,
               count(*)::BIGINT AS n FROM pp GROUP BY ALL
        UNION ALL
        SELECT province, ward, birth_year, sex, 'full', full_day, count(*)::BIGINT
        FROM pp WHERE full_day IS NOT NULL GROUP BY ALL
        UNION ALL
        SELECT province, ward, birth_year, sex, 'booster', booster_day, count(*)::BIGINT
        FROM pp WHERE booster_day IS NOT NULL GROUP BY ALL
        ORDER BY 1, 2, 3, 4, 5, 6""",
        """CREATE OR REPLACE TABLE cov AS
        SELECT province, ward, birth_year, measure, day, sum(n)::BIGINT AS n
        FROM cov_sex GROUP BY ALL ORDER BY 1, 2, 3, 4, 5""",
        """CREATE OR REPLACE TABLE cov_sex_now AS
        SELECT province, ward, birth_year, sex, measure, sum(n)::BIGINT AS n
        FROM cov_sex GROUP BY ALL ORDER BY 1, 2, 3, 4""",
        # coverage now (no day: the default view) and per province and day (views "as of" a
        # date that need no ward); ``cov`` itself serves ward views as of a date
        """CREATE OR REPLACE TABLE cov_now AS
        SELECT province, ward, birth_year, measure, sum(n)::BIGINT AS n
        FROM cov GROUP BY ALL ORDER BY 1, 2, 3""",
        """CREATE OR REPLACE TABLE cov_pday AS
        SELECT province, birth_year, measure, day, sum(n)::BIGINT AS n
        FROM cov GROUP BY ALL ORDER BY 1, 2""",
        f"""CREATE OR REPLACE TABLE daily AS
        SELECT d.area_province_code AS province, d.area_ward_code AS ward,
               d.dose_date AS day, d.dose_number,
               coalesce({_year("ps.dob")}, {_year("d.dob")}) AS birth_year,
               count(*)::BIGINT AS n
        FROM raw_doses d LEFT JOIN raw_persons ps ON ps.id = d.person_pk
        WHERE d.status <> 'duplicate'
        GROUP BY ALL ORDER BY 1, 2, 3""",
        # smaller cuts of ``daily``: without the ward (country and province views), and
        # without the birth year (ward views with no age filter)
        """CREATE OR REPLACE TABLE daily_p AS
        SELECT province, day, dose_number, birth_year, sum(n)::BIGINT AS n
        FROM daily GROUP BY ALL ORDER BY 1, 2""",
        """CREATE OR REPLACE TABLE daily_w AS
        SELECT province, ward, day, dose_number, sum(n)::BIGINT AS n
        FROM daily GROUP BY ALL ORDER BY 1, 2, 3""",
        """CREATE OR REPLACE TEMP TABLE rec AS
        SELECT site_id, dose_date AS day, product_code AS product, dose_number,
               count(*)::BIGINT AS n
        FROM raw_doses WHERE status <> 'duplicate' GROUP BY ALL""",
        """CREATE OR REPLACE TEMP TABLE rvr_detail AS
        WITH t AS (
            SELECT site_id, report_date AS day, product_code AS product, dose_number,
                   sum(reported)::BIGINT AS reported
            FROM raw_tallies GROUP BY ALL),
        whole AS (  -- tallies for the whole day: every dose number of the product
            SELECT t.site_id, t.day, t.product, t.dose_number, t.reported,
                   coalesce(sum(r.n), 0)::BIGINT AS recorded
            FROM t LEFT JOIN rec r
              ON r.site_id = t.site_id AND r.day = t.day AND r.product = t.product
             AND (t.dose_number IS NULL OR r.dose_number = t.dose_number)
            GROUP BY ALL),
        untallied AS (  -- recorded where the site reported nothing for that product and day
            SELECT r.site_id, r.day, r.product, NULL::INTEGER AS dose_number,
                   NULL::BIGINT AS reported, sum(r.n)::BIGINT AS recorded
            FROM rec r ANTI JOIN t
              ON r.site_id = t.site_id AND r.day = t.day AND r.product = t.product
            GROUP BY ALL)
        SELECT s.province_code AS province, s.ward_code AS ward, x.*
        FROM (SELECT * FROM whole UNION ALL SELECT * FROM untallied) x
        LEFT JOIN raw_sites s ON s.site_id = x.site_id""",
        # per site and day (products summed): the table rows, top gaps first by a LIMIT scan
        """CREATE OR REPLACE TABLE rvr AS
        SELECT province, ward, site_id, day,
               coalesce(sum(recorded) FILTER (WHERE reported IS NOT NULL), 0)::BIGINT
                   AS recorded,
               coalesce(sum(reported), 0)::BIGINT AS reported,
               coalesce(sum(recorded) FILTER (WHERE reported IS NULL), 0)::BIGINT
                   AS recorded_untallied
        FROM rvr_detail GROUP BY ALL ORDER BY 1, 2, 3, 4""",
        """CREATE OR REPLACE TABLE rvr_pday AS
        SELECT province, day, sum(recorded)::BIGINT AS recorded,
               sum(reported)::BIGINT AS reported,
               sum(recorded_untallied)::BIGINT AS recorded_untallied
        FROM rvr GROUP BY ALL ORDER BY 1, 2""",
        f"""CREATE OR REPLACE TABLE quality AS
        WITH corr AS (
            SELECT dose_id,
                   bool_or(field = 'national_id') AS f_id, bool_or(field = 'dob') AS f_dob,
                   bool_or(field = 'full_name') AS f_name,
                   bool_or(field IN ('{other_corr}')) AS f_other
            FROM raw_corrections
            WHERE dose_id IS NOT NULL AND field IN ('{ident}') GROUP BY dose_id),
        ri AS (
            SELECT dose_id, bool_or(kind = 'not_found') AS nf,
                   bool_or(kind IN ('review', 'ticket')) AS rv,
                   string_agg(mismatches, ';') AS mism,
                   min(ward_code) AS item_ward,
                   arg_min(province_code, ward_code) AS item_province
            FROM raw_review_items WHERE status = 'open' GROUP BY dose_id),
        cat AS (
            -- a dose still waiting in a worklist counts in the ward of that worklist (the
            -- item goes to its best candidate's commune, not the ward on the form or the
            -- site's), so the table's "awaiting review" ward is the one that holds the item
            SELECT CASE WHEN {waiting} THEN ri.item_province ELSE d.area_province_code END
                       AS province,
                   CASE WHEN {waiting} THEN ri.item_ward ELSE d.area_ward_code END AS ward,
                   CASE WHEN d.status = 'duplicate' THEN 'duplicate'
                        WHEN d.status = 'verified' AND c.dose_id IS NOT NULL
                            THEN 'verified_wrong'
                        WHEN d.status = 'verified' THEN 'verified'
                        WHEN ri.nf THEN 'not_found'
                        WHEN ri.rv THEN 'review'
                        ELSE 'pending' END AS category,
                   c.f_id, c.f_dob, c.f_name, c.f_other,
                   {_has("national_id")} AS m_id, {_has("dob")} AS m_dob,
                   {_has("full_name")} AS m_name,
                   ({" OR ".join(_has(f) for f in OTHER_FIELDS)}) AS m_other
            FROM raw_doses d
            LEFT JOIN corr c ON c.dose_id = d.id
            LEFT JOIN ri ON ri.dose_id = d.id)
        SELECT province, ward, category, count(*)::BIGINT AS n,
               count(*) FILTER (WHERE (category = 'verified_wrong' AND f_id)
                                   OR (category = 'review' AND m_id))::BIGINT AS wrong_id,
               count(*) FILTER (WHERE (category = 'verified_wrong' AND f_dob)
                                   OR (category = 'review' AND m_dob))::BIGINT AS wrong_dob,
               count(*) FILTER (WHERE (category = 'verified_wrong' AND f_name)
                                   OR (category = 'review' AND m_name))::BIGINT AS wrong_name,
               count(*) FILTER (WHERE (category = 'verified_wrong' AND f_other)
                                   OR (category = 'review' AND m_other))::BIGINT AS wrong_other
        FROM cat GROUP BY ALL ORDER BY ALL""",
        """CREATE OR REPLACE TABLE backlog AS
        SELECT province_code AS province, ward_code AS ward, kind, status, count(*)::BIGINT AS n
        FROM raw_review_items GROUP BY ALL ORDER BY ALL""",
        """CREATE OR REPLACE TABLE site_names AS
        SELECT site_id, name, ward_code AS ward, province_code AS province FROM raw_sites""",
    ]
    statements += _breakdowns()
    for sql in statements:
        con.execute(sql)
    con.execute("DROP TABLE IF EXISTS rec")
    con.execute("DROP TABLE IF EXISTS rvr_detail")
    con.execute("DROP TABLE IF EXISTS dx")
    _places(con)
    tables = AGGREGATES
    return {t: int(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in tables}  # type: ignore[index]


def _breakdowns() -> list[str]:
    """The cuts by product and sex (issue 17): one pass over the doses at the finest grain the
    dashboards ask for (``dx``, dropped after), then the cuts each view scans."""
    return [
        f"""CREATE OR REPLACE TEMP TABLE dx AS
        SELECT d.area_province_code AS province, d.area_ward_code AS ward, d.site_id,
               d.dose_date AS day, d.dose_number, d.product_code AS product,
               {_SEX.format("coalesce(ps.sex, d.sex)")} AS sex,
               count(*)::BIGINT AS n
        FROM raw_doses d LEFT JOIN raw_persons ps ON ps.id = d.person_pk
        WHERE d.status <> 'duplicate'
        GROUP BY ALL""",
        """CREATE OR REPLACE TABLE mix AS
        SELECT province, ward, day, product, sex, sum(n)::BIGINT AS n
        FROM dx GROUP BY ALL ORDER BY 1, 2, 3""",
        """CREATE OR REPLACE TABLE mix_p AS
        SELECT province, day, product, sex, sum(n)::BIGINT AS n
        FROM mix GROUP BY ALL ORDER BY 1, 2""",
        """CREATE OR REPLACE TABLE site_daily AS
        SELECT site_id, day, dose_number, product, sex, sum(n)::BIGINT AS n
        FROM dx GROUP BY ALL ORDER BY 1, 2""",
        """CREATE OR REPLACE TABLE site_people AS
        SELECT site_id, count(DISTINCT person_pk)::BIGINT AS n
        FROM raw_doses WHERE status = 'verified' AND person_pk IS NOT NULL
        GROUP BY ALL ORDER BY 1""",
    ]


def _places(con: duckdb.DuckDBPyConnection) -> None:
    """Province and ward names of the 2021 scheme (the codes the 2021–22 data carries)."""
    import pyarrow as pa

    units = [u for u in iter_admin_units("2021") if u.level in ("province", "ward")]
    names = pa.table(
        {
            "code": [u.code for u in units],
            "level": [u.level for u in units],
            "name": [u.name for u in units],
            "in_province": [u.province_code for u in units],
        }
    )
    con.register("place_names", names)
    con.execute("CREATE OR REPLACE TABLE places AS SELECT * FROM place_names")
    con.unregister("place_names")
