"""The FHIR R4 API at /fhir/R4 over a real database (both backends): every resource it
answers is parsed back with the ``fhir.resources`` R4B models (which refuse unknown
elements and malformed values), and checked against the world's hand-made rows."""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.immunization import Immunization
from fhir.resources.R4B.location import Location
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient
from sqlalchemy import select

from tests.api.conftest import Api
from tests.factories import submission, world
from tiemchung.core import Platform
from tiemchung.registry.doses.record import record_doses
from tiemchung.registry.models import Dose
from tiemchung.registry.scope import Actor

SYSTEM = Actor.system("tests")
CCCD = "https://tiemchung.vn/fhir/sid/cccd"
CMND = "https://tiemchung.vn/fhir/sid/cmnd"
WARD = "https://tiemchung.vn/fhir/StructureDefinition/ward-code"
FHIR_JSON = "application/fhir+json"


def get(api: Api, path: str, as_: str | None, **params: Any) -> Any:
    return api.client.get(f"/fhir/R4{path}", headers=api.headers(as_), params=params)


def outcome(r: Any, status: int) -> OperationOutcome:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(FHIR_JSON)
    return OperationOutcome.model_validate(r.json())


def ok(r: Any) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(FHIR_JSON)
    body: dict[str, Any] = r.json()
    return body


@pytest.fixture
def doses(platform: Platform) -> dict[str, int]:
    """Six doses: An's two Pfizer doses and Bình's AstraZeneca at site a1, Cường's Moderna
    at a2, Dũng's Pfizer at b1 and one for nobody in the register at a1."""
    w = world()
    subs = {
        "an1": submission("an"),
        "an2": submission("an", dose_number=2, dose_date=date(2021, 10, 25)),
        "binh": submission(
            "binh", product_code="AZ", lot_number="AZ-OK", dose_date=date(2021, 11, 1)
        ),
        "cuong": submission(
            "cuong", product_code="MODERNA", lot_number="MO-OK", site_id=w.sites["a2"]
        ),
        "dung": submission("dung", site_id=w.sites["b1"], dose_date=date(2021, 10, 2)),
        "nobody": submission(None),
    }
    results = platform.writer.run(
        lambda s: record_doses(
            s, platform.catalog, SYSTEM, list(subs.values()), today=date(2022, 6, 1)
        )
    )
    out = {}
    for label, r in zip(subs, results, strict=True):
        assert r.error is None and r.dose is not None, (label, r.error)
        out[label] = int(r.dose["id"])
    return out


def test_patient_read_keeps_a_year_only_birth_date_and_the_ward(api: Api) -> None:
    r = get(api, "/Patient/P-CUONG", "central")
    patient = Patient.model_validate(ok(r))
    assert r.json()["birthDate"] == "1978"
    assert patient.gender == "male"
    assert {(i.system, i.value) for i in patient.identifier} >= {(CCCD, "001078111222")}
    assert patient.name[0].text == "Lê Mạnh Cường"
    assert patient.name[0].family == "Lê"
    (address,) = patient.address
    assert address.text == "Thôn 1"
    assert [(e.url, e.valueCode) for e in address.extension if e.url == WARD] == [
        (WARD, world().wards["a2"])
    ]


def test_patient_old_id_is_its_own_system(api: Api) -> None:
    patient = Patient.model_validate(ok(get(api, "/Patient/P-BINH", "central")))
    ids = {(i.system, i.value) for i in patient.identifier}
    assert (CMND, "012345678") in ids and (CCCD, "001190654321") in ids
    assert patient.birthDate is not None and str(patient.birthDate) == "1990-11-02"
    assert patient.gender == "female"


def test_patient_search_by_each_identifier_system(api: Api) -> None:
    by_old = Bundle.model_validate(
        ok(get(api, "/Patient", "central", identifier=f"{CMND}|012345678"))
    )
    assert [e.resource.id for e in by_old.entry or []] == ["P-BINH"]
    by_new = Bundle.model_validate(
        ok(get(api, "/Patient", "central", identifier=f"{CCCD}|040065333444"))
    )
    assert [e.resource.id for e in by_new.entry or []] == ["P-DUNG"]
    # the old card's number under the new ID's system is no match, but a refusal
    issue = outcome(get(api, "/Patient", "central", identifier=f"{CCCD}|012345678"), 400)
    assert issue.issue[0].expression == ["identifier"]
    unknown = outcome(get(api, "/Patient", "central", identifier="urn:other|1"), 400)
    assert "urn:other" in (unknown.issue[0].diagnostics or "")


