"""The server's ``CapabilityStatement`` (``GET /fhir/R4/metadata``): what a partner may read
and search, said once here, beside the parameters ``search.py`` accepts."""

from __future__ import annotations

from typing import Any

import tiemchung
from tiemchung.fhir import naming, places, recommend, search
from tiemchung.fhir.codes import Systems

_TYPES = {"_count": "number", "_cursor": "number", "_id": "token"}
_PARAM_TYPES = {
    "identifier": "token",
    "name": "string",
    "birthdate": "date",
    "gender": "token",
    "patient": "reference",
    "date": "date",
    "_lastUpdated": "date",
    "address-city": "string",
    "ward": "token",
}


def _params(names: tuple[str, ...]) -> list[dict[str, str]]:
    return [
        {"name": n, "type": _PARAM_TYPES.get(n) or _TYPES.get(n, "string")}
        for n in names
        if n not in ("_include",)
    ]


_BULK = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition"
_EXPORT = f"{_BULK}/export"
_GROUP_EXPORT = f"{_BULK}/group-export"

#: when this statement last changed (its ``date``): bump it with the parameters it lists
PUBLISHED = "2026-12-07"


#: SMART App Launch's extension naming the OAuth endpoints inside ``rest.security``
OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
SECURITY_SERVICE = "http://terminology.hl7.org/CodeSystem/restful-security-service"


def _security(base: str) -> dict[str, Any]:
    """How a partner gets in, machine-readable: a client written against SMART Backend
    Services reads the token endpoint here (or at ``/.well-known/smart-configuration``)
    instead of a person reading our docs. ``base`` ends in ``/fhir/R4``; the token endpoint
    is at the server's root."""
    root = base.removesuffix("/fhir/R4")
    return {
        "extension": [
            {
                "url": OAUTH_URIS,
                "extension": [{"url": "token", "valueUri": root + "/oauth/token"}],
            }
        ],
        "service": [{"coding": [{"system": SECURITY_SERVICE, "code": "SMART-on-FHIR"}]}],
        "description": "OAuth2 client credentials: POST /oauth/token (partner clients, scopes "
        "system/<Type>.read) or a user's bearer token from /api/v1/auth/token; every answer is "
        "scoped to the caller's area as /api/v1 / Khoá truy cập OAuth2; dữ liệu giới hạn theo "
        "địa bàn của bên gọi",
    }


def capability_statement(base: str, sy: Systems) -> dict[str, Any]:
    """The statement for the server at ``base`` (its ``implementation.url``); the systems of
    ``sy`` are named in the documentation of the ``NamingSystem`` resource, readable at
    ``/NamingSystem`` without a token."""
    systems = ", ".join(
        f"{n['id']}: {n['uniqueId'][0]['value']}" for n in naming.naming_systems(sy)
    )
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": PUBLISHED,
        "kind": "instance",
        "software": {"name": "tiemchung", "version": tiemchung.__version__},
        "implementation": {
            "description": "tiemchung: Vietnam's vaccination records / hồ sơ tiêm chủng",
            "url": base,
        },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json"],
        "rest": [
            {
                "mode": "server",
                "security": _security(base),
                "resource": [
                    {
                        "type": "Patient",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": _params(search.PATIENT_PARAMS),
                    },
                    {
                        "type": "Location",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": _params(places.LOCATION_PARAMS),
                    },
                    {"type": "Organization", "interaction": [{"code": "read"}]},
                    {
                        "type": "ImmunizationRecommendation",
                        "interaction": [{"code": "search-type"}],
                        "searchParam": _params(recommend.PARAMS),
                        "documentation": "the patient's next dose due, by the desk's rule",
                    },
                    {
                        "type": "NamingSystem",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "documentation": "the identifier and code systems of this "
                        "installation (no token needed): " + systems,
                    },
                    {
                        "type": "Immunization",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchInclude": [search.INCLUDE_PATIENT],
                        "searchParam": _params(search.IMMUNIZATION_PARAMS),
                    },
                    {
                        "type": "Group",
                        "documentation": "a ward (5-digit code) or a province (2-digit code): "
                        "its people and their doses, for $export only",
                        "operation": [{"name": "export", "definition": _GROUP_EXPORT}],
                    },
                ],
                # FHIR Bulk Data Access (issue 19 point 2; fhir/bulk.py, docs/fhir.md)
                "operation": [{"name": "export", "definition": _EXPORT}],
            }
        ],
    }
