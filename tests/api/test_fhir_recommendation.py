"""``ImmunizationRecommendation?patient=``: the next dose due by the desk's rule, its status,
earliest date, dose number and product; scoped as ``Patient``. Both backends; the expected
dates worked out by hand from the fixture's doses and the catalogue's intervals (Pfizer 21
days, AstraZeneca 28, Moderna 28 within the primary series of 2; a booster 90 days)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.immunizationrecommendation import ImmunizationRecommendation
from sqlalchemy import update

from tests.api import test_fhir_api
from tests.api.conftest import Api
from tests.api.test_fhir_api import get, ok, outcome
from tiemchung.core import Platform
from tiemchung.registry.models import Dose

doses = test_fhir_api.doses  # the six hand-made doses (a fixture)
STATUS = "http://terminology.hl7.org/CodeSystem/immunization-recommendation-status"


def recommend(api: Api, as_: str | None, patient: str) -> list[ImmunizationRecommendation]:
    bundle = Bundle.model_validate(
        ok(get(api, "/ImmunizationRecommendation", as_, patient=patient))
    )
    return [
        ImmunizationRecommendation.model_validate(e.resource.model_dump())  # type: ignore[union-attr]
        for e in bundle.entry or []
    ]


def summary(rec: ImmunizationRecommendation) -> dict[str, Any]:
    (item,) = rec.recommendation
    (status,) = item.forecastStatus.coding or []
    assert status.system == STATUS
    return {
        "status": status.code,
        "dose": item.doseNumberPositiveInt,
        "earliest": [str(c.value) for c in item.dateCriterion or []],
        "product": [
            c.code
            for v in item.vaccineCode or []
            for c in v.coding or []
            if "community" in c.system
        ],
    }


def test_next_dose_by_the_desks_rule(api: Api, doses: dict[str, int]) -> None:
    (an,) = recommend(api, "central", "P-AN")
    assert an.patient.reference == "Patient/P-AN"
    # two Pfizer doses, the second on 2021-10-25: a booster from 90 days after
    assert summary(an) == {
        "status": "overdue",
        "dose": 3,
        "earliest": ["2022-01-23"],
        "product": ["EU/1/20/1528"],
    }
    (binh,) = recommend(api, "central", "Patient/P-BINH")
    # AstraZeneca dose 1 on 2021-11-01: dose 2 from 28 days after
    assert summary(binh) == {
        "status": "overdue",
        "dose": 2,
        "earliest": ["2021-11-29"],
        "product": ["EU/1/21/1529"],
    }
    (em,) = recommend(api, "central", "P-EM")
    # no dose yet: dose 1, any product, from today
    assert summary(em) == {"status": "due", "dose": 1, "earliest": [], "product": []}


def test_a_double_entry_is_no_dose_given(
    api: Api, platform: Platform, doses: dict[str, int]
) -> None:
    with platform.sessions() as s:
        s.execute(update(Dose).where(Dose.id == doses["an2"]).values(status="duplicate"))
        s.commit()
    (an,) = recommend(api, "central", "P-AN")
    # only Pfizer dose 1 of 2021-10-01 counts: dose 2 from 21 days after
    assert summary(an)["dose"] == 2 and summary(an)["earliest"] == ["2021-10-22"]


def test_recommendation_is_scoped_as_the_patient(api: Api, doses: dict[str, int]) -> None:
    assert [r.id for r in recommend(api, "citizen_an", "P-AN")] == ["P-AN"]
    assert [r.id for r in recommend(api, "site_a1", "P-AN")] == ["P-AN"]
    assert recommend(api, "ward_b1", "P-AN") == []
    assert recommend(api, "citizen_an", "P-BINH") == []
    outcome(get(api, "/ImmunizationRecommendation", None, patient="P-AN"), 401)
    missing = outcome(get(api, "/ImmunizationRecommendation", "central"), 400)
    assert missing.issue[0].expression == ["patient"]
    other = outcome(
        get(api, "/ImmunizationRecommendation", "central", patient="P-AN", date="x"), 400
    )
    assert other.issue[0].expression == ["date"]


def test_forecast_status_rules() -> None:
    from tiemchung.fhir.recommend import forecast_status
    from tiemchung.registry.doses.immunizations import Recommendation
    from tiemchung.registry.doses.verify import NextDose

    today = date(2024, 1, 10)

    def rec(number: int, earliest: date | None) -> Recommendation:
        return Recommendation(NextDose(number, "primary", "PFIZER", earliest, "", ""), 1, None)

    assert forecast_status(Recommendation(None, 10, None), 2, today) == "complete"
    assert forecast_status(rec(2, date(2024, 1, 9)), 2, today) == "overdue"
    assert forecast_status(rec(2, date(2024, 1, 10)), 2, today) == "due"  # due today
    assert forecast_status(rec(3, date(2023, 1, 1)), 2, today) == "overdue"  # the one booster
    # a second booster is the desk's suggestion, never overdue (as the overdue list)
    assert forecast_status(rec(4, date(2023, 1, 1)), 2, today) == "due"
