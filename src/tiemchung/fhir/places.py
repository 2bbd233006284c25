"""``Location`` search and ``Organization`` read (issue 19 point 1): the sites the caller may
read (``registry/catalog/reference.sites_after``, scoped as ``/api/v1/sites``), keyset-paged
by site id, and the units that run them (``fhir/organizations.py``'s model).

``Location?address-city=<province code>`` (Vietnam's city/province level), ``ward=<ward
code>`` (declared in the CapabilityStatement: FHIR has no ward-level address parameter),
``name`` (contained in the name, case aside), ``_count``, ``_cursor`` (the ``next`` link's).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from tiemchung.fhir import codes, organizations, resources
from tiemchung.fhir.search import DEFAULT_COUNT, MAX_COUNT, Result, bad_param, self_url, single
from tiemchung.registry.catalog.reference import get_site, sites_after
from tiemchung.registry.errors import not_found
from tiemchung.registry.scope import Actor

LOCATION_PARAMS = ("address-city", "ward", "name", "_count", "_cursor")


def _code(name: str, value: str, digits: tuple[int, ...]) -> str:
    if not (value.isdigit() and len(value) in digits):
        size = "/".join(str(d) for d in digits)
        raise bad_param(
            name, f"Mã đơn vị hành chính có {size} chữ số", f"an area code has {size} digits"
        )
    return value


def search_locations(
    session: Session, actor: Actor, sy: codes.Systems, url: str, params: list[tuple[str, str]]
) -> Result:
    """The caller's sites matching the parameters, by site id; ``next`` while more remain."""
    args = single(params, LOCATION_PARAMS)
    count = DEFAULT_COUNT
    if "_count" in args:
        raw = args["_count"][0]
        count = int(raw) if raw.isdigit() else 0
        if not 1 <= count <= MAX_COUNT:
            raise bad_param(
                "_count",
                f"Phải là số nguyên từ 1 đến {MAX_COUNT}",
                f"must be a whole number 1-{MAX_COUNT}",
            )
    rows = sites_after(
        session,
        actor,
        after_site_id=args["_cursor"][0] if "_cursor" in args else "",
        limit=count + 1,
        province_code=_code("address-city", args["address-city"][0], (2,))
        if "address-city" in args
        else None,
        ward_code=_code("ward", args["ward"][0], (5,)) if "ward" in args else None,
        name=args["name"][0] if "name" in args else None,
    )
    more = len(rows) > count
    rows = rows[:count]
    matches = [(f"{url}/{s.site_id}", resources.location(s, sy)) for s in rows]
    next_url = None
    if more:
        kept = [(k, v) for k, v in params if k != "_cursor"] + [("_cursor", rows[-1].site_id)]
        next_url = f"{url}?{urlencode(kept)}"
    return Result(resources.bundle(self_url(url, params), matches, [], next_url))


def read_organization(
    session: Session, actor: Actor, sy: codes.Systems, org_id: str
) -> dict[str, Any]:
    """One unit, when the caller may read a site it runs (a department: a site of its
    province); 404 otherwise, as for no such unit."""
    parsed = organizations.parse_id(org_id)
    if parsed is not None:
        kind, code = parsed
        if kind == "department":
            found = sites_after(session, actor, limit=1, province_code=code)
            if found:
                return organizations.organization(organizations.department(code), sy)
        elif kind == "station":
            for site in sites_after(session, actor, limit=MAX_COUNT, ward_code=code):
                unit = organizations.runner(site)
                if unit.id == org_id:
                    return organizations.organization(unit, sy)
        else:
            hospital = get_site(session, actor, code)
            if hospital is not None and hospital.kind == organizations.HOSPITAL:
                return organizations.organization(organizations.runner(hospital), sy)
    raise not_found("id", "đơn vị", "Organization")
