"""Vaccination and population look like Vietnam's 2021–22: products, waves, intervals,
age structure, households, names."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from itertools import pairwise
from typing import Any

from tests.synth.conftest import Dataset
from tiemchung.identity import parse_dob
from tiemchung.vaccines import BY_CODE


def _given(
    records: list[dict[str, Any]], truth: list[dict[str, Any]]
) -> dict[str, list[tuple[int, dt.date, str]]]:
    doses: dict[str, list[tuple[int, dt.date, str]]] = defaultdict(list)
    for r, t in zip(records, truth, strict=True):
        if t["person_id"] and not t["duplicate_of"]:
            doses[t["person_id"]].append(
                (int(r["dose_number"]), parse_dob(r["dose_date"]).to_date(), r["vaccine"])
            )
    return doses


def test_doses_follow_products_waves_and_intervals(
    records: list[dict[str, Any]], truth: list[dict[str, Any]]
) -> None:
    start, end = dt.date(2021, 3, 8), dt.date(2022, 6, 30)
    first_before_june = Counter()
    for person, doses in _given(records, truth).items():
        doses.sort()
        numbers = [n for n, _, _ in doses]
        assert len(set(numbers)) == len(numbers), person
        for n, when, product in doses:
            assert product in BY_CODE and start <= when <= end
            if n == 1 and when < dt.date(2021, 6, 1):
                first_before_june[product] += 1
        for (n1, d1, p1), (n2, d2, _p2) in pairwise(doses):
            if n2 == n1 + 1:
                assert (d2 - d1).days >= BY_CODE[p1].min_interval_days, (person, doses)
    assert set(first_before_june) == {"AZ"}  # only AstraZeneca (COVAX) before June 2021
    products = Counter(r["vaccine"] for r in records)
    assert {"AZ", "PFIZER", "MODERNA", "VEROCELL", "ABDALA"} <= set(products)
    assert products["AZ"] + products["PFIZER"] + products["VEROCELL"] > 0.75 * len(records)
    numbers = Counter(r["dose_number"] for r in records)
    assert numbers["3"] > 0.2 * len(records)  # boosters from late 2021
    assert numbers["4"] > 0  # second boosters from May 2022 (and Abdala's booster)


def test_records_per_person_and_coverage(dataset: Dataset) -> None:
    c = dataset.summary["counts"]
    assert 1.8 < c["records"] / c["residents"] < 2.4  # 212.6M doses for ~98.5M people


def test_age_pyramid_and_households(register: dict[str, dict[str, Any]]) -> None:
    ages = Counter()
    for p in register.values():
        ages[2021 - int(p["dob"][:4])] += 1
    n = len(register)
    under15 = sum(v for a, v in ages.items() if a < 15) / n
    over65 = sum(v for a, v in ages.items() if a >= 65) / n
    assert 0.20 < under15 < 0.27  # GSO 2021: ~24%
    assert 0.06 < over65 < 0.12  # GSO 2021: ~8%
    women = sum(p["sex"] == "F" for p in register.values()) / n
    assert 0.48 < women < 0.53
    # Children share the household's surname and address; wives keep their own surname.
    homes = defaultdict(list)
    for p in register.values():
        if p["address"].startswith(("Số", "1", "2", "3", "4", "5", "6", "7", "8", "9")):
            homes[p["address"]].append(p)
    sizes = Counter(len(v) for v in homes.values())
    mean = sum(k * v for k, v in sizes.items()) / sum(sizes.values())
    assert 2.8 < mean < 4.5  # 2019 census: 3.5 persons per household


def test_names_collide_as_in_life(register: dict[str, dict[str, Any]]) -> None:
    n = len(register)
    surnames = Counter(p["full_name"].split()[0] for p in register.values())
    assert 0.35 < surnames["Nguyễn"] / n < 0.41
    assert 0.09 < surnames["Trần"] / n < 0.13
    assert surnames["Huỳnh"] and surnames["Hoàng"] and surnames["Võ"] and surnames["Vũ"]
    names = Counter(p["full_name"] for p in register.values())
    shared = sum(v for v in names.values() if v > 1) / n
    assert 0.3 < shared < 0.8
    older_women = [p for p in register.values() if p["sex"] == "F" and p["dob"] < "1960"]
    young_women = [p for p in register.values() if p["sex"] == "F" and p["dob"] >= "2000"]
    thi = lambda ps: sum(p["full_name"].split()[1:2] == ["Thị"] for p in ps) / len(ps)  # noqa: E731
    four = lambda ps: sum(len(p["full_name"].split()) == 4 for p in ps) / len(ps)  # noqa: E731
    assert thi(older_women) > 0.7 > 0.4 > thi(young_women)
    assert four(young_women) > 2 * four(older_women)
