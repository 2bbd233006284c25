"""Verification at the desk (registry/doses/verify.py), on SQLite and PostgreSQL.

Expected values are written out by hand from the invented world of tests/factories.py; the
agreement with the dose path is checked by recording real doses (rolled back), not by
calling the dose path's private functions.
"""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import pytest
from sqlalchemy import insert, select

from tests.factories import resolve_scope, submission, world
from tiemchung.core import Platform
from tiemchung.identity import fold_name
from tiemchung.registry.doses.record import record_doses
from tiemchung.registry.doses.verify import Verification, VerifyRecord, verify
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.models import AuditEvent, Person
from tiemchung.registry.scope import Actor, Role

SYSTEM = Actor.system("tests")
SITE_A1 = Actor(1001, "site_a1", Role.SITE, **resolve_scope({"site_id": "a1"}))  # type: ignore[arg-type]
TODAY = date(2022, 6, 1)
AN_QR = "001085123456||Nguyễn Văn An|12041985|Nam|Thôn 1, Xã Giả, Hà Nội|20042021\r\n"


def run(platform: Platform, record: VerifyRecord, actor: Actor = SITE_A1) -> Verification:
    with platform.sessions() as s:
        v = verify(s, actor, record)
        s.commit()
        return v


def refused(platform: Platform, record: VerifyRecord, actor: Actor = SITE_A1) -> ServiceError:
    with pytest.raises(ServiceError) as exc:
        run(platform, record, actor)
    return exc.value


def add_person(platform: Platform, **values: Any) -> None:
    values.setdefault("name_key", fold_name(values["full_name"]))
    platform.writer.run(lambda s: s.execute(insert(Person), [values]))


def record_dose(platform: Platform, **overrides: Any) -> None:
    results = platform.writer.run(
        lambda s: record_doses(
            s, platform.catalog, SYSTEM, [submission("an", **overrides)], today=TODAY
        )
    )
    assert results[0].error is None, results[0].error


# -- QR and fields ------------------------------------------------------------------------------


def test_qr_payload_of_a_register_person_verifies(platform: Platform) -> None:
    v = run(platform, VerifyRecord(qr=AN_QR))
    assert v.status == "verified" and v.matched_on == "national_id"
    assert v.typed.source == "qr" and v.typed.dob == "1985-04-12" and v.typed.sex == "M"
    assert v.person is not None and v.person["person_id"] == "P-AN"
    assert v.mismatches == [] and v.id_conflicts == []


@pytest.mark.parametrize(
    ("payload", "rule"),
    [
        ("001085123456|Nguyễn Văn An|12041985", "invalid_qr:qr_field_count"),
        ("00108512345||Nguyễn Văn An|12041985|Nam|x|20042021", "invalid_qr:id_length_11"),
        ("001085123456||Nguyễn Văn An|31021985|Nam|x|20042021", "invalid_qr:qr_dob"),
        ("001085123456||Nguyễn Văn An|12041985|Nữ|x|20042021", "invalid_qr:qr_id_conflict"),
        ("001085123456||Nguyễn Văn An|12041985|Khác|x|20042021", "invalid_qr:qr_sex"),
        ("001085123456||Nguyễn Văn An|12041985|Nam|x|20042021\x00", "control_character"),
    ],
)
def test_garbled_qr_is_a_bilingual_error_naming_the_problem(
    platform: Platform, payload: str, rule: str
) -> None:
    err = refused(platform, VerifyRecord(qr=payload))
    assert err.status == 422
    p = err.problems[0]
    assert (p.field, p.rule) == ("qr", rule)
    assert p.message_vi and p.message_en and p.message_vi != p.message_en


def test_qr_and_fields_together_are_refused(platform: Platform) -> None:
    err = refused(platform, VerifyRecord(qr=AN_QR, full_name="Nguyễn Văn An"))
    assert (err.problems[0].field, err.problems[0].rule) == ("qr", "qr_or_fields")


def test_a_name_alone_is_not_enough(platform: Platform) -> None:
    err = refused(platform, VerifyRecord(full_name="Nguyễn Văn An"))
    assert (err.status, err.problems[0].field, err.problems[0].rule) == (
        422,
        "national_id",
        "identifier_required",
    )


def test_invalid_dob_and_sex_name_their_field(platform: Platform) -> None:
    bad_dob = refused(platform, VerifyRecord(national_id="001085123456", dob="31/02/1985"))
    assert bad_dob.problems[0].field == "dob"
    bad_sex = refused(platform, VerifyRecord(national_id="001085123456", sex="X"))
    assert bad_sex.problems[0].field == "sex"