def test_patient_scoping_as_the_api(api: Api) -> None:
    # a commune cannot read another ward's person: 404, as /api/v1/persons/{id}
    assert api.get("/persons/P-DUNG", "ward_a1").status_code == 404
    outcome(get(api, "/Patient/P-DUNG", "ward_a1"), 404)
    seen = Bundle.model_validate(ok(get(api, "/Patient", "ward_a1")))
    assert sorted(e.resource.id for e in seen.entry or []) == ["P-AN", "P-BINH"]
    # a site may not list persons (403 as the API), and no token is a 401
    refused = outcome(get(api, "/Patient", "site_a1"), 403)
    assert refused.issue[0].code == "forbidden"
    login = outcome(get(api, "/Patient/P-AN", None), 401)
    assert login.issue[0].code == "login"


def test_unsupported_parameter_is_a_400_naming_it(api: Api) -> None:
    issue = outcome(get(api, "/Immunization", "central", vaccine="x"), 400)
    assert issue.issue[0].expression == ["vaccine"]
    assert "vaccine" in (issue.issue[0].diagnostics or "")
    outcome(get(api, "/Immunization", "central", _count="0"), 400)
    outcome(get(api, "/Immunization", "central", date="ge2021-13-01"), 400)
    outcome(get(api, "/Immunization", "central", _include="Immunization:performer"), 400)
    outcome(get(api, "/Immunization/abc", "central"), 404)


def test_immunization_search_by_patient(api: Api, doses: dict[str, int]) -> None:
    bundle = Bundle.model_validate(ok(get(api, "/Immunization", "central", patient="P-AN")))
    found = [e.resource for e in bundle.entry or []]
    assert [i.id for i in found] == [str(doses["an1"]), str(doses["an2"])]
    first = Immunization.model_validate(ok(get(api, f"/Immunization/{doses['an1']}", "central")))
    codes = {(c.system, c.code) for c in first.vaccineCode.coding}
    assert (
        "https://ec.europa.eu/health/documents/community-register/html/",
        "EU/1/20/1528",
    ) in codes
    assert ("http://www.whocc.no/atc", "J07BN01") in codes
    assert ("http://snomed.info/sct", "1119349007") in codes
    assert first.status == "completed"
    assert first.lotNumber == "PF-OK"
    assert first.expirationDate == date(2030, 1, 1)
    assert first.patient.reference == "Patient/P-AN"
    assert (
        first.location is not None and first.location.reference == f"Location/{world().sites['a1']}"
    )
    assert first.protocolApplied[0].doseNumberPositiveInt == 1
    (performer,) = first.performer
    assert performer.actor.reference == f"Organization/tram-{world().wards['a1']}"
    assert str(first.occurrenceDateTime) == "2021-10-01"
    second = found[1]
    assert second.protocolApplied[0].doseNumberPositiveInt == 2


def test_astrazeneca_codes_and_an_unlinked_dose(api: Api, doses: dict[str, int]) -> None:
    az = Immunization.model_validate(ok(get(api, f"/Immunization/{doses['binh']}", "central")))
    codes = {(c.system, c.code) for c in az.vaccineCode.coding}
    assert ("http://www.whocc.no/atc", "J07BN02") in codes
    assert ("http://snomed.info/sct", "1119305005") in codes
    assert az.lotNumber == "AZ-OK"
    nobody = Immunization.model_validate(
        ok(get(api, f"/Immunization/{doses['nobody']}", "central"))
    )
    assert nobody.patient.reference is None and nobody.patient.display


