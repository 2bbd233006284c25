"""``ImmunizationRecommendation?patient=`` (issue 19 point 1): the patient's next dose due, by
the desk's own rule (``registry/doses/immunizations.recommendation_for`` over
``verify.next_dose``), so a partner app tells a citizen what the vaccination desk would.

- ``forecastStatus``: ``complete`` when the rules expect no further dose; ``overdue`` when a
  dose the overdue list counts (the primary series and one booster, ``invitations/due.py``'s
  ``BOOSTERS_DUE``) could be given before today; ``due`` otherwise;
- ``dateCriterion``: the earliest date (LOINC 30981-5), absent for a first dose (from today);
- ``doseNumberPositiveInt``, the product as ``vaccineCode`` (the series' own; none for a first
  dose: any product, ``targetDisease`` COVID-19 then).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from tiemchung.fhir import codes, resources
from tiemchung.fhir.search import bad_param, patient_ref, self_url, single
from tiemchung.registry.doses.immunizations import Recommendation, recommendation_for
from tiemchung.registry.invitations.due import BOOSTERS_DUE
from tiemchung.registry.people.persons import get_person
from tiemchung.registry.scope import Actor

PARAMS = ("patient",)
_STATUS = "http://terminology.hl7.org/CodeSystem/immunization-recommendation-status"
LOINC = "http://loinc.org"
EARLIEST = ("30981-5", "Earliest date to give")
_STATUS_WORDS = {
    "due": "Đến hạn / Due",
    "overdue": "Quá hạn / Overdue",
    "complete": "Đã đủ mũi / Complete",
}


def forecast_status(rec: Recommendation, primary_doses: int | None, today: date) -> str:
    """The status code of :data:`_STATUS` for the person's next dose on ``today``."""
    nxt = rec.next
    if nxt is None:
        return "complete"
    counted = primary_doses is None or nxt.dose_number <= primary_doses + BOOSTERS_DUE
    if counted and nxt.earliest_date is not None and nxt.earliest_date < today:
        return "overdue"
    return "due"


def recommendation(
    person_id: str,
    rec: Recommendation,
    sy: codes.Systems,
    *,
    primary_doses: int | None,
    today: date,
    now: datetime,
) -> dict[str, Any]:
    """The ``ImmunizationRecommendation`` of one patient (its id: the patient's)."""
    status = forecast_status(rec, primary_doses, today)
    item: dict[str, Any] = {
        "targetDisease": {
            "coding": [
                {"system": codes.SNOMED, "code": codes.COVID19[0], "display": codes.COVID19[1]}
            ]
        },
        "forecastStatus": {
            "coding": [{"system": _STATUS, "code": status}],
            "text": _STATUS_WORDS[status],
        },
    }
    nxt = rec.next
    if nxt is not None:
        item["doseNumberPositiveInt"] = nxt.dose_number
        item["description"] = f"{nxt.message_vi} / {nxt.message_en}"
        if rec.product is not None:
            item["vaccineCode"] = [resources.vaccine_code(rec.product, sy)]
        if nxt.earliest_date is not None:
            item["dateCriterion"] = [
                {
                    "code": {
                        "coding": [{"system": LOINC, "code": EARLIEST[0], "display": EARLIEST[1]}]
                    },
                    "value": nxt.earliest_date.isoformat(),  # a day, as the desk says it
                }
            ]
    return {
        "resourceType": "ImmunizationRecommendation",
        "id": person_id,
        "patient": {"reference": f"Patient/{person_id}"},
        "date": resources.instant(now),
        "recommendation": [item],
    }


def search_recommendations(
    session: Session,
    actor: Actor,
    sy: codes.Systems,
    url: str,
    params: list[tuple[str, str]],
    *,
    today: date,
    now: datetime,
) -> tuple[dict[str, Any], list[str]]:
    """``ImmunizationRecommendation?patient=``: a Bundle of the patient's one recommendation,
    empty when the caller may not read the patient (as ``Patient/{id}`` would 404); the
    patient is required (no recommendation list of a whole area: that is the overdue list).
    Returns the Bundle and the person ids read, for the audit log."""
    args = single(params, PARAMS)
    if "patient" not in args:
        raise bad_param("patient", "Cần tham số patient", "give the patient (patient=Patient/{id})")
    person_id = patient_ref(args["patient"][0])
    person = get_person(session, actor, person_id)
    matches: list[tuple[str, dict[str, Any]]] = []
    if person is not None:
        rec = recommendation_for(session, person.id)
        primary = rec.product["primary_doses"] if rec.product else None
        body = recommendation(
            person.person_id, rec, sy, primary_doses=primary, today=today, now=now
        )
        matches.append((f"{url}/{person.person_id}", body))
    read = [person.person_id] if person is not None else []
    return resources.bundle(self_url(url, params), matches, [], None), read
