"""The identifier systems (issue 19 point 1): the installation's own base
(``TIEMCHUNG_FHIR_SYSTEM_BASE``), published as ``NamingSystem`` resources, and the very URIs
the resources use. Both backends; each resource parsed with the ``fhir.resources`` models."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.namingsystem import NamingSystem
from fhir.resources.R4B.patient import Patient

from tests.api.conftest import Api
from tests.api.test_fhir_api import get, ok, outcome
from tiemchung.config import Settings
from tiemchung.core import Platform
from tiemchung.fhir.codes import systems


def published(api: Api) -> dict[str, NamingSystem]:
    bundle = Bundle.model_validate(ok(api.client.get("/fhir/R4/NamingSystem")))
    out = {}
    for entry in bundle.entry or []:
        ns = NamingSystem.model_validate(entry.resource.model_dump())
        out[str(ns.id)] = ns
    return out


def test_the_id_systems_are_published_distinct(api: Api) -> None:
    found = published(api)
    uri = {k: ns.uniqueId[0].value for k, ns in found.items()}
    assert uri["cccd"] == "https://tiemchung.vn/fhir/sid/cccd"
    assert uri["cmnd"] == "https://tiemchung.vn/fhir/sid/cmnd"
    assert uri["register-person"] == "https://tiemchung.vn/fhir/sid/register-person"
    assert len(set(uri.values())) == len(uri) == 8
    assert found["cccd"].kind == "identifier" and found["product"].kind == "codesystem"
    assert "12" in (found["cccd"].description or "")
    # one by id, and an unknown one is a 404 OperationOutcome
    one = NamingSystem.model_validate(ok(api.client.get("/fhir/R4/NamingSystem/cmnd")))
    assert one.uniqueId[0].value == uri["cmnd"]
    missing = outcome(api.client.get("/fhir/R4/NamingSystem/passport"), 404)
    assert missing.issue[0].code == "not-found"
    # a Patient's identifiers use exactly the published systems
    patient = Patient.model_validate(ok(get(api, "/Patient/P-BINH", "central")))
    assert {i.system for i in patient.identifier} == {
        uri["cccd"],
        uri["cmnd"],
        uri["register-person"],
    }


def test_the_installation_sets_its_own_base(api: Api, platform: Platform) -> None:
    platform.settings.fhir_system_base = "https://hcdc.example.vn/fhir/"  # trailing / dropped
    uri = {k: ns.uniqueId[0].value for k, ns in published(api).items()}
    assert uri["cccd"] == "https://hcdc.example.vn/fhir/sid/cccd"
    patient = Patient.model_validate(ok(get(api, "/Patient/P-BINH", "central")))
    ids = {(i.system, i.value) for i in patient.identifier}
    assert ("https://hcdc.example.vn/fhir/sid/cmnd", "012345678") in ids
    # and searching by the installation's system finds her; the default one is refused
    hit = Bundle.model_validate(
        ok(
            get(
                api,
                "/Patient",
                "central",
                identifier="https://hcdc.example.vn/fhir/sid/cmnd|012345678",
            )
        )
    )
    assert [e.resource.id for e in hit.entry or []] == ["P-BINH"]
    outcome(
        get(api, "/Patient", "central", identifier="https://tiemchung.vn/fhir/sid/cmnd|012345678"),
        400,
    )


def test_the_base_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIEMCHUNG_FHIR_SYSTEM_BASE", "urn:example:vn-fhir")
    assert Settings().fhir_system_base == "urn:example:vn-fhir"
    assert systems(Settings().fhir_system_base).cccd == "urn:example:vn-fhir/sid/cccd"
    monkeypatch.delenv("TIEMCHUNG_FHIR_SYSTEM_BASE")
    assert Settings().fhir_system_base == "https://tiemchung.vn/fhir"
    with pytest.raises(ValueError, match="absolute URI"):
        systems("tiemchung.vn/fhir")
