"""Dose rules, linking and idempotency, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import resolve_scope, submission, world
from tiemchung.core import Platform
from tiemchung.registry.doses.record import DoseResult, DoseSubmission, record_doses
from tiemchung.registry.models import AuditEvent, Dose, ReviewItem
from tiemchung.registry.scope import Actor, Role

SYSTEM = Actor.system("tests")


def record(
    platform: Platform,
    subs: Sequence[DoseSubmission],
    actor: Actor = SYSTEM,
    today: date = date(2022, 6, 1),
) -> list[DoseResult]:
    return platform.writer.run(
        lambda s: record_doses(s, platform.catalog, actor, list(subs), today=today)
    )


def one(platform: Platform, sub: DoseSubmission, actor: Actor = SYSTEM) -> DoseResult:
    return record(platform, [sub], actor)[0]


def count_doses(platform: Platform) -> int:
    with platform.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Dose)) or 0)


def rule_of(result: DoseResult) -> tuple[int, str, str]:
    assert result.error is not None, "expected the dose to be refused"
    p = result.error.problems[0]
    return result.error.status, p.field, p.rule


def test_matching_identity_links_to_register_person(platform: Platform) -> None:
    r = one(platform, submission("an"))
    assert r.created and r.status == 201
    assert r.dose is not None and r.dose["status"] == "verified"
    assert r.person_id == "P-AN"
    assert r.dose["area_ward_code"] == world().wards["a1"]


def test_formatting_differences_still_verify(platform: Platform) -> None:
    # Upper case, no extra info, day-first date, ID typed with spaces: same person.
    r = one(
        platform,
        submission(
            "an",
            full_name="NGUYỄN  VĂN AN",
            dob="12/04/1985",
            national_id="001 085 123 456",
            sex="Nam",
        ),
    )
    assert r.dose is not None and r.dose["status"] == "verified"
    assert r.dose["national_id"] == "001085123456"
    assert r.dose["dob"] == "1985-04-12"


@pytest.mark.parametrize(
    "overrides",
    [
        {"full_name": "Nguyễn Văn Ân"},  # another name that folds the same
        {"full_name": "Nguyen Van An"},  # diacritics missing: a wrong field, not formatting
        {"dob": "1985-12-04"},  # day and month swapped
        {"sex": "Nữ"},
    ],
)
def test_disagreeing_identity_is_saved_unverified_not_rejected(
    platform: Platform, overrides: dict
) -> None:
    r = one(platform, submission("an", **overrides))
    assert r.created and r.dose is not None
    assert r.dose["status"] == "unverified" and r.person_id is None
    assert count_doses(platform) == 1


def test_old_id_and_partial_register_dob_link(platform: Platform) -> None:
    r1 = one(platform, submission("binh", national_id="012345678"))
    assert r1.person_id == "P-BINH"
    r2 = one(platform, submission("cuong", dob="1978-05-05"))  # register knows only the year
    assert r2.person_id == "P-CUONG"


def test_same_submission_twice_is_one_dose(platform: Platform) -> None:
    sub = submission("an")
    first = one(platform, sub)
    again = one(platform, sub)
    assert (first.status, again.status) == (201, 200)
    assert first.dose is not None and again.dose is not None
    assert again.dose["id"] == first.dose["id"]
    assert count_doses(platform) == 1


def test_uuid_reused_for_other_content_is_a_conflict(platform: Platform) -> None:
    sub = submission("an")
    one(platform, sub)
    other = submission("an", client_uuid=sub.client_uuid, lot_number="AZ-OK", product_code="AZ")
    assert rule_of(one(platform, other)) == (409, "client_uuid", "idempotency_conflict")


def codes(result: DoseResult) -> list[str]:
    assert result.error is None and result.created, result.error
    return [w.code for w in result.warnings]


def test_sequence_rules_warn_and_the_dose_is_stored(platform: Platform) -> None:
    """Was: refused with 422/409. A dose that was given is always stored; the sequence rules
    warn (tests/registry/test_dose_rules.py checks the worklist items they open)."""
    d1 = date(2021, 10, 1)
    assert codes(one(platform, submission("an", dose_number=2, dose_date=d1))) == [
        "previous_dose_missing"
    ]
    assert codes(one(platform, submission("an", dose_date=d1))) == []
    too_early = submission("an", dose_number=3, dose_date=d1 + timedelta(days=20))
    assert codes(one(platform, too_early)) == ["min_interval"]
    again = submission("an", dose_number=2, dose_date=d1 + timedelta(days=30))
    assert codes(one(platform, again)) == ["dose_recorded_twice"]
    assert count_doses(platform) == 4


def test_sequence_of_unlinked_doses_follows_the_typed_id(platform: Platform) -> None:
    """A person in no register has only the doses stored under the typed ID as history."""
    stranger = dict(national_id="079190000001", full_name="Võ Thị Lạ", dob="1990-01-01")
    assert one(platform, submission(None, **stranger)).dose["status"] == "unverified"  # type: ignore[index]
    second = submission(None, **stranger, dose_number=2, dose_date=date(2021, 10, 5))
    assert codes(one(platform, second)) == ["min_interval"]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"dose_date": date(2022, 6, 2)}, (422, "dose_date", "future_date")),
        ({"lot_number": "NOPE"}, (422, "lot_number", "unknown_lot")),
        ({"lot_number": "AZ-OK"}, (422, "lot_number", "unknown_lot")),  # lot of another product
        (
            {"lot_number": "PF-OLD", "dose_date": date(2022, 1, 5)},
            (422, "lot_number", "lot_expired"),
        ),
        ({"product_code": "XYZ"}, (422, "product_code", "unknown_product")),
        ({"site_id": "S-NOWHERE"}, (422, "site_id", "unknown_site")),
        ({"ward_code": "99999"}, (422, "ward_code", "unknown_ward")),
        ({"dob": "31/02/1990"}, (422, "dob", None)),
        ({"dose_number": 0}, (422, "dose_number", "out_of_range")),
        ({"full_name": "   "}, (422, "full_name", "required")),
        ({"session_id": 999999}, (422, "session_id", "unknown_session")),
    ],
)
def test_rule_violations_name_field_and_rule(
    platform: Platform, overrides: dict, expected: tuple
) -> None:
    status, field, rule = rule_of(one(platform, submission("an", **overrides)))
    assert (status, field) == expected[:2]
    if expected[2] is not None:
        assert rule == expected[2]
    assert count_doses(platform) == 0  # nothing half-written


def test_batch_items_fail_alone_and_see_each_other(platform: Platform) -> None:
    d1 = date(2021, 9, 1)
    subs = [
        submission("an", dose_date=d1),
        submission("an", dose_date=d1, lot_number="NOPE"),  # fails alone
        submission("an", dose_number=2, dose_date=d1 + timedelta(days=25)),  # sees item 0
        submission("dung", site_id=world().sites["b1"]),
    ]
    subs.append(subs[3])  # the same UUID twice in one batch: one dose
    results = record(platform, subs)
    assert [r.status for r in results] == [201, 422, 201, 201, 200]
    assert results[2].warnings == []  # dose 1 of the same batch is its history
    assert results[4].dose is not None and results[3].dose is not None
    assert results[4].dose["id"] == results[3].dose["id"]
    assert count_doses(platform) == 3


def test_every_recorded_dose_is_audited(platform: Platform) -> None:
    results = record(platform, [submission("an"), submission("dung")])
    with platform.sessions() as s:
        ids = set(s.scalars(select(AuditEvent.entity_id).where(AuditEvent.action == "dose.create")))
    assert ids == {str(r.dose["id"]) for r in results if r.dose}


def _actor(username: str, role: Role, **scope: str) -> Actor:
    resolved = resolve_scope(scope)
    prov = {"a": "01", "b": "40"}
    province = resolved.get("province_code")
    if role is Role.COMMUNE:
        province = prov[scope["ward_code"][0]]
    return Actor(
        user_id=None,
        username=username,
        role=role,
        province_code=province,
        ward_code=resolved.get("ward_code"),
        site_id=resolved.get("site_id"),
    )


def test_site_user_records_only_at_its_own_site(platform: Platform) -> None:
    site_b1 = _actor("s", Role.SITE, site_id="b1")
    assert rule_of(one(platform, submission("an"), site_b1)) == (403, "site_id", "out_of_area")
    ok = one(platform, submission("an", site_id=world().sites["b1"]), site_b1)
    assert ok.created  # a resident of another province vaccinated at this site


def test_commune_user_cannot_record_people_of_another_ward(platform: Platform) -> None:
    commune = _actor("c", Role.COMMUNE, ward_code="a1")
    out_of_area = submission(None, ward_code=world().wards["b1"])
    assert rule_of(one(platform, out_of_area, commune)) == (403, "ward_code", "out_of_area")
    assert one(platform, submission("an"), commune).created


def test_citizen_cannot_record(platform: Platform) -> None:
    citizen = Actor(user_id=None, username="x", role=Role.CITIZEN, person_pk=1)
    assert rule_of(one(platform, submission("an"), citizen))[0] == 403


def test_content_hash_is_the_stored_recipe_over_all_of_unicode() -> None:
    """Hashes stored by earlier versions must keep matching retries: the hash is the SHA-256
    of the original recipe's JSON, whatever characters the fields hold."""
    import hashlib
    import json
    from dataclasses import fields

    every_char = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    for sub in (
        submission("an"),
        submission("an", address=every_char, phone='"\\\n\t', session_id=7, record_id=None),
    ):
        values = [getattr(sub, f.name) for f in fields(sub) if f.name != "client_uuid"]
        raw = json.dumps(values, default=str, ensure_ascii=False, separators=(",", ":"))
        assert sub.content_hash() == hashlib.sha256(raw.encode()).hexdigest()


