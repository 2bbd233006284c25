"""The harness's own rules: which targets apply where, when Splink is skipped, the blocking
figures read off ``summary.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from bench import reconcile_quality as rq


def _figures(link_f1: float, dup_f1: float, wrong_dob: int) -> dict[str, Any]:
    field = {"f1": 0.5, "tp": wrong_dob, "fn": 0}
    return {
        "link": {"f1": link_f1},
        "not_found": {"records": 0, "precision": 1.0},
        "automatic": {"precision": 1.0},
        "review_share": 0.03,
        "duplicates": {"f1": dup_f1},
        "mismatch_by_field": {
            "dob": field,
            "sex": {"f1": 1.0, "tp": 0, "fn": 0},
        },
    }


def test_targets_apply_per_data_set() -> None:
    gen2 = rq.verdicts("gen2", _figures(0.997, 0.5, 3))
    assert gen2["link_f1"] == {"value": 0.997, "target": ">= 0.998", "applies": True, "pass": False}
    assert gen2["duplicate_f1"]["pass"] is False
    assert gen2["review_share"]["pass"] is False  # 3% > 2%
    assert gen2["not_found_precision"]["value"] is None  # nothing not_found: no figure
    assert gen2["mismatch_f1.dob"]["pass"] is False
    assert gen2["mismatch_f1.sex"]["applies"] is False  # no wrong sex in the truth
    febrl4 = rq.verdicts("febrl4", _figures(0.997, 0.5, 0))
    assert febrl4["link_f1"]["target"] == ">= 0.995" and febrl4["link_f1"]["pass"] is True
    # FEBRL4 has no double entries: shown, never failed
    assert febrl4["duplicate_f1"] == {
        "value": 0.5,
        "target": ">= 0.98",
        "applies": False,
        "pass": None,
    }
    febrl3 = rq.verdicts("febrl3", _figures(0.997, 0.5, 0))
    assert febrl3["duplicate_f1"]["applies"] is True and febrl3["duplicate_f1"]["pass"] is False
    assert set(rq.APPLIES) == set(rq.SETS)
    assert all(set(v) == set(rq.TARGETS) for v in rq.APPLIES.values())


def test_splink_is_skipped_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "records.parquet").write_bytes(b"")
    assert rq._skip_splink("auto", 40_000, tmp_path) is None
    assert "1,000,000" in (rq._skip_splink("auto", 5_959_707, tmp_path) or "")
    assert rq._skip_splink("yes", 5_959_707, tmp_path) is None
    assert rq._skip_splink("no", 10, tmp_path) == "--splink no"
    assert "CSV" in (rq._skip_splink("auto", 10, tmp_path / "nothing") or "")


def test_blocking_figures_come_from_the_summary(tmp_path: Path) -> None:
    facts = {
        "identities": 400,
        "probabilistic_identities": 100,
        "candidate_pairs": 250,
        "blocking_rules": {"id": "x", "name_dob": "y"},
        "timings_s": {"load": 0.1},
    }
    (tmp_path / "summary.json").write_text(json.dumps({"pipeline": facts}), encoding="utf-8")
    b = rq._blocking(tmp_path, 1000)
    assert (
        b["candidate_pairs_per_record"],
        b["candidate_pairs_per_identity"],
        b["candidate_pairs_per_probabilistic_identity"],
    ) == (0.25, 0.625, 2.5)
    assert b["blocking_rules"] == ["id", "name_dob"]


@pytest.mark.parametrize(("people", "label"), [(20_000, "20k"), (3_000_000, "3m"), (1234, "1234")])
def test_result_names(people: int, label: str) -> None:
    assert rq._label(people) == label


def test_time_per_record_against_an_earlier_run(tmp_path: Path) -> None:
    # a 1M result written before cpu_us_per_record existed: 2,000,000 records, 40 s, 30 s CPU
    earlier = {
        "results": {
            "gen2": {
                "data": {"records": 2_000_000, "people": 1_000_000},
                "ours": {"run": {"us_per_record": 20.0, "cpu_s": 30.0}},
            }
        }
    }
    path = tmp_path / "one.json"
    path.write_text(json.dumps(earlier), encoding="utf-8")
    # 3M: 6,000,000 records in 150 s wall, 99 s CPU -> 25 and 16.5 us per record
    now = {"us_per_record": 25.0, "cpu_us_per_record": 16.5}
    vs = rq._per_record_vs(now, path)
    assert vs["wall_ratio"] == 1.25 and vs["cpu_ratio"] == 1.1  # 16.5 / 15
    assert vs["people_then"] == 1_000_000
