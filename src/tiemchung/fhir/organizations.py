"""Who runs a vaccination site, as FHIR ``Organization`` resources: a small model, decided here
(the catalogue stores sites, not units) and said in docs/fhir.md.

- ``so-<province>``: the province's health department (Sở Y tế), the top of every chain;
- ``tram-<ward>``: the ward's commune health station (Trạm Y tế xã/phường), which runs the
  sites of its ward that are not a hospital: the station itself, its mobile teams and the
  workplace sessions it holds; ``partOf`` the department;
- ``site-<site_id>``: a hospital site is its own unit (a hospital runs its own vaccination),
  ``partOf`` the department.

Names come from the 2021 administrative units (``identity``): "Trạm Y tế Phường Phúc Xá",
"Sở Y tế Thành phố Hà Nội". A unit exists while some site it runs (or, for a department,
some site of its province) exists, so a caller reads the units of the sites it may read.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from tiemchung.fhir import codes
from tiemchung.identity import iter_admin_units

HOSPITAL = "hospital"
#: FHIR organization-type codes: a provider, a government department
_ORG_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"


@lru_cache(maxsize=1)
def _names() -> dict[tuple[str, str], str]:
    return {(u.level, u.code): u.name for u in iter_admin_units("2021")}


def unit_name(level: str, code: str) -> str:
    return _names().get((level, code), code)


@dataclass(frozen=True)
class Unit:
    """One Organization: its id, name, kind (``department``, ``station``, ``hospital``),
    province and ward (None for a department)."""

    id: str
    name: str
    kind: str
    province_code: str
    ward_code: str | None = None


def department(province_code: str) -> Unit:
    name = f"Sở Y tế {unit_name('province', province_code)}"
    return Unit(f"so-{province_code}", name, "department", province_code)


def runner(site: Any) -> Unit:
    """The unit that runs ``site`` (a ``Site`` or a row with ``site_id``, ``name``, ``kind``,
    ``ward_code``, ``province_code``): a hospital itself, else its ward's station."""
    if site.kind == HOSPITAL:
        return Unit(f"site-{site.site_id}", site.name, "hospital", site.province_code,
                    site.ward_code)  # fmt: skip
    name = f"Trạm Y tế {unit_name('ward', site.ward_code)}"
    return Unit(f"tram-{site.ward_code}", name, "station", site.province_code, site.ward_code)


def parse_id(org_id: str) -> tuple[str, str] | None:
    """``so-01`` → (``department``, ``01``); ``tram-00001`` → (``station``, ``00001``);
    ``site-S1`` → (``hospital``, ``S1``); anything else None (a 404)."""
    for prefix, kind in (("so-", "department"), ("tram-", "station"), ("site-", "hospital")):
        if org_id.startswith(prefix) and len(org_id) > len(prefix):
            return kind, org_id[len(prefix) :]
    return None


def reference(unit: Unit) -> dict[str, Any]:
    return {"reference": f"Organization/{unit.id}", "display": unit.name}


def organization(unit: Unit, sy: codes.Systems) -> dict[str, Any]:
    """The ``Organization`` of ``unit``; a station or a hospital is ``partOf`` its
    province's department."""
    kind = "govt" if unit.kind == "department" else "prov"
    extensions = [{"url": sy.province_extension, "valueCode": unit.province_code}]
    if unit.ward_code:
        extensions.insert(0, {"url": sy.ward_extension, "valueCode": unit.ward_code})
    out: dict[str, Any] = {
        "resourceType": "Organization",
        "id": unit.id,
        "identifier": [{"system": sy.organization, "value": unit.id}],
        "active": True,
        "type": [{"coding": [{"system": _ORG_TYPE, "code": kind}], "text": unit.kind}],
        "name": unit.name,
        "address": [{"country": "VN", "extension": extensions}],
    }
    if unit.kind != "department":
        out["partOf"] = reference(department(unit.province_code))
    return out