def test_formatting_alone_is_not_a_mismatch(platform: Platform) -> None:
    v = run(
        platform,
        VerifyRecord(
            national_id="001 085 123 456",
            full_name="  NGUYỄN   văn an ",
            dob="12/04/1985",
            sex="Nam",
        ),
    )
    assert v.status == "verified" and v.mismatches == []
    # NFD input (decomposed diacritics) is the same name
    nfd = "Nguye\u0302\u0303n Va\u0306n An"
    assert run(platform, VerifyRecord(national_id="001085123456", full_name=nfd)).status == (
        "verified"
    )


# -- each mismatch kind --------------------------------------------------------------------------


def _kinds(v: Verification) -> list[tuple[str, str, bool]]:
    return [(m.field, m.kind, m.decisive) for m in v.mismatches]


def test_missing_diacritics_is_a_mismatch(platform: Platform) -> None:
    v = run(platform, VerifyRecord(national_id="001085123456", full_name="Nguyen Van An"))
    assert v.status == "mismatch"
    assert _kinds(v) == [("full_name", "diacritics", True)]
    assert v.mismatches[0].in_register == "Nguyễn Văn An"


def test_other_name_dob_sex_kinds(platform: Platform) -> None:
    v = run(
        platform,
        VerifyRecord(
            national_id="001085123456", full_name="Nguyễn Văn Anh", dob="1985-12-04", sex="Nữ"
        ),
    )
    assert v.status == "mismatch"
    assert _kinds(v) == [
        ("full_name", "different", True),
        ("dob", "day_month_swapped", True),
        ("sex", "different", True),
    ]
    v = run(platform, VerifyRecord(national_id="001085123456", dob="1986-04-12"))
    assert _kinds(v) == [("dob", "different", True)]


def test_ward_difference_is_reported_but_not_decisive(platform: Platform) -> None:
    w = world()
    v = run(platform, VerifyRecord(national_id="001085123456", ward_code=w.wards["b1"]))
    assert v.status == "verified"
    assert _kinds(v) == [("ward_code", "different", False)]


def test_unknown_id_with_name_and_dob_finds_the_person_as_a_mismatch(platform: Platform) -> None:
    v = run(
        platform,
        VerifyRecord(national_id="001085999999", full_name="Nguyễn Văn An", dob="12/04/1985"),
    )
    assert v.status == "mismatch" and v.matched_on == "name_dob"
    assert _kinds(v) == [("national_id", "different", True)]
    assert v.mismatches[0].in_register == "0010******56"  # masked for a site user


def test_partial_register_dob_and_old_id(platform: Platform) -> None:
    # cuong's register date is only "1978": a full typed date fits it
    assert run(platform, VerifyRecord(national_id="001078111222", dob="05/05/1978")).status == (
        "verified"
    )
    v = run(platform, VerifyRecord(national_id="012345678", full_name="Trần Thị Bình"))
    assert v.status == "verified" and v.matched_on == "old_id"


# -- ID conflicts ---------------------------------------------------------------------------------


def test_id_conflicts_of_typed_id_against_typed_fields(platform: Platform) -> None:
    # 001085…: a man born in (19)85; typed 1986 and female
    v = run(platform, VerifyRecord(national_id="001085123456", dob="1986-04-12", sex="F"))
    assert sorted((c.code, c.source) for c in v.id_conflicts) == [
        ("birth_year", "typed"),
        ("sex", "typed"),
    ]
    assert all(c.message_vi and c.message_en for c in v.id_conflicts)


def test_id_conflict_inside_the_register_is_reported(platform: Platform) -> None:
    add_person(
        platform,
        person_id="P-SAI",
        national_id="001190777888",  # encodes a woman born 1990
        full_name="Đỗ Văn Sai",
        dob="1991-02-03",
        sex="M",
        ward_code=world().wards["a1"],
        province_code="01",
    )
    v = run(platform, VerifyRecord(national_id="001190777888"))
    assert v.status == "verified"
    assert sorted((c.code, c.source) for c in v.id_conflicts) == [
        ("birth_year", "register"),
        ("sex", "register"),
    ]


# -- ambiguous, not found -------------------------------------------------------------------------


def _twin(platform: Platform) -> None:
    """A second Nguyễn Văn An born 1985-04-12, in ward b1, with another ID."""
    add_person(
        platform,
        person_id="P-AN2",
        national_id="040085654321",
        full_name="Nguyễn Văn An",
        dob="1985-04-12",
        sex="M",
        ward_code=world().wards["b1"],
        province_code="40",
    )