def test_recorded_rows_read_back_through_the_models(platform: Platform) -> None:
    """Doses and audit rows are inserted below the ORM: what the models read back must be
    exactly what was submitted (UUID, date, JSON detail in each database's stored form)."""
    sub = submission("an")
    unlinked = submission(None)
    results = record(platform, [sub, unlinked])
    with platform.sessions() as s:
        doses = {d.client_uuid: d for d in s.scalars(select(Dose))}
        audit = {
            e.entity_id: e
            for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "dose.create"))
        }
    for given, result in zip((sub, unlinked), results, strict=True):
        stored = doses[given.client_uuid]
        assert result.dose is not None and stored.id == result.dose["id"]
        assert stored.dose_date == given.dose_date and stored.created_at is not None
        assert stored.submission_hash == given.content_hash()
        event = audit[str(stored.id)]
        assert event.detail == {"site_id": given.site_id, "status": stored.status}
        assert (event.username, event.entity) == ("tests", "dose")
        assert event.at is not None
    assert {d.status for d in doses.values()} == {"verified", "unverified"}


def _two_writers(
    platform: Platform, rounds: list[tuple[DoseSubmission, DoseSubmission]]
) -> list[list[int]]:
    """Each round's pair sent at once, the first to this platform's writer and the second to
    a second platform's (its own engine, connections and writer thread, as a second server
    worker process has); the statuses answered, sorted."""
    with Platform(platform.settings, database_url=platform.database_url) as other:
        answers = []
        for pair in rounds:
            futures = [
                p.writer.submit(
                    lambda s, p=p, sub=sub: record_doses(
                        s, p.catalog, SYSTEM, [sub], today=date(2022, 6, 1)
                    )[0]
                )
                for p, sub in zip((platform, other), pair, strict=True)
            ]
            results = [f.result(30) for f in futures]
            answers.append(sorted(r.status for r in results))
            if pair[0].client_uuid == pair[1].client_uuid:
                assert results[0].dose is not None and results[1].dose is not None
                assert results[0].dose["id"] == results[1].dose["id"]
        return answers