def test_include_patient_and_date_and_last_updated(api: Api, doses: dict[str, int]) -> None:
    body = ok(
        get(
            api,
            "/Immunization",
            "central",
            date="ge2021-10-20",
            _include="Immunization:patient",
        )
    )
    bundle = Bundle.model_validate(body)
    matches = [e.resource.id for e in bundle.entry or [] if e.search.mode == "match"]
    included = [e.resource.id for e in bundle.entry or [] if e.search.mode == "include"]
    assert sorted(matches) == sorted([str(doses["an2"]), str(doses["binh"])])
    assert sorted(included) == ["P-AN", "P-BINH"]
    late = Bundle.model_validate(
        ok(get(api, "/Immunization", "central", _lastUpdated="gt2999-01-01T00:00:00Z"))
    )
    assert not late.entry
    early = Bundle.model_validate(
        ok(get(api, "/Immunization", "central", _lastUpdated="gt2000-01-01T00:00:00Z"))
    )
    assert len(early.entry or []) == len(doses)


def test_immunization_scoping_as_the_api(api: Api, doses: dict[str, int]) -> None:
    seen = Bundle.model_validate(ok(get(api, "/Immunization", "ward_b1")))
    assert [e.resource.id for e in seen.entry or []] == [str(doses["dung"])]
    assert api.get(f"/doses/{doses['dung']}", "ward_a1").status_code == 404
    outcome(get(api, f"/Immunization/{doses['dung']}", "ward_a1"), 404)
    site = Bundle.model_validate(ok(get(api, "/Immunization", "site_b1")))
    assert [e.resource.id for e in site.entry or []] == [str(doses["dung"])]


def test_paging_by_next_gives_every_dose_once(
    api: Api, platform: Platform, doses: dict[str, int]
) -> None:
    with platform.sessions() as s:
        stored = sorted(str(i) for i in s.scalars(select(Dose.id)))
    seen: list[str] = []
    params: dict[str, Any] = {"_count": "4"}
    path = "/Immunization"
    pages = 0
    while True:
        bundle = Bundle.model_validate(ok(get(api, path, "central", **params)))
        pages += 1
        page = [e.resource.id for e in bundle.entry or []]
        assert len(page) <= 4
        seen += page
        nxt = [link.url for link in bundle.link or [] if link.relation == "next"]
        if not nxt:
            break
        url = urlsplit(nxt[0])
        assert url.path == "/fhir/R4/Immunization"
        path, params = "/Immunization", dict(p.split("=", 1) for p in url.query.split("&"))
        assert pages < 10
    assert sorted(seen) == stored and len(seen) == len(set(seen)) == len(doses)
    assert pages == 2


