"""What the sites page offers and lists (registry/catalog/sites.py): the wards a user may
place a site in, per role, and the sites of the area with their wards' names — the codes and
names checked against the administrative units' own table, not against these functions."""

from __future__ import annotations

from tests.factories import PROVINCE_A, PROVINCE_B, resolve_scope, world
from tiemchung.core import Platform
from tiemchung.identity import iter_admin_units
from tiemchung.registry.catalog.sites import area_wards, close_site, site_rows
from tiemchung.registry.scope import Actor, Role

CENTRAL = Actor.system("tests")
PROV_A = Actor(None, "prov_a", Role.PROVINCE, province_code=PROVINCE_A)
WARD_A1 = Actor(None, "ward_a1", Role.COMMUNE, **resolve_scope({"ward_code": "a1"}))  # type: ignore[arg-type]
SITE_A1 = Actor(None, "site_a1", Role.SITE, **resolve_scope({"site_id": "a1"}))  # type: ignore[arg-type]


def _wards_of(province: str) -> dict[str, str]:
    return {
        u.code: u.name
        for u in iter_admin_units("2021")
        if u.level == "ward" and u.province_code == province
    }


def test_the_wards_each_role_is_offered(platform: Platform) -> None:
    w = world()
    with platform.sessions() as s:
        province = area_wards(s, PROV_A)
        assert {x.code: x.name for x in province} == _wards_of(PROVINCE_A)
        assert all(x.district for x in province)  # each with its district, names repeat
        assert [x.code for x in area_wards(s, WARD_A1)] == [w.wards["a1"]]
        assert area_wards(s, SITE_A1) == []  # a site manages no sites
        assert area_wards(s, CENTRAL) == []  # ten thousand wards: a province first
        assert {x.code for x in area_wards(s, CENTRAL, PROVINCE_B)} == set(_wards_of(PROVINCE_B))
        # a province asking for another's wards gets its own: the argument is central's
        assert {x.code for x in area_wards(s, PROV_A, PROVINCE_B)} == set(_wards_of(PROVINCE_A))


def test_the_sites_of_the_area_with_their_wards_names(platform: Platform) -> None:
    w = world()
    names = _wards_of(PROVINCE_A)
    with platform.sessions() as s:
        close_site(s, CENTRAL, "S-A2")
        s.commit()
        rows = site_rows(s, PROV_A)
        assert [(r.site_id, r.ward_code, r.ward_name, r.active) for r in rows] == [
            ("S-A1", w.wards["a1"], names[w.wards["a1"]], True),
            ("S-A2", w.wards["a2"], names[w.wards["a2"]], False),  # closed ones listed too
        ]
        assert [r.site_id for r in site_rows(s, WARD_A1)] == ["S-A1"]
        assert [r.site_id for r in site_rows(s, SITE_A1)] == ["S-A1"]
        assert len(site_rows(s, CENTRAL)) == 4
