"""Realised rates against the profile.

Tolerance: errors are drawn once per entry context and copied to that context's doses, so
records are not independent; the standard error is taken over *contexts*
(sqrt(p(1-p)/contexts)), and a rate must lie within 5 standard errors of the profile's value
(for a correct generator a failure has probability below 1e-6; the seed is fixed, so the
result is deterministic). Rates drawn per dose use the number of doses instead.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import pyarrow.parquet as pq

from tests.synth.conftest import Dataset


def _within(observed: float, expected: float, n: int, k: float = 5.0) -> bool:
    se = math.sqrt(max(expected * (1 - expected), 1e-9) / n)
    return abs(observed - expected) <= k * se


def test_wrong_share_matches_the_profile(dataset: Dataset, truth: list[dict[str, Any]]) -> None:
    # the profile's ``wrong`` is the share of typings with an entry error of any kind; the
    # truth splits those into wrong fields and incomplete ones (a blank ID, a year-only date...)
    inreg = [t for t in truth if t["person_id"] is not None]
    erred = sum(
        t["wrong_fields"] is not None or t["incomplete_fields"] is not None for t in inreg
    ) / len(inreg)
    contexts = dataset.summary["counts"]["contexts"]
    assert _within(erred, dataset.profile["entry"]["wrong"], contexts), erred
    assert 0 < sum(t["incomplete_fields"] is not None for t in inreg) < len(inreg) * erred


def test_tallies_exceed_records_by_the_never_entered_share(
    dataset: Dataset, truth: list[dict[str, Any]]
) -> None:
    reported = sum(pq.read_table(dataset.out / "tallies.parquet")["reported"].to_pylist())
    entered = sum(t["duplicate_of"] is None for t in truth)
    never = 1 - entered / reported
    assert reported > entered
    assert _within(never, dataset.profile["entry"]["never_entered"], reported), never


def test_duplicate_share_matches_the_profile(dataset: Dataset, truth: list[dict[str, Any]]) -> None:
    entry = dataset.profile["entry"]
    originals = sum(t["duplicate_of"] is None for t in truth)
    dups = sum(t["duplicate_of"] is not None for t in truth) / originals
    expected = entry["duplicate_same_site"] + entry["duplicate_other_site"]
    assert _within(dups, expected, originals), dups


def test_people_outside_the_register_are_a_small_share(
    truth: list[dict[str, Any]], records: list[dict[str, Any]]
) -> None:
    outside = [r for r, t in zip(records, truth, strict=True) if t["person_id"] is None]
    share = len(outside) / len(truth)
    assert 0.003 < share < 0.02, share
    passports = [r for r in outside if r["national_id"] and r["national_id"][0].isalpha()]
    assert passports  # foreigners with passport numbers


def test_errors_repeat_across_a_persons_doses(
    truth: list[dict[str, Any]], records: list[dict[str, Any]]
) -> None:
    """Copy-paste: the same person at the same site is usually typed the same way."""
    typed: dict[tuple[str, str], Counter[tuple]] = {}
    for r, t in zip(records, truth, strict=True):
        if t["person_id"] and not t["duplicate_of"]:
            key = (t["person_id"], r["site_id"])
            typed.setdefault(key, Counter())[(r["national_id"], r["full_name"], r["dob"])] += 1
    multi = [c for c in typed.values() if sum(c.values()) > 1]
    same = sum(len(c) == 1 for c in multi) / len(multi)
    assert len(multi) > 5000
    assert 0.75 < same < 0.95, same  # copy_paste = 0.85 per later dose
