"""``Immunization.reasonCode``: the person's priority group (issue 18's registrations), coded
in our CodeSystem with the group's Vietnamese name as display; none without an active
registration. Both backends; hand-made rows; every resource parsed with the R4B models."""

from __future__ import annotations

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.immunization import Immunization
from sqlalchemy import select

from tests.api import test_fhir_api
from tests.api.conftest import Api
from tests.api.test_fhir_api import get, ok
from tiemchung.core import Platform
from tiemchung.registry.models import Person
from tiemchung.registry.tables.registrations import PriorityGroup, Registration

doses = test_fhir_api.doses  # the six hand-made doses (a fixture)
GROUPS = "https://tiemchung.vn/fhir/CodeSystem/priority-group"


def register(platform: Platform) -> None:
    """An registered in a hand-made group; Bình's registration in it withdrawn."""
    with platform.sessions() as s:
        s.add(PriorityGroup(code="T-01", name_vi="Nhóm thử nghiệm", name_en="Test group", sort=1))
        s.flush()
        pk = dict(s.execute(select(Person.person_id, Person.id)).tuples().all())
        for pid, name, status in (("P-AN", "Nguyễn Văn An", "active"),
                                  ("P-BINH", "Trần Thị Bình", "withdrawn")):  # fmt: skip
            s.add(
                Registration(
                    person_id=pk[pid],
                    full_name=name,
                    check_status="verified",
                    priority_group="T-01",
                    status=status,
                )
            )
        s.commit()


def test_reason_code_is_the_priority_group(
    api: Api, platform: Platform, doses: dict[str, int]
) -> None:
    register(platform)
    an = Immunization.model_validate(ok(get(api, f"/Immunization/{doses['an1']}", "central")))
    (reason,) = an.reasonCode or []
    (coding,) = reason.coding or []
    assert (coding.system, coding.code, coding.display) == (GROUPS, "T-01", "Nhóm thử nghiệm")
    assert reason.text == "Nhóm thử nghiệm / Test group"
    # a withdrawn registration gives no reason; nor does no registration at all
    for label in ("binh", "cuong", "nobody"):
        body = ok(get(api, f"/Immunization/{doses[label]}", "central"))
        Immunization.model_validate(body)
        assert "reasonCode" not in body, label
    # the join never repeats a dose: An's two doses, each with the reason once
    bundle = Bundle.model_validate(ok(get(api, "/Immunization", "central", patient="P-AN")))
    entries = [e.resource for e in bundle.entry or []]
    assert [e.id for e in entries] == [str(doses["an1"]), str(doses["an2"])]
    assert all(len(e.reasonCode) == 1 for e in entries)  # type: ignore[union-attr]
    everyone = Bundle.model_validate(ok(get(api, "/Immunization", "central")))
    assert len(everyone.entry or []) == len(doses)
