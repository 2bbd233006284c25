"""The reference-data reads (registry/catalog/reference.py) over SQLite and PostgreSQL: the
API's /sites, /products and /sessions and the desk's offer, scoped to the caller's area."""

from __future__ import annotations

from datetime import date

from tests.factories import PROVINCE_A, resolve_scope, world
from tiemchung.core import Platform
from tiemchung.registry.catalog import reference as ref
from tiemchung.registry.scope import Actor, Role

CENTRAL = Actor.system("tests")
PROV_A = Actor(2001, "prov_a", Role.PROVINCE, province_code=PROVINCE_A)
WARD_A1 = Actor(2002, "ward_a1", Role.COMMUNE, **resolve_scope({"ward_code": "a1"}))  # type: ignore[arg-type]
SITE_A1 = Actor(2003, "site_a1", Role.SITE, **resolve_scope({"site_id": "a1"}))  # type: ignore[arg-type]
DAY = date(2021, 10, 1)  # the world's sessions are all on this day


def test_sites_are_those_of_the_area(platform: Platform) -> None:
    w = world()
    with platform.sessions() as s:
        rows, total = ref.list_sites(s, CENTRAL, ward_code=None, limit=10, offset=0)
        assert [r.site_id for r in rows] == ["S-A1", "S-A2", "S-B1", "S-B2"] and total == 4
        rows, total = ref.list_sites(s, PROV_A, ward_code=None, limit=1, offset=1)
        assert [r.site_id for r in rows] == ["S-A2"] and total == 2  # the page, the count
        rows, total = ref.list_sites(s, PROV_A, ward_code=w.wards["b1"], limit=10, offset=0)
        assert (rows, total) == ([], 0)  # another province's ward: nothing
        rows, _ = ref.list_sites(s, WARD_A1, ward_code=None, limit=10, offset=0)
        assert [r.site_id for r in rows] == ["S-A1"]
        assert ref.get_site(s, PROV_A, "S-A2") is not None
        assert ref.get_site(s, PROV_A, "S-B1") is None  # outside the area, as if absent
        assert ref.get_site(s, CENTRAL, "S-NONE") is None


def test_products_carry_their_lots_soonest_expiry_first(platform: Platform) -> None:
    with platform.sessions() as s:
        got = {p.code: [lot.lot_number for lot in lots] for p, lots in ref.products_with_lots(s)}
    assert got["PFIZER"] == ["PF-OLD", "PF-OK"]
    assert got["AZ"] == ["AZ-OK"] and got["MODERNA"] == ["MO-OK"]
    assert list(got) == sorted(got)  # by code
    assert all(got[c] == [] for c in got if c not in ("PFIZER", "AZ", "MODERNA"))


def test_sessions_filter_by_area_site_and_dates(platform: Platform) -> None:
    with platform.sessions() as s:

        def sites(actor: Actor, **kw: object) -> tuple[list[str], int]:
            rows, total = ref.list_sessions(s, actor, limit=10, offset=0, **kw)  # type: ignore[arg-type]
            return [r.site_id for r in rows], total

        assert sites(CENTRAL) == (["S-A1", "S-A2", "S-B1", "S-B2"], 4)
        assert sites(PROV_A) == (["S-A1", "S-A2"], 2)
        assert sites(SITE_A1) == (["S-A1"], 1)
        assert sites(PROV_A, site_id="S-B1") == ([], 0)
        assert sites(PROV_A, date_from=DAY, date_to=DAY) == (["S-A1", "S-A2"], 2)
        assert sites(PROV_A, date_from=date(2021, 10, 2)) == ([], 0)
        assert sites(PROV_A, date_to=date(2021, 9, 30)) == ([], 0)


def test_the_desk_offers_what_sessions_lists(platform: Platform) -> None:
    with platform.sessions() as s:
        listed, _ = ref.list_sessions(s, SITE_A1, date_from=DAY, date_to=DAY, limit=100, offset=0)
        offer = ref.desk_offer(s, SITE_A1, DAY)
        assert [r.id for r in offer.sessions] == [x.id for x in listed]
        assert [(r.product_code, r.planned_count) for r in offer.sessions] == [("PFIZER", 100)]
        assert offer.sessions[0].product_name.startswith("Pfizer")
        # the lots of the sessions' product only, not expired on the day
        assert offer.lots == [
            ("PFIZER", "PF-OLD", date(2021, 12, 31)),
            ("PFIZER", "PF-OK", date(2030, 1, 1)),
        ]
        codes = [c for c, _ in offer.products]  # every product, by code, with its name
        assert codes == sorted(codes) and {"PFIZER", "AZ", "MODERNA"} <= set(codes)
        assert all(name for _, name in offer.products)
        assert ref.todays_sessions(s, WARD_A1, DAY)[0].id == offer.sessions[0].id

        later = ref.desk_offer(s, SITE_A1, date(2022, 1, 5))  # no session: every product's lots
        assert later.sessions == []
        assert ("PFIZER", "PF-OLD", date(2021, 12, 31)) not in later.lots  # expired by then
        assert {p for p, _n, _e in later.lots} == {"PFIZER", "AZ", "MODERNA"}
        codes = [c for c, _ in later.products]
        assert [p for p, _n, _e in later.lots] == sorted(
            (p for p, _n, _e in later.lots), key=codes.index
        )
        assert ref.usable_lots(s, [], DAY) == []
        assert ref.usable_lots(s, ["MODERNA", "AZ"], DAY) == [
            ("MODERNA", "MO-OK", date(2030, 1, 1)),
            ("AZ", "AZ-OK", date(2030, 1, 1)),
        ]
