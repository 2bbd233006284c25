"""Registry rows as FHIR R4 resources (plain JSON dicts, validated against the
``fhir.resources`` models in the tests): a person as ``Patient``, a dose as ``Immunization``,
a page as a searchset ``Bundle``, a refusal as an ``OperationOutcome``.

Plain dicts rather than model instances on the hot path: a page of 500 doses is built and
serialised in a fraction of the time, and the tests parse every shape back with the models.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from tiemchung.fhir import codes, organizations

#: a dose's stored status → the Immunization's (a double entry or a rejected record is no
#: immunization: entered-in-error, so a partner removes it)
_STATUS = {"duplicate": "entered-in-error", "rejected": "entered-in-error"}
_GENDER = {"M": "male", "F": "female"}
#: FHIR's immunization-function value set: AP, the administering provider
_PERFORMER_FUNCTION = "http://terminology.hl7.org/CodeSystem/v2-0443"


def instant(value: datetime) -> str:
    """A stored time as a FHIR ``instant`` (seconds, with its zone: UTC when the backend
    returns a naive time, as SQLite does for what it stored in UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def patient(
    view: dict[str, Any], sy: codes.Systems, updated_at: datetime | None = None
) -> dict[str, Any]:
    """A person as the caller may see them (``persons.person_view``: the desk view has the
    ID numbers masked and no address or phone) as a ``Patient``. The date of birth keeps the
    register's precision: ``1978`` stays a year. ``updated_at`` (the person's row) is its
    ``meta.lastUpdated``, what ``_lastUpdated`` searches."""
    identifiers = [{"system": sy.person, "value": view["person_id"]}]
    if view.get("national_id"):
        identifiers.append({"system": sy.cccd, "value": view["national_id"]})
    if view.get("old_id"):
        identifiers.append({"system": sy.cmnd, "value": view["old_id"]})
    words = view["full_name"].split()
    name: dict[str, Any] = {"use": "official", "text": view["full_name"]}
    if len(words) > 1:  # Vietnamese order: the family name first
        name.update(family=words[0], given=words[1:])
    out: dict[str, Any] = {
        "resourceType": "Patient",
        "id": view["person_id"],
        **({"meta": {"lastUpdated": instant(updated_at)}} if updated_at else {}),
        "identifier": identifiers,
        "name": [name],
    }
    if view.get("sex") in _GENDER:
        out["gender"] = _GENDER[view["sex"]]
    elif view.get("sex"):
        out["gender"] = "unknown"
    if view.get("dob"):
        out["birthDate"] = view["dob"]
    if view.get("phone"):
        out["telecom"] = [{"system": "phone", "value": view["phone"]}]
    address: dict[str, Any] = {"country": "VN"}
    extensions = []
    if view.get("ward_code"):
        extensions.append({"url": sy.ward_extension, "valueCode": view["ward_code"]})
    if view.get("province_code"):
        extensions.append({"url": sy.province_extension, "valueCode": view["province_code"]})
    if extensions:
        address["extension"] = extensions
    if view.get("address"):
        address["text"] = view["address"]
    if len(address) > 1:
        out["address"] = [address]
    return out


def location(site: Any, sy: codes.Systems) -> dict[str, Any]:
    """A vaccination site (``registry/models.Site``) as the ``Location`` an Immunization's
    ``location`` names; a closed site stays readable, ``inactive``."""
    return {
        "resourceType": "Location",
        "id": site.site_id,
        "identifier": [{"system": sy.site, "value": site.site_id}],
        "status": "active" if site.active else "inactive",
        "name": site.name,
        "type": [{"coding": [{"system": sy.site_kind, "code": site.kind}], "text": site.kind}],
        "managingOrganization": organizations.reference(organizations.runner(site)),
        "address": {
            "country": "VN",
            "extension": [
                {"url": sy.ward_extension, "valueCode": site.ward_code},
                {"url": sy.province_extension, "valueCode": site.province_code},
            ],
        },
    }


def vaccine_code(row: dict[str, Any], sy: codes.Systems) -> dict[str, Any]:
    """The product in the codes the certificates use (EU DCC medicinal product, SNOMED CT
    prophylaxis), the platform's product code, and WHO ATC where known."""
    coding = [
        {"system": codes.eu_product_system(row["mp"]), "code": row["mp"]},
        {"system": codes.SNOMED, "code": row["vp"]},
        {"system": sy.product, "code": row["product_code"]},
    ]
    if row["product_code"] in codes.ATC:
        code, display = codes.ATC[row["product_code"]]
        coding.append({"system": codes.ATC_SYSTEM, "code": code, "display": display})
    return {"coding": coding, "text": row["product_name"]}


def immunization(row: dict[str, Any], sy: codes.Systems) -> dict[str, Any]:
    """A dose (``registry/doses/immunizations.search_immunizations``'s row) as an
    ``Immunization``. A dose not yet linked to a register person names no patient
    reference, only that it is unverified (the reference is required; its display says why)."""
    if row["person_id"]:
        subject = {"reference": f"Patient/{row['person_id']}"}
    else:
        subject = {"display": "chưa xác minh / not yet linked to the register"}
    out: dict[str, Any] = {
        "resourceType": "Immunization",
        "id": str(row["id"]),
        # the dose's last change (the change log's), else its storing: what _lastUpdated reads
        "meta": {"lastUpdated": instant(row.get("updated_at") or row["created_at"])},
        "status": _STATUS.get(row["status"], "completed"),
        "vaccineCode": vaccine_code(row, sy),
        "patient": subject,
        "occurrenceDateTime": _day(row["dose_date"]),
        "recorded": instant(row["created_at"]),
        "primarySource": True,
        "location": {"reference": f"Location/{row['site_id']}", "display": row["site_name"]},
        # the unit that runs the site gave the dose (fhir/organizations.py's model)
        "performer": [
            {
                "function": {"coding": [{"system": _PERFORMER_FUNCTION, "code": "AP"}]},
                "actor": organizations.reference(organizations.runner(_SiteRow(row))),
            }
        ],
        "protocolApplied": [
            {
                "targetDisease": [{"coding": [{"system": codes.SNOMED, "code": codes.COVID19[0]}]}],
                "doseNumberPositiveInt": row["dose_number"],
            }
        ],
    }
    if row.get("priority_group"):
        # why the person was vaccinated: the priority group of their registration, in our
        # code system, the group's official Vietnamese name as the display
        out["reasonCode"] = [
            {
                "coding": [
                    {
                        "system": sy.priority_group,
                        "code": row["priority_group"],
                        "display": row["group_vi"],
                    }
                ],
                "text": f"{row['group_vi']} / {row['group_en']}",
            }
        ]
    if row.get("lot_number"):
        out["lotNumber"] = row["lot_number"]
    if row.get("expiry"):
        out["expirationDate"] = _day(row["expiry"])
    return out


class _SiteRow:
    """The site columns of an Immunization row, as ``organizations.runner`` reads a site."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.site_id, self.name, self.kind = row["site_id"], row["site_name"], row["site_kind"]
        self.ward_code, self.province_code = row["site_ward"], row["site_province"]


def _day(value: date | str) -> str:
    return value if isinstance(value, str) else value.isoformat()


def outcome(severity: str, code: str, items: list[tuple[str, str, str]]) -> dict[str, Any]:
    """An ``OperationOutcome``: one issue per (expression, vi, en), its text in both
    languages ("vi / en", as the API's problems)."""
    issues = []
    for expression, vi, en in items or [("", "Lỗi", "error")]:
        issue: dict[str, Any] = {
            "severity": severity,
            "code": code,
            "diagnostics": f"{vi} / {en}",
            "details": {"text": en},
        }
        if expression:
            issue["expression"] = [expression]
        issues.append(issue)
    return {"resourceType": "OperationOutcome", "issue": issues}


def bundle(
    self_url: str,
    matches: list[tuple[str, dict[str, Any]]],
    includes: list[tuple[str, dict[str, Any]]],
    next_url: str | None,
) -> dict[str, Any]:
    """A searchset ``Bundle``: the matches, then the included resources, each with its full
    URL; ``next`` when there may be more (keyset: no total is counted)."""
    links = [{"relation": "self", "url": self_url}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    entries = [
        {"fullUrl": url, "resource": res, "search": {"mode": "match"}} for url, res in matches
    ] + [{"fullUrl": url, "resource": res, "search": {"mode": "include"}} for url, res in includes]
    return {"resourceType": "Bundle", "type": "searchset", "link": links, "entry": entries}
