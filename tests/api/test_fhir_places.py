"""``Location`` search and ``Organization`` (issue 19 point 1): the caller's sites by
province, ward and name with keyset pages, and the units that run them (a ward's commune
health station, a hospital itself, the province's health department). Both backends; the
world's four hand-made sites; every resource parsed with the ``fhir.resources`` models."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.immunization import Immunization
from fhir.resources.R4B.location import Location
from fhir.resources.R4B.organization import Organization
from sqlalchemy import update

from tests.api import test_fhir_api
from tests.api.conftest import Api
from tests.api.test_fhir_api import get, ok, outcome
from tests.factories import PROVINCE_A, PROVINCE_B, world
from tiemchung.core import Platform
from tiemchung.identity import iter_admin_units
from tiemchung.registry.models import Site

doses = test_fhir_api.doses  # the six hand-made doses (a fixture)


def names() -> dict[str, str]:
    """The 2021 units' names, the source the Organization names are made from."""
    return {u.code: u.name for u in iter_admin_units("2021") if u.level != "district"}


def sites(api: Api, as_: str | None, **params: Any) -> list[str]:
    bundle = Bundle.model_validate(ok(get(api, "/Location", as_, **params)))
    out = []
    for e in bundle.entry or []:
        out.append(str(Location.model_validate(e.resource.model_dump()).id))  # type: ignore[union-attr]
    return out


def test_location_search_by_province_ward_and_name(api: Api) -> None:
    w = world()
    assert sites(api, "central") == ["S-A1", "S-A2", "S-B1", "S-B2"]
    assert sites(api, "central", **{"address-city": PROVINCE_A}) == ["S-A1", "S-A2"]
    assert sites(api, "central", ward=w.wards["b1"]) == ["S-B1"]
    assert sites(api, "central", name="y tế A2") == ["S-A2"]
    assert sites(api, "central", name="100%") == []  # a % is a character, not a wildcard
    bad = outcome(get(api, "/Location", "central", **{"address-city": "Hà Nội"}), 400)
    assert bad.issue[0].expression == ["address-city"]
    outcome(get(api, "/Location", "central", ward="1"), 400)
    outcome(get(api, "/Location", "central", near="21|105"), 400)


def test_location_pages_by_next(api: Api) -> None:
    first = Bundle.model_validate(ok(get(api, "/Location", "central", _count="3")))
    assert [e.resource.id for e in first.entry or []] == ["S-A1", "S-A2", "S-B1"]  # type: ignore[union-attr]
    (nxt,) = [link.url for link in first.link or [] if link.relation == "next"]
    query = dict(parse_qsl(urlsplit(nxt).query))
    assert query == {"_count": "3", "_cursor": "S-B1"}
    second = Bundle.model_validate(ok(get(api, "/Location", "central", **query)))
    assert [e.resource.id for e in second.entry or []] == ["S-B2"]  # type: ignore[union-attr]
    assert not [link for link in second.link or [] if link.relation == "next"]


def test_location_search_is_scoped_as_the_sites(api: Api) -> None:
    assert sites(api, "prov_b") == ["S-B1", "S-B2"]
    assert sites(api, "ward_a1") == ["S-A1"]
    assert sites(api, "site_b1") == ["S-B1"]
    assert sites(api, "ward_a1", **{"address-city": PROVINCE_B}) == []
    outcome(get(api, "/Location", "citizen_an"), 403)
    outcome(get(api, "/Location", None), 401)


def test_the_station_runs_the_site_and_the_department_above(
    api: Api, doses: dict[str, int]
) -> None:
    w, unit = world(), names()
    station = f"tram-{w.wards['a1']}"
    dose = Immunization.model_validate(ok(get(api, f"/Immunization/{doses['an1']}", "central")))
    (performer,) = dose.performer or []
    assert performer.actor.reference == f"Organization/{station}"
    assert performer.actor.display == f"Trạm Y tế {unit[w.wards['a1']]}"
    site = Location.model_validate(ok(get(api, "/Location/S-A1", "central")))
    assert site.managingOrganization is not None
    assert site.managingOrganization.reference == f"Organization/{station}"
    org = Organization.model_validate(ok(get(api, f"/Organization/{station}", "central")))
    assert org.name == f"Trạm Y tế {unit[w.wards['a1']]}"
    assert org.partOf is not None and org.partOf.reference == f"Organization/so-{PROVINCE_A}"
    dept = Organization.model_validate(ok(get(api, f"/Organization/so-{PROVINCE_A}", "central")))
    assert dept.name == f"Sở Y tế {unit[PROVINCE_A]}"
    assert dept.partOf is None
    assert [c.code for t in dept.type or [] for c in t.coding or []] == ["govt"]


def test_a_hospital_is_its_own_unit(api: Api, platform: Platform, doses: dict[str, int]) -> None:
    with platform.sessions() as s:
        s.execute(update(Site).where(Site.site_id == "S-A2").values(kind="hospital"))
        s.commit()
    dose = Immunization.model_validate(ok(get(api, f"/Immunization/{doses['cuong']}", "central")))
    (performer,) = dose.performer or []
    assert performer.actor.reference == "Organization/site-S-A2"
    assert performer.actor.display == "Trạm Y tế a2"  # the hospital site's own name
    org = Organization.model_validate(ok(get(api, "/Organization/site-S-A2", "central")))
    assert [c.code for t in org.type or [] for c in t.coding or []] == ["prov"]
    # no station runs a hospital: the ward a2 has no station site left
    outcome(get(api, f"/Organization/tram-{world().wards['a2']}", "central"), 404)
    outcome(get(api, "/Organization/site-S-A1", "central"), 404)  # a station, not a hospital


def test_organization_is_scoped_by_the_sites_it_runs(api: Api) -> None:
    w = world()
    station = f"/Organization/tram-{w.wards['a1']}"
    ok(get(api, station, "ward_a1"))
    ok(get(api, station, "prov_a"))
    outcome(get(api, station, "ward_b1"), 404)
    outcome(get(api, station, "prov_b"), 404)
    ok(get(api, f"/Organization/so-{PROVINCE_B}", "site_b1"))
    outcome(get(api, f"/Organization/so-{PROVINCE_A}", "site_b1"), 404)
    outcome(get(api, "/Organization/nonsense", "central"), 404)
    outcome(get(api, station, "citizen_an"), 403)