def test_same_name_and_dob_twice_is_ambiguous(platform: Platform) -> None:
    _twin(platform)
    v = run(platform, VerifyRecord(full_name="Nguyễn Văn An", dob="12/04/1985"))
    assert v.status == "ambiguous" and v.person is None
    assert sorted(c["person_id"] for c in v.candidates) == ["P-AN", "P-AN2"]
    assert sorted(v.read_person_ids) == ["P-AN", "P-AN2"]
    # the ward tells them apart; the ID does too
    w = world()
    v = run(
        platform, VerifyRecord(full_name="Nguyễn Văn An", dob="12/04/1985", ward_code=w.wards["b1"])
    )
    assert v.status == "verified" and v.person is not None and v.person["person_id"] == "P-AN2"
    v = run(platform, VerifyRecord(national_id="040085654321", full_name="Nguyễn Văn An"))
    assert v.status == "verified" and v.person is not None and v.person["person_id"] == "P-AN2"


def test_ambiguous_candidates_list_the_exact_date_of_birth_first(platform: Platform) -> None:
    # two namesakes with only a birth year in the register, added before the exact one
    for i, ward in enumerate(("b1", "a1")):
        add_person(
            platform,
            person_id=f"P-AN-Y{i}",
            national_id=f"04008565000{i}",
            full_name="Nguyễn Văn An",
            dob="1985",
            sex="M",
            ward_code=world().wards[ward],
            province_code="40",
        )
    _twin(platform)  # 1985-04-12, added last
    v = run(platform, VerifyRecord(full_name="Nguyễn Văn An", dob="12/04/1985"))
    assert v.status == "ambiguous"
    ids = [c["person_id"] for c in v.candidates]
    assert set(ids[:2]) == {"P-AN", "P-AN2"} and set(ids[2:]) == {"P-AN-Y0", "P-AN-Y1"}


def test_year_only_dob_finds_register_dates_within_it(platform: Platform) -> None:
    v = run(platform, VerifyRecord(full_name="Trần Thị Bình", dob="1990"))
    assert v.status == "verified" and v.person is not None and v.person["person_id"] == "P-BINH"
    assert run(platform, VerifyRecord(full_name="Trần Thị Bình", dob="1991")).status == "not_found"


def test_not_found(platform: Platform) -> None:
    v = run(platform, VerifyRecord(national_id="079199000001"))
    assert v.status == "not_found" and v.person is None and v.candidates == []
    assert v.read_person_ids == []
    assert v.next_dose is not None and v.next_dose.dose_number == 1
    v = run(platform, VerifyRecord(full_name="Không Ai Cả", dob="01/01/2000"))
    assert v.status == "not_found"


def test_an_unreadable_id_is_noted(platform: Platform) -> None:
    v = run(platform, VerifyRecord(national_id="00108512345"))  # 11 digits: Excel ate a zero
    assert v.status == "not_found"
    assert len(v.notes) == 1 and "11" in v.notes[0]


# -- history and the next dose ------------------------------------------------------------------


def test_history_and_next_dose_due(platform: Platform) -> None:
    record_dose(platform, dose_number=1, dose_date=date(2021, 10, 1))
    v = run(platform, VerifyRecord(national_id="001085123456"))
    assert [(d.dose_number, d.dose_date, d.product_code, d.site_id) for d in v.doses] == [
        (1, date(2021, 10, 1), "PFIZER", "S-A1")
    ]
    nd = v.next_dose
    assert nd is not None
    # Pfizer: 2 primary doses, 21 days apart
    assert (nd.dose_number, nd.kind, nd.product_code, nd.earliest_date) == (
        2,
        "primary",
        "PFIZER",
        date(2021, 10, 22),
    )
    record_dose(platform, dose_number=2, dose_date=date(2021, 10, 25))
    nd = run(platform, VerifyRecord(national_id="001085123456")).next_dose
    assert nd is not None
    # a booster waits 90 days, not the primary series' 21 (tiemchung.vaccines)
    assert (nd.dose_number, nd.kind, nd.earliest_date) == (3, "booster", date(2022, 1, 23))


def test_unlinked_doses_of_the_typed_id_are_shown(platform: Platform) -> None:
    # a dose typed with an ID nobody in the register has: saved unverified, not linked
    platform.writer.run(
        lambda s: record_doses(
            s,
            platform.catalog,
            SYSTEM,
            [submission(None, national_id="079199000001", dob="1999", full_name="Vô Danh")],
            today=TODAY,
        )
    )
    v = run(platform, VerifyRecord(national_id="079199000001"))
    assert v.status == "not_found"
    assert [(d.dose_number, d.status) for d in v.unlinked_doses] == [(1, "unverified")]
    assert v.next_dose is not None and v.next_dose.dose_number == 2


# -- roles, masking, audit ------------------------------------------------------------------------


