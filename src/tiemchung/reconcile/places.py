"""Where a record's person is looked for when the record names no place of its own: where
its site's people live. Learnt from the data at hand, not assumed: the records the exact
pass linked say which ward (or only which district) each site's people live in.

A commune health station vaccinates its own ward, a district hospital people of its
district, a city hospital people of everywhere (it names no place). A record typed with no
ward and no address, or with a ward the site does not serve, is then also looked for there
(:mod:`tiemchung.reconcile.blocking`, the ``site_*`` rules and those reading ``sward`` /
``sdistrict``), and a candidate living there agrees on the place
(:func:`tiemchung.reconcile.decide.plausible_sql`).
"""

from __future__ import annotations

#: the fewest records the exact pass linked from which a site's place is learnt: enough
#: that one family's visit does not name a ward
SITE_MIN_RECORDS = 20


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