def test_a_retry_on_another_worker_returns_the_original_dose(platform: Platform) -> None:
    subs = [submission(None) for _ in range(20)]
    assert _two_writers(platform, [(s, s) for s in subs]) == [[200, 201]] * 20
    assert count_doses(platform) == 20


def test_workers_racing_on_one_person_see_each_other(platform: Platform) -> None:
    """Dose 1 of the same person reaching two workers at once (different UUIDs): the writers
    are serialised across processes, so the second sees the first. Was: the second refused
    (409); now both are stored and the second carries the double-entry warning."""
    people = ["an", "binh", "dung"]
    answers = _two_writers(platform, [(submission(p), submission(p)) for p in people])
    assert answers == [[201, 201]] * len(people)
    assert count_doses(platform) == 2 * len(people)
    with platform.sessions() as s:
        twice = s.scalars(select(ReviewItem.reason).where(ReviewItem.kind == "dose_check")).all()
    assert twice == ["dose_recorded_twice"] * len(people)


def test_a_stored_uuid_is_answered_as_stored_whatever_the_checks_say_now(
    platform: Platform,
) -> None:
    """The checks that need no database run before the replay lookup (outside the writer);
    a retry of a stored dose is still the stored dose, even if those checks would now refuse
    it (here: by the retry's clock, the dose date is in the future)."""
    sub = submission("an")
    first = record(platform, [sub])[0]
    again = record(platform, [sub], today=sub.dose_date - timedelta(days=1))[0]
    assert (first.status, again.status) == (201, 200)
    assert first.dose is not None and again.dose is not None
    assert again.dose["id"] == first.dose["id"]
    fresh = submission("binh", dose_date=sub.dose_date)
    refused = record(platform, [fresh], today=sub.dose_date - timedelta(days=1))[0]
    assert rule_of(refused) == (422, "dose_date", "future_date")


