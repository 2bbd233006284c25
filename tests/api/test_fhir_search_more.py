"""The FHIR search's completeness (issue 19 point 1): ``Patient?gender=``, ``_lastUpdated``
and ``meta.lastUpdated`` from the rows' own update times, ``_include`` once per patient, and
every unsupported parameter refused. Both backends; every resource parsed back with the
``fhir.resources`` R4B models; expected values from the world's hand-made rows."""

from __future__ import annotations

from datetime import UTC, datetime

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.immunization import Immunization
from fhir.resources.R4B.patient import Patient
from sqlalchemy import update

from tests.api import test_fhir_api
from tests.api.conftest import Api
from tests.api.test_fhir_api import get, ok, outcome
from tiemchung.core import Platform
from tiemchung.registry.models import Dose, Person

OLD = datetime(2020, 1, 1, tzinfo=UTC)
doses = test_fhir_api.doses  # the six hand-made doses (a fixture)


def ids(bundle: Bundle, mode: str = "match") -> list[str]:
    return [str(e.resource.id) for e in bundle.entry or [] if e.search.mode == mode]


def test_patient_search_by_gender(api: Api) -> None:
    women = Bundle.model_validate(ok(get(api, "/Patient", "central", gender="female")))
    assert ids(women) == ["P-BINH", "P-EM"]
    men_a = Bundle.model_validate(ok(get(api, "/Patient", "prov_a", gender="male")))
    assert ids(men_a) == ["P-AN", "P-CUONG"]
    # by id, the other filters still apply
    assert ids(Bundle.model_validate(ok(get(api, "/Patient", "central", _id="P-AN")))) == ["P-AN"]
    by_id = Bundle.model_validate(ok(get(api, "/Patient", "central", _id="P-AN", gender="female")))
    assert ids(by_id) == []
    refused = outcome(get(api, "/Patient", "central", gender="other"), 400)
    assert refused.issue[0].expression == ["gender"]
    assert "male" in (refused.issue[0].diagnostics or "")


def test_patient_last_updated_reads_the_persons_update_time(api: Api, platform: Platform) -> None:
    changed = datetime(2030, 3, 4, 5, 6, 7, tzinfo=UTC)
    with platform.sessions() as s:
        s.execute(update(Person).values(updated_at=OLD))
        s.execute(update(Person).where(Person.person_id == "P-EM").values(updated_at=changed))
        s.commit()
    late = Bundle.model_validate(
        ok(get(api, "/Patient", "central", _lastUpdated="gt2025-01-01T00:00:00Z"))
    )
    assert ids(late) == ["P-EM"]
    (entry,) = late.entry or []
    assert ok(get(api, "/Patient/P-EM", "central"))["meta"]["lastUpdated"] == (
        "2030-03-04T05:06:07Z"
    )
    patient = Patient.model_validate(entry.resource.model_dump())
    assert patient.meta is not None
    for pid, expected in (("P-EM", ["P-EM"]), ("P-AN", [])):
        one = get(api, "/Patient", "central", _id=pid, _lastUpdated="gt2025-01-01T00:00:00Z")
        assert ids(Bundle.model_validate(ok(one))) == expected
    every = Bundle.model_validate(ok(get(api, "/Patient", "central", _lastUpdated="gt2019-12-31")))
    assert len(ids(every)) == 5


def test_immunization_last_updated_is_the_later_change(
    api: Api, platform: Platform, doses: dict[str, int]
) -> None:
    # what registry/changes/log.append sets on a later change of a dose
    corrected = datetime(2031, 5, 1, 8, 0, 0, tzinfo=UTC)
    with platform.sessions() as s:
        s.execute(update(Dose).where(Dose.id == doses["binh"]).values(updated_at=corrected))
        s.commit()
    late = Bundle.model_validate(
        ok(get(api, "/Immunization", "central", _lastUpdated="gt2031-01-01T00:00:00Z"))
    )
    assert ids(late) == [str(doses["binh"])]
    body = ok(get(api, f"/Immunization/{doses['binh']}", "central"))
    Immunization.model_validate(body)
    assert body["meta"]["lastUpdated"] == "2031-05-01T08:00:00Z"
    # a dose never changed since it was stored: its storing time, as recorded
    other = ok(get(api, f"/Immunization/{doses['an1']}", "central"))
    assert other["meta"]["lastUpdated"] == other["recorded"]


def test_include_names_each_patient_once(api: Api, doses: dict[str, int]) -> None:
    bundle = Bundle.model_validate(
        ok(get(api, "/Immunization", "central", patient="P-AN", _include="Immunization:patient"))
    )
    assert ids(bundle) == [str(doses["an1"]), str(doses["an2"])]
    assert ids(bundle, "include") == ["P-AN"]
    # without _include: no patient in the Bundle
    plain = Bundle.model_validate(ok(get(api, "/Immunization", "central", patient="P-AN")))
    assert ids(plain, "include") == []
    # the unlinked dose names nobody, so nothing is included for it
    nobody = Bundle.model_validate(
        ok(
            get(
                api,
                "/Immunization",
                "central",
                _id=str(doses["nobody"]),
                _include="Immunization:patient",
            )
        )
    )
    assert ids(nobody) == [str(doses["nobody"])] and ids(nobody, "include") == []


def test_every_unsupported_parameter_is_refused(api: Api) -> None:
    cases = [
        ("/Patient", {"gender:missing": "true"}, "gender:missing"),
        ("/Patient", {"_sort": "birthdate"}, "_sort"),
        ("/Patient", {"telecom": "0912000001"}, "telecom"),
        ("/Immunization", {"_summary": "count"}, "_summary"),
        ("/Immunization", {"patient:identifier": "x"}, "patient:identifier"),
        ("/Immunization", {"_revinclude": "Provenance:target"}, "_revinclude"),
        ("/Immunization", {"_lastUpdated": "lt2021-01-01"}, "_lastUpdated"),
    ]
    for path, params, name in cases:
        issue = outcome(get(api, path, "central", **params), 400)
        assert issue.issue[0].expression == [name], (path, params)
        assert issue.issue[0].code == "invalid"
