"""Where a record's person is looked for when the record names no ward code of its own:
the ward its address names, or where its site's people live. Both learnt from the data at
hand, not assumed: the register's own addresses say which pairs of address words belong to
one ward (:func:`gazetteer_sql`, :func:`address_place_sql`), and the records the exact pass
linked say which ward (or only which district) each site's people live in.

A commune health station vaccinates its own ward, a district hospital people of its
district, a city hospital people of everywhere (it names no place). A record typed with no
ward and no address, or with a ward the site does not serve, is then also looked for there
(:mod:`tiemchung.reconcile.blocking`, the ``site_*`` rules and those reading ``sward`` /
``sdistrict``), and a candidate living there agrees on the place
(:func:`tiemchung.reconcile.decide.plausible_sql`).
"""

from __future__ import annotations

from .dialects import Dialect

#: the fewest records the exact pass linked from which a site's place is learnt: enough
#: that one family's visit does not name a ward
SITE_MIN_RECORDS = 20


# --- place from the address --------------------------------------------------------------
def gazetteer_sql(dialect: Dialect) -> str:
    """Pairs of neighbouring address tokens (within one part of an address) that the
    register writes for one district only (table ``gaz``: ``gram``, ``district``, and
    ``ward`` when also for one ward only), learnt from the register's own addresses:
    "tra phong" for Xã Trà Phong, "tan binh" for Quận Tân Bình. Nothing about the
    country's units is assumed; a pair two districts share tells nothing."""
    grams = dialect.explode_split("addr_grams", "|")
    return (
        "SELECT gram, CASE WHEN min(ward) = max(ward) THEN min(ward) END AS ward, "
        "min(district) AS district FROM ("
        f"SELECT {grams} AS gram, ward, district FROM (SELECT DISTINCT addr_grams, ward, "
        "district FROM reg WHERE ward IS NOT NULL AND district IS NOT NULL "
        "AND addr_grams IS NOT NULL) r) x GROUP BY gram HAVING min(district) = max(district)"
    )


def address_place_sql(dialect: Dialect) -> str:
    """The ward and district each address typed without a ward code names (table
    ``addr_place``: raw address ``v``, ``ward``, ``district``): the one most of its token
    pairs point to, when it has more votes than any other (a district can be known when
    the ward is not: "Phường 11, Quận Tân Bình" names Tân Bình, and "11" alone no ward)."""
    grams = dialect.explode_split("a.addr_grams", "|")
    # (addresses typed without a ward code, among those standardised: ``v_raddr``)

    def vote(level: str) -> str:
        return (
            f"SELECT v, min({level}) AS {level} FROM (SELECT *, rank() OVER (PARTITION BY v "
            f"ORDER BY n DESC) AS rk FROM (SELECT e.v, g.{level}, count(*) AS n FROM e "
            f"JOIN gaz g ON g.gram = e.gram WHERE g.{level} IS NOT NULL "
            f"GROUP BY e.v, g.{level}) c) r WHERE rk = 1 GROUP BY v HAVING count(*) = 1"
        )

    return (
        "WITH x AS (SELECT DISTINCT addr_raw AS v FROM ident0 WHERE addr_raw IS NOT NULL "
        "AND pward IS NULL), "
        f"e AS (SELECT x.v, {grams} AS gram FROM x JOIN v_raddr a ON a.v = x.v), "
        f"w AS ({vote('ward')}), d AS ({vote('district')}) "
        "SELECT d.v, w.ward, d.district FROM d LEFT JOIN w ON w.v = d.v"
    )


# --- place from the site -----------------------------------------------------------------
def rec_site_sql() -> str:
    """Each identity's sites and its records at each (table ``rec_site``): the records are
    read once here, not once for the sites' places and again for the identities'."""
    return "SELECT iid, site, count(*) AS n FROM rec_iid WHERE site IS NOT NULL GROUP BY iid, site"


def site_place_sql() -> str:
    """The ward and district most of each site's people live in (table ``site_place``:
    ``site``, ``ward``, ``district``) from the records the exact pass linked (``rec_iid``
    with its ``site``, ``exact``, ``reg``). Only a strict majority of at least
    ``SITE_MIN_RECORDS`` linked records names a place: a site whose people come from
    everywhere names none."""
    return (
        "WITH l AS (SELECT r.site, r.n, g.ward, g.district FROM rec_site r "
        "JOIN exact e ON e.iid = r.iid JOIN reg g ON g.person_id = e.person_id "
        "WHERE g.district IS NOT NULL), "
        "t AS (SELECT site, sum(n) AS n FROM l GROUP BY site), "
        "w AS (SELECT site, ward, sum(n) AS n FROM l GROUP BY site, ward), "
        "d AS (SELECT site, district, sum(n) AS n FROM l GROUP BY site, district) "
        "SELECT t.site, w.ward, d.district FROM t JOIN d ON d.site = t.site AND 2 * d.n > t.n "
        "LEFT JOIN w ON w.site = t.site AND 2 * w.n > t.n "
        f"WHERE t.n >= {SITE_MIN_RECORDS}"
    )


def resid_sql(columns: list[str] | None) -> str:
    """The identities the exact pass left (and that can be compared: table ``resid``), each
    with the place its site's people live (``sward``/``sdistrict``) when that is not the
    place it has: none, or a ward typed wrong (a neighbour's, a code mistyped). A ward the
    address names outside the site's district is kept alone: the address is the better
    witness. An identity typed at several sites (a commune station and the district
    hospital) takes the place they agree on, a ward from the one that names one.

    ``columns``: ``ident``'s columns but ``sward``/``sdistrict``; ``None`` when the records
    name no site (``ident``'s own NULL ``sward``/``sdistrict`` stay)."""
    left = "FROM ident i LEFT JOIN exact e ON e.iid = i.iid"
    where = "WHERE e.iid IS NULL AND i.problem IS NULL"
    if columns is None:
        return f"SELECT i.* {left} {where}"
    sel = ", ".join(f"i.{c}" for c in columns)
    return (
        f"SELECT {sel}, CASE WHEN sp.ward IS DISTINCT FROM i.pward AND (i.pward IS NOT NULL "
        "OR i.pdistrict IS NULL OR i.pdistrict = sp.district) THEN sp.ward END AS sward, "
        "CASE WHEN sp.district IS DISTINCT FROM i.pdistrict THEN sp.district END "
        "AS sdistrict "
        f"{left} LEFT JOIN (SELECT r.iid, CASE WHEN min(p.ward) = max(p.ward) THEN "
        "min(p.ward) END AS ward, CASE WHEN min(p.district) = max(p.district) THEN "
        "min(p.district) END AS district FROM rec_site r JOIN site_place p ON p.site = r.site "
        "LEFT JOIN exact x ON x.iid = r.iid WHERE x.iid IS NULL GROUP BY r.iid) sp "
        f"ON sp.iid = i.iid {where}"
    )
