"""Register IDs, dates, wards and phones are well-formed and agree with each other."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tiemchung.identity import (
    CCCD_PROVINCES,
    id_conflicts,
    iter_admin_units,
    normalize_name,
    normalize_phone,
    parse_dob,
    parse_national_id,
    ward_by_code,
)


def test_every_register_id_parses_and_agrees_with_dob_and_sex(
    register: dict[str, dict[str, Any]],
) -> None:
    for p in register.values():
        nid = parse_national_id(p["national_id"])
        assert nid.kind == "cccd" and nid.digits == p["national_id"]
        assert nid.province_code in CCCD_PROVINCES
        assert id_conflicts(nid, dob=p["dob"], sex=p["sex"]) == [], p
        if p["old_id"] is not None:
            assert parse_national_id(p["old_id"]).kind == "cmnd"


def test_ids_and_phones_are_unique_across_the_population(
    register: dict[str, dict[str, Any]],
) -> None:
    ids = [p["national_id"] for p in register.values()]
    old = [p["old_id"] for p in register.values() if p["old_id"]]
    assert len(set(ids)) == len(ids)
    assert len(set(old)) == len(old)
    # a phone is shared only inside a household (same address)
    by_phone: dict[str, set[str]] = {}
    for p in register.values():
        if p["phone"]:
            by_phone.setdefault(p["phone"], set()).add(p["address"])
    assert all(len(a) == 1 for a in by_phone.values())


def test_register_values_are_clean(register: dict[str, dict[str, Any]]) -> None:
    wards_2021 = {u.code for u in iter_admin_units("2021") if u.level == "ward"}
    precision: Counter[int] = Counter()
    for p in register.values():
        assert normalize_name(p["full_name"]) == p["full_name"]
        assert parse_dob(p["dob"]).iso == p["dob"]
        precision[len(p["dob"])] += 1
        assert p["sex"] in ("M", "F")
        assert p["ward_code"] in wards_2021 and len(p["ward_code"]) == 5
        assert ward_by_code(p["ward_code"], scheme="2021").name in p["address"]
        if p["phone"]:
            assert normalize_phone(p["phone"]) == p["phone"]
    n = len(register)
    assert precision[10] / n > 0.95 and 0 < precision[4] / n < 0.05  # a few year-only DOBs


def test_some_people_were_born_in_another_province(register: dict[str, dict[str, Any]]) -> None:
    moved = sum(p["national_id"][:3] != "0" + _province(p["ward_code"]) for p in register.values())
    assert 0.03 < moved / len(register) < 0.3


def _province(ward: str) -> str:
    unit = ward_by_code(ward, scheme="2021")
    assert unit is not None
    return unit.province_code
