"""The identifier and code systems of ours as ``NamingSystem`` resources
(``GET /fhir/R4/NamingSystem``): Vietnam publishes none for its ID numbers, so a partner
learns from the server itself which URI means the 12-digit citizen ID and which the old
9-digit card, and that they are this installation's (``TIEMCHUNG_FHIR_SYSTEM_BASE``)."""

from __future__ import annotations

from typing import Any

from tiemchung.fhir.codes import Systems

#: when these statements last changed (each NamingSystem's ``date``)
PUBLISHED = "2026-12-07"

_IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"


def _entries(sy: Systems) -> list[tuple[str, str, str, str, str, str | None]]:
    """(id, name, kind, uri, description, v2-0203 identifier type)."""
    return [
        ("cccd", "VietnamCitizenID", "identifier", sy.cccd,
         "Số định danh cá nhân / căn cước công dân (12 chữ số) / Vietnam's 12-digit personal "
         "identification number (CCCD)", "NI"),
        ("cmnd", "VietnamOldIDCard", "identifier", sy.cmnd,
         "Số chứng minh nhân dân cũ (9 chữ số) / the old 9-digit identity card number (CMND); "
         "a distinct system from the CCCD", "NI"),
        ("register-person", "TiemchungRegisterPerson", "identifier", sy.person,
         "Mã người trong cơ sở dữ liệu dân cư (bản sao cục bộ) / the population register's "
         "person id (the Patient's id)", "PI"),
        ("site", "TiemchungSite", "identifier", sy.site,
         "Mã điểm tiêm / a vaccination site's id (the Location's id)", "FI"),
        ("organization", "TiemchungOrganization", "identifier", sy.organization,
         "Mã đơn vị: site-…, tram-<ward>, so-<province> / a unit's id (the Organization's)",
         "FI"),
        ("product", "TiemchungProduct", "codesystem", sy.product,
         "Mã vắc xin trong danh mục / the platform's vaccine product codes", None),
        ("priority-group", "TiemchungPriorityGroup", "codesystem", sy.priority_group,
         "Nhóm ưu tiên (Nghị quyết 21/NQ-CP) / the priority groups (Resolution 21/NQ-CP)",
         None),
        ("site-kind", "TiemchungSiteKind", "codesystem", sy.site_kind,
         "Loại điểm tiêm / a vaccination site's kind", None),
    ]  # fmt: skip


def naming_system(sy: Systems, entry: tuple[str, str, str, str, str, str | None]) -> dict[str, Any]:
    ident, name, kind, uri, description, id_type = entry
    out: dict[str, Any] = {
        "resourceType": "NamingSystem",
        "id": ident,
        "name": name,
        "status": "active",
        "kind": kind,
        "date": PUBLISHED,
        "publisher": "tiemchung",
        "responsible": "tiemchung (installation base " + sy.base + ")",
        "jurisdiction": [{"coding": [{"system": "urn:iso:std:iso:3166", "code": "VN"}]}],
        "description": description,
        "uniqueId": [{"type": "uri", "value": uri, "preferred": True}],
    }
    if id_type:
        out["type"] = {"coding": [{"system": _IDENTIFIER_TYPE, "code": id_type}]}
    return out


def naming_systems(sy: Systems) -> list[dict[str, Any]]:
    """Every system of ours, identifier systems first."""
    return [naming_system(sy, e) for e in _entries(sy)]


def find(sy: Systems, ident: str) -> dict[str, Any] | None:
    for e in _entries(sy):
        if e[0] == ident:
            return naming_system(sy, e)
    return None
