"""The truth file is right: re-derived from register and records, record by record."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tests.synth.conftest import Dataset
from tiemchung.identity import parse_dob
from tiemchung.synth import derive_fields, derive_incomplete_fields, derive_wrong_fields


def test_wrong_fields_rederived_for_every_record(
    records: list[dict[str, Any]], truth: list[dict[str, Any]], register: dict[str, Any]
) -> None:
    assert len(records) == len(truth) > 40_000
    mismatches: Counter[tuple[str, str]] = Counter()
    checked = 0
    for rec, t in zip(records, truth, strict=True):
        assert rec["record_id"] == t["record_id"]
        if t["person_id"] is None:
            # nothing to compare with
            assert t["wrong_fields"] is None and t["incomplete_fields"] is None
            continue
        wrong, incomplete = derive_fields(rec, register[t["person_id"]])
        derived = (";".join(wrong) or None, ";".join(incomplete) or None)
        checked += 1
        if derived != (t["wrong_fields"], t["incomplete_fields"]):
            mismatches[(str(t["wrong_fields"]), str(t["incomplete_fields"]), str(derived))] += 1
    assert checked > 40_000
    assert not mismatches, mismatches.most_common(5)


def test_every_kind_of_incomplete_field_occurs_and_is_never_wrong(
    truth: list[dict[str, Any]],
) -> None:
    # the generator's incomplete kinds: no ID, year-only or 01-01 date, a dropped middle name
    seen = Counter(
        f for t in truth if t["incomplete_fields"] for f in t["incomplete_fields"].split(";")
    )
    assert set(seen) == {"national_id", "full_name", "dob"}
    for t in truth:
        both = set((t["wrong_fields"] or "").split(";")) & set(
            (t["incomplete_fields"] or "").split(";")
        )
        assert not both - {""}, t


def test_every_kind_of_wrong_field_occurs(truth: list[dict[str, Any]]) -> None:
    seen = Counter(f for t in truth if t["wrong_fields"] for f in t["wrong_fields"].split(";"))
    assert set(seen) == {"national_id", "full_name", "dob", "sex", "ward_code"}


def test_formatting_alone_is_not_an_error(register: dict[str, Any]) -> None:
    person = next(p for p in register.values() if len(p["dob"]) == 10 and p["old_id"])
    y, m, d = person["dob"].split("-")
    typed = {
        "national_id": f" {person['national_id'][:3]} {person['national_id'][3:6]} "
        f"{person['national_id'][6:]} ",
        "full_name": "  "
        + __import__("unicodedata").normalize("NFD", person["full_name"].upper())
        + " ",
        "dob": f"{int(d)}/{int(m)}/{y}",
        "sex": {"M": "NAM", "F": "nữ"}[person["sex"]],
        "ward_code": person["ward_code"].lstrip("0"),
    }
    assert derive_wrong_fields(typed, person) == []
    old = dict(typed, national_id=person["old_id"], dob=f"{int(m) % 12 + 1}/{int(d)}/{y}")
    assert derive_wrong_fields(old, person) == ["national_id", "dob"]


def test_incomplete_is_not_wrong(register: dict[str, Any]) -> None:
    person = next(
        p
        for p in register.values()
        if len(p["dob"]) == 10
        and not p["dob"].endswith("-01-01")
        and p["old_id"]
        and len(p["full_name"].split()) >= 3
    )
    y, m, d = person["dob"].split("-")
    words = person["full_name"].split()
    typed = {
        "national_id": "",
        "full_name": " ".join([words[0], words[-1]]).upper(),  # the middle name dropped
        "dob": y,  # the year only
        "sex": None,
        "ward_code": " ",
    }
    assert derive_fields(typed, person) == (
        [],
        ["national_id", "full_name", "dob", "sex", "ward_code"],
    )
    # the 01-01 placeholder of the register's year is incomplete; of another year, wrong
    assert derive_incomplete_fields(dict(typed, dob=f"01/01/{y}"), person)[2] == "dob"
    assert "dob" in derive_wrong_fields(dict(typed, dob=f"01/01/{int(y) + 1}"), person)
    # wrong beats incomplete: a dropped middle name typed without diacritics is wrong
    folded = __import__("tiemchung.identity", fromlist=["fold_name"]).fold_name
    no_marks = " ".join([words[0], words[-1]])
    if folded(no_marks) != no_marks.lower():
        assert "full_name" in derive_wrong_fields(dict(typed, full_name=folded(no_marks)), person)
    # an unreadable date is wrong, not missing; the old ID is wrong, not partial
    assert derive_fields(dict(typed, dob=f"31/02/{y}", national_id=person["old_id"]), person)[
        0
    ] == ["national_id", "dob"]
    # blank in both: neither; a value the register cannot vouch for: wrong
    no_sex = dict(person, sex=None)
    wrong, incomplete = derive_fields(typed, no_sex)
    assert "sex" not in wrong + incomplete
    assert "sex" in derive_wrong_fields(dict(typed, sex="Nam"), no_sex)
    # a date more precise than the register's, and compatible with it, is neither
    year_only = dict(person, dob=y)
    assert derive_fields(dict(typed, dob=f"{d}/{m}/{y}"), year_only)[0] == []
    assert "dob" not in derive_fields(dict(typed, dob=f"{d}/{m}/{y}"), year_only)[1]


def test_duplicates_point_to_an_earlier_record_of_the_same_dose(
    dataset: Dataset, records: list[dict[str, Any]], truth: list[dict[str, Any]]
) -> None:
    by_id = {r["record_id"]: (i, r) for i, r in enumerate(records)}
    person = {t["record_id"]: t["person_id"] for t in truth}
    dups = [(r, t) for r, t in zip(records, truth, strict=True) if t["duplicate_of"]]
    assert len(dups) == dataset.summary["counts"]["duplicates"] > 100
    other_site = 0
    for rec, t in dups:
        i, orig = by_id[t["duplicate_of"]]
        assert i < by_id[rec["record_id"]][0]
        assert person[orig["record_id"]] == t["person_id"]
        assert (orig["vaccine"], orig["dose_number"]) == (rec["vaccine"], rec["dose_number"])
        assert parse_dob(orig["dose_date"]) == parse_dob(rec["dose_date"])
        assert truth[i]["duplicate_of"] is None
        other_site += orig["site_id"] != rec["site_id"]
    assert 0 < other_site < len(dups)  # double entries at the same site and at another