def test_metadata_is_a_capability_statement(api: Api) -> None:
    r = api.client.get("/fhir/R4/metadata")
    statement = CapabilityStatement.model_validate(ok(r))
    assert statement.fhirVersion == "4.0.1"
    # a SMART backend-services client finds the token endpoint in the statement and it works
    security = ok(r)["rest"][0]["security"]
    (uris,) = [e for e in security["extension"] if e["url"].endswith("/oauth-uris")]
    (token_url,) = [e["valueUri"] for e in uris["extension"] if e["url"] == "token"]
    assert token_url.endswith("/oauth/token") and "/fhir/" not in token_url
    no_secret = api.client.post(token_url, data={"grant_type": "client_credentials"})
    assert no_secret.status_code in (400, 401) and "error" in no_secret.json()
    assert security["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    types = {res.type for res in statement.rest[0].resource}
    assert types == {
        "Patient",
        "Immunization",
        "ImmunizationRecommendation",
        "Location",
        "NamingSystem",
        "Organization",
        "Group",
    }
    # the bulk export, system level and per Group (tests/api/test_fhir_export_api.py)
    assert [op.name for op in statement.rest[0].operation or []] == ["export"]
    (group,) = [res for res in statement.rest[0].resource if res.type == "Group"]
    assert [op.definition for op in group.operation or []] == [
        "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"
    ]


# -- every FHIR route × every role, written by hand from /api/v1's rules ------------------------
ROLES = (
    "central",
    "prov_a",
    "prov_b",
    "ward_a1",
    "ward_b1",
    "site_a1",
    "site_b1",
    "citizen_an",
    None,  # no token
)


def st(*codes: int) -> dict[str | None, int]:
    assert len(codes) == len(ROLES)
    return dict(zip(ROLES, codes, strict=True))


#: (path with {dung} for Dũng's dose id, expected status per role, expected match count per
#: role for a search). Persons: an, binh (a1), cuong (a2), dung (b1), em (b2); the doses of
#: the ``doses`` fixture: an ×2, binh, nobody at a1, cuong at a2, dung at b1 (nobody's dose,
#: unlinked and without a ward, belongs to its site's ward, a1).
FHIR_MATRIX: dict[str, list[tuple[str, dict[str | None, int], dict[str | None, int] | None]]] = {
    "GET /fhir/R4/metadata": [("/metadata", st(200, 200, 200, 200, 200, 200, 200, 200, 200), None)],
    # the systems of our identifiers are public, as the CapabilityStatement
    "GET /fhir/R4/NamingSystem": [
        ("/NamingSystem", st(200, 200, 200, 200, 200, 200, 200, 200, 200), st(*[8] * 9))
    ],
    "GET /fhir/R4/NamingSystem/{ident}": [
        ("/NamingSystem/cccd", st(200, 200, 200, 200, 200, 200, 200, 200, 200), None)
    ],
    "GET /fhir/R4/Patient/{person_id}": [
        # a site reads (masked) the people it vaccinated, as /api/v1/persons/{id}
        ("/Patient/P-AN", st(200, 200, 404, 200, 404, 200, 404, 200, 401), None),
        ("/Patient/P-DUNG", st(200, 404, 200, 404, 200, 404, 200, 404, 401), None),
    ],
    "GET /fhir/R4/Patient": [
        (
            "/Patient",
            st(200, 200, 200, 200, 200, 403, 403, 200, 401),
            st(5, 3, 2, 2, 1, 0, 0, 1, 0),
        )
    ],
    "GET /fhir/R4/Location/{site_id}": [
        ("/Location/S-A1", st(200, 200, 404, 200, 404, 200, 404, 403, 401), None)
    ],
    "GET /fhir/R4/Location": [
        (
            "/Location",
            st(200, 200, 200, 200, 200, 200, 200, 403, 401),
            st(4, 2, 2, 1, 1, 1, 1, 0, 0),
        )
    ],
    # a unit for whoever may read a site it runs (the department: a site of its province)
    "GET /fhir/R4/Organization/{org_id}": [
        ("/Organization/so-01", st(200, 200, 404, 200, 404, 200, 404, 403, 401), None)
    ],
    "GET /fhir/R4/Immunization/{dose_id}": [
        ("/Immunization/{dung}", st(200, 404, 200, 404, 200, 404, 200, 404, 401), None)
    ],
    # the recommendation follows the patient's own scope (a site: the people it vaccinated)
    "GET /fhir/R4/ImmunizationRecommendation": [
        (
            "/ImmunizationRecommendation?patient=P-AN",
            st(200, 200, 200, 200, 200, 200, 200, 200, 401),
            st(1, 1, 0, 1, 0, 1, 0, 1, 0),
        )
    ],
    "GET /fhir/R4/Immunization": [
        (
            "/Immunization",
            st(200, 200, 200, 200, 200, 200, 200, 200, 401),
            st(6, 5, 1, 4, 1, 4, 1, 2, 0),
        )
    ],
    # the bulk export (tests/api/test_fhir_export_api.py): a kick-off without Prefer:
    # respond-async is a 400 for the roles that may export, 403 for the others; a group
    # outside the area 403; no job 1 exists (404; DELETE is checked there)
    "GET /fhir/R4/$export": [("/$export", st(400, 400, 400, 400, 400, 403, 403, 403, 401), None)],
    "GET /fhir/R4/Group/{group_id}/$export": [
        ("/Group/01/$export", st(400, 400, 403, 403, 403, 403, 403, 403, 401), None)
    ],
    "GET /fhir/R4/$export-status/{job_id}": [
        ("/$export-status/1", st(404, 404, 404, 404, 404, 404, 404, 404, 401), None)
    ],
    "DELETE /fhir/R4/$export-status/{job_id}": [
        ("/$export-status/x", st(404, 404, 404, 404, 404, 404, 404, 404, 401), None)
    ],
    "GET /fhir/R4/$export-file/{job_id}/{name}": [
        ("/$export-file/1/Patient.ndjson", st(404, 404, 404, 404, 404, 404, 404, 404, 401), None)
    ],
}


def test_every_fhir_route_has_a_matrix_entry(api: Api) -> None:
    """A new FHIR endpoint fails here until someone writes down who may call it."""
    served = {
        f"{method.upper()} {path}"
        for path, ops in api.client.app.openapi()["paths"].items()  # type: ignore[attr-defined]
        if path.startswith("/fhir/R4/")
        for method in ops
    }
    assert served == set(FHIR_MATRIX)


def test_fhir_scope_matrix(api: Api, doses: dict[str, int]) -> None:
    for key, cases in FHIR_MATRIX.items():
        for path, statuses, counts in cases:
            for role in ROLES:
                where, _, query = path.format(dung=doses["dung"]).partition("?")
                args = dict(kv.split("=", 1) for kv in query.split("&") if kv)
                r = get(api, where, role, **args)
                assert r.status_code == statuses[role], (key, role, r.text)
                assert r.headers["content-type"].startswith(FHIR_JSON)
                if r.status_code != 200:
                    OperationOutcome.model_validate(r.json())
                    continue
                if counts is not None:
                    bundle = Bundle.model_validate(r.json())
                    assert len(bundle.entry or []) == counts[role], (key, role)
    # and the same doses as /api/v1 shows each role
    for role in ROLES[:-1]:
        total = api.get("/doses", role).json()["total"]
        assert total == FHIR_MATRIX["GET /fhir/R4/Immunization"][0][2][role], role  # type: ignore[index]


def test_a_site_sees_the_masked_desk_view(api: Api, doses: dict[str, int]) -> None:
    patient = Patient.model_validate(ok(get(api, "/Patient/P-AN", "site_a1")))
    ids = {i.system: i.value for i in patient.identifier}
    assert ids[CCCD] == "0010******56"
    assert "001085123456" not in json.dumps(get(api, "/Patient/P-AN", "site_a1").json())
    assert patient.telecom is None
    (address,) = patient.address
    assert address.text is None  # the ward, but not the street
    bundle = ok(get(api, "/Immunization", "site_a1", _include="Immunization:patient"))
    assert "001085123456" not in json.dumps(bundle)


def test_patient_search_by_name_and_birth_date_and_pages(api: Api) -> None:
    by_name = Bundle.model_validate(
        ok(get(api, "/Patient", "central", name="Le Manh Cuong", birthdate="1978"))
    )
    assert [e.resource.id for e in by_name.entry or []] == ["P-CUONG"]
    # a site finds the person at its desk by name and full birth date (the exact look-up)
    desk = Bundle.model_validate(
        ok(get(api, "/Patient", "site_a1", name="Trần Thị Bình", birthdate="1990-11-02"))
    )
    assert [e.resource.id for e in desk.entry or []] == ["P-BINH"]
    seen: list[str] = []
    params: dict[str, Any] = {"_count": "2"}
    for _ in range(5):
        bundle = Bundle.model_validate(ok(get(api, "/Patient", "central", **params)))
        seen += [e.resource.id for e in bundle.entry or []]
        nxt = [link.url for link in bundle.link or [] if link.relation == "next"]
        if not nxt:
            break
        params = dict(p.split("=", 1) for p in urlsplit(nxt[0]).query.split("&"))
    assert sorted(seen) == ["P-AN", "P-BINH", "P-CUONG", "P-DUNG", "P-EM"]


def test_the_immunization_location_resolves(api: Api, doses: dict[str, int]) -> None:
    dose = Immunization.model_validate(ok(get(api, f"/Immunization/{doses['an1']}", "central")))
    assert dose.location is not None and dose.location.reference
    site = Location.model_validate(ok(get(api, "/" + dose.location.reference, "central")))
    assert site.id == world().sites["a1"] and site.name == "Trạm Y tế a1"
    assert site.status == "active"
    assert (WARD, world().wards["a1"]) in [(e.url, e.valueCode) for e in site.address.extension]
