"""A dose the desk could not verify is saved (the vaccination happened) and opens an item in
its ward's worklist, on both backends; a verified dose opens none."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from tests.factories import submission, world
from tiemchung.core import Platform
from tiemchung.registry.doses.record import record_doses
from tiemchung.registry.models import Dose, Person, ReviewItem
from tiemchung.registry.scope import Actor


def record(platform: Platform, **kw: object) -> int:
    person = kw.pop("person", None)
    sub = submission(person, **kw)  # type: ignore[arg-type]
    res = platform.writer.run(
        lambda s: record_doses(
            s, platform.catalog, Actor.system("tests"), [sub], today=date(2022, 6, 1)
        )
    )
    assert res[0].dose is not None, res[0].error
    return int(res[0].dose["id"])


def items(platform: Platform, dose_id: int) -> list[ReviewItem]:
    with platform.sessions() as s:
        return list(s.scalars(select(ReviewItem).where(ReviewItem.dose_id == dose_id)))


def test_a_verified_dose_opens_no_item(platform: Platform) -> None:
    d = record(platform, person="an")
    with platform.sessions() as s:
        assert s.get(Dose, d).status == "verified"  # type: ignore[union-attr]
    assert items(platform, d) == []


def test_a_wrong_name_opens_an_item_with_the_register_person_as_candidate(
    platform: Platform,
) -> None:
    w = world()
    d = record(platform, person="an", full_name="Nguyễn Văn Ann")
    with platform.sessions() as s:
        assert s.get(Dose, d).status == "unverified"  # type: ignore[union-attr]
        an_pk = s.scalar(select(Person.id).where(Person.person_id == "P-AN"))
    (it,) = items(platform, d)
    assert (it.kind, it.status, it.reason) == ("unverified", "open", "fields_differ")
    assert it.ward_code == w.wards["a1"] and it.person_pk == an_pk
    assert it.mismatches == "full_name"
    assert it.candidates == [
        {
            "person_id": "P-AN",
            "match_probability": None,
            "mismatches": ["full_name"],
            "corrections": {"full_name": "Nguyễn Văn An"},
        }
    ]
    assert "differs" in (it.explanation or "")  # the reason in words, for the reviewer
    # the commune accepts it: the dose is linked and its name takes the register's value
    from tiemchung.auth.users import actor_for
    from tiemchung.registry.models import User
    from tiemchung.registry.review import decisions as wd

    with platform.sessions() as s:
        commune = actor_for(s.scalars(select(User).where(User.username == "ward_a1")).one())
    platform.writer.run(lambda s: wd.accept(s, commune, it.id))
    with platform.sessions() as s:
        dose = s.get(Dose, d)
        assert dose is not None
        assert (dose.status, dose.person_pk, dose.full_name) == ("verified", an_pk, "Nguyễn Văn An")


def test_an_unknown_id_goes_to_the_ward_it_was_typed_in(platform: Platform) -> None:
    w = world()
    d = record(platform, national_id="001099888777", ward_code=w.wards["a2"], dob="1999-01-01")
    (it,) = items(platform, d)
    assert (it.reason, it.ward_code, it.person_pk, it.candidates) == (
        "id_not_in_register",
        w.wards["a2"],
        None,
        [],
    )


def test_no_id_at_all(platform: Platform) -> None:
    w = world()
    d = record(platform, ward_code=w.wards["b1"], dob="1999-01-01")
    (it,) = items(platform, d)
    assert (it.reason, it.ward_code) == ("no_id", w.wards["b1"])