def _actor(username: str, role: Role, **scope: str) -> Actor:
    return Actor(2000, username, role, **resolve_scope(scope))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("actor", "view"),
    [
        (SITE_A1, "desk"),
        (_actor("central", Role.CENTRAL), "full"),
        (_actor("prov_a", Role.PROVINCE, province_code="01"), "full"),
        (_actor("prov_b", Role.PROVINCE, province_code="40"), "desk"),
        (_actor("ward_a1", Role.COMMUNE, ward_code="a1"), "full"),
        (_actor("ward_b1", Role.COMMUNE, ward_code="b1"), "desk"),
    ],
)
def test_masking_per_role(platform: Platform, actor: Actor, view: str) -> None:
    v = run(platform, VerifyRecord(national_id="001190654321"), actor)  # binh, ward a1
    p = v.person
    assert p is not None and v.view == view and p["view"] == view
    assert (p["full_name"], p["dob"], p["sex"]) == ("Trần Thị Bình", "1990-11-02", "F")
    if view == "desk":
        assert p["national_id"] == "0011******21" and p["old_id"] == "0123***78"
        assert "phone" not in p and "address" not in p
    else:
        assert p["national_id"] == "001190654321" and p["old_id"] == "012345678"
        assert p["phone"] == "0912000002" and p["address"] == "Thôn 1"


def test_citizen_may_not_verify(platform: Platform) -> None:
    citizen = _actor("citizen_an", Role.CITIZEN)
    err = refused(platform, VerifyRecord(national_id="001085123456"), citizen)
    assert (err.status, err.problems[0].rule) == (403, "role_not_allowed")


def test_every_person_shown_is_audited(platform: Platform) -> None:
    run(platform, VerifyRecord(national_id="001085123456"))
    with platform.sessions() as s:
        rows = s.execute(
            select(AuditEvent.action, AuditEvent.entity_id, AuditEvent.username).where(
                AuditEvent.action == "person.read"
            )
        ).all()
    assert [tuple(r) for r in rows] == [("person.read", "P-AN", "site_a1")]


# -- the same decision as the dose path ----------------------------------------------------------


def _variants(rng: random.Random) -> list[dict[str, Any]]:
    """Typed identities around the world's persons: formatting, each kind of wrong field,
    IDs of others, unknown IDs, no ID."""
    w = world()
    people = list(w.persons.values())
    out = []
    for _ in range(60):
        p = rng.choice(people)
        name = p["full_name"]
        rec: dict[str, Any] = {
            "national_id": p["national_id"],
            "full_name": name,
            "dob": p["dob"],
            "sex": p["sex"],
            "ward_code": w.wards[p["ward"]],
        }
        for change in rng.sample(range(9), rng.choice([0, 1, 1, 2])):
            if change == 0:
                rec["full_name"] = name.upper()
            elif change == 1:
                rec["full_name"] = fold_name(name).title()
            elif change == 2 and len(p["dob"]) == 10:
                y, m, d = p["dob"].split("-")
                rec["dob"] = rng.choice([f"{d}/{m}/{y}", f"{m}/{d}/{y}", y, f"{int(y) + 1}"])
            elif change == 3:
                rec["sex"] = {"M": "Nữ", "F": "Nam"}[p["sex"]]
            elif change == 4:
                rec["national_id"] = rng.choice(people)["national_id"]
            elif change == 5:
                rec["national_id"] = "0790" + "".join(rng.choices("0123456789", k=8))
            elif change == 6:
                rec["national_id"] = p.get("old_id") or p["national_id"]
            elif change == 7:
                rec["national_id"] = None
            elif change == 8:
                rec["ward_code"] = w.wards[rng.choice(list(w.wards))]
        out.append(rec)
    return out


def test_verified_is_the_dose_paths_verified(platform: Platform) -> None:
    _twin(platform)
    rng = random.Random(20240611)
    seen: set[str] = set()
    for rec in _variants(rng):
        with platform.sessions() as s:
            v = verify(s, SYSTEM, VerifyRecord(**rec), audit=False)
            # What the desk then submits: the typed fields, and the chosen register person
            # when no ID was typed (the dose path verifies by person_id then).
            chosen = v.person["person_id"] if (v.person and not rec["national_id"]) else None
            sub = submission(None, **rec, person_id=chosen)
            result = record_doses(s, platform.catalog, SYSTEM, [sub], today=TODAY)[0]
            s.rollback()
        assert result.dose is not None, (rec, result.error)
        seen.add(v.status)
        assert (v.status == "verified") == (result.dose["status"] == "verified"), (rec, v.status)
        if v.status == "verified":
            assert v.person is not None and result.person_id == v.person["person_id"]
    assert {"verified", "mismatch"} <= seen