def test_a_register_id_typed_with_another_name_follows_the_register_persons_history(
    platform: Platform,
) -> None:
    """A typed ID that is one register person's, with a name that does not agree: the dose
    is unverified, but its sequence is the register person's (was: the unlinked doses of the
    typed ID, which refused dose 2 of a person whose dose 1 the register holds)."""
    wrong_name = dict(full_name="Tên Khác Hẳn")
    d1 = date(2021, 10, 1)
    assert one(platform, submission("an", dose_date=d1)).dose["status"] == "verified"  # type: ignore[index]
    on_time = one(
        platform, submission("an", **wrong_name, dose_number=2, dose_date=d1 + timedelta(days=21))
    )
    assert on_time.dose is not None and on_time.dose["status"] == "unverified"
    assert codes(on_time) == []
    early = submission("an", **wrong_name, dose_number=3, dose_date=d1 + timedelta(days=30))
    assert codes(one(platform, early)) == ["min_interval"]  # dose 2 above is in its history


def test_typed_text_is_stored_exactly_through_the_set_based_insert(platform: Platform) -> None:
    """On PostgreSQL the rows travel as one JSON document: quotes, backslashes, control
    characters and characters outside the BMP must come back as they were cleaned."""
    address = "Số 5 \"ngõ\" 7\\8, \t phường Đông\u00a0Ba — 🏥 'B'"
    sub = submission("an", address=address, record_id='R"1\\')
    result = one(platform, sub)
    assert result.created and result.dose is not None
    with platform.sessions() as s:
        stored = s.get(Dose, result.dose["id"])
    assert stored is not None
    assert (stored.address, stored.record_id) == (address.strip(), 'R"1\\')
    assert stored.client_uuid == sub.client_uuid
