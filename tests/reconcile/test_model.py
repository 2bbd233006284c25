"""EM, the label-free threshold, model.json, and reusing a model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from tiemchung.reconcile import ModelError, Options, reconcile
from tiemchung.reconcile.model import Model, choose_auto_threshold, em, estimate_pi

from .conftest import Case


def test_em_recovers_m_and_lambda_from_unlabelled_pairs() -> None:
    rng = np.random.default_rng(3)
    # three comparisons with 3, 2, 4 levels; known m, u and share of matches
    m_true = [np.array([0.8, 0.15, 0.05]), np.array([0.9, 0.1]), np.array([0.7, 0.2, 0.05, 0.05])]
    u_true = [
        np.array([0.01, 0.09, 0.9]),
        np.array([0.3, 0.7]),
        np.array([0.001, 0.01, 0.1, 0.889]),
    ]
    lam_true, n = 0.3, 200_000
    match = rng.random(n) < lam_true
    cols = []
    for m, u in zip(m_true, u_true, strict=True):
        g = np.where(match, rng.choice(len(m), n, p=m), rng.choice(len(u), n, p=u))
        g[rng.random(n) < 0.05] = -1  # some nulls
        cols.append(g)
    pats, counts = np.unique(np.stack(cols, axis=1), axis=0, return_counts=True)
    m0 = [np.r_[0.6, np.full(len(m) - 1, 0.4 / (len(m) - 1))] for m in m_true]
    m, lam, _ = em(pats, counts, m0, u_true, [True, True, True])
    assert lam == pytest.approx(lam_true, abs=0.01)
    for est, true in zip(m, m_true, strict=True):
        assert np.abs(est - true).max() < 0.02


def test_em_leaves_inactive_comparisons_alone() -> None:
    pats = np.array([[0, 0], [1, 1], [0, 1]])
    counts = np.array([100.0, 100.0, 10.0])
    m0 = [np.array([0.5, 0.5]), np.array([0.9, 0.1])]
    m, _, _ = em(pats, counts, m0, [np.array([0.1, 0.9]), np.array([0.1, 0.9])], [True, False])
    assert list(m[1]) == [0.9, 0.1]


def test_threshold_keeps_expected_precision() -> None:
    p = np.array([0.99999] * 1000 + [0.995] * 100 + [0.6] * 10)
    n = np.ones_like(p)
    t = choose_auto_threshold(p, n, target=0.9995, floor=0.9)
    # with the 100 records at 0.995 the expected precision would be ~0.99954 (kept); adding
    # the 10 at 0.6 would bring it to ~0.99591 (not kept)
    assert t == pytest.approx(0.995)
    assert choose_auto_threshold(p, n, target=0.99999, floor=0.9) == pytest.approx(0.99999)
    assert choose_auto_threshold(p, n, target=0.9, floor=0.999) == 0.999


def test_pi_fixed_point() -> None:
    # half the identities with overwhelming evidence, half with none
    lz = np.r_[np.full(500, 60.0), np.full(500, -60.0)]
    assert estimate_pi(lz, log2_n=20.0) == pytest.approx(0.5, abs=0.01)


def test_model_json_round_trip(case: Case) -> None:
    text = (case.out / "model.json").read_text(encoding="utf-8")
    model = Model.from_json(text)
    assert Model.from_json(model.to_json()).to_json() == model.to_json()
    doc = json.loads(text)
    names = [c["name"] for c in doc["comparisons"]]
    assert names == ["national_id", "full_name", "dob", "sex", "ward_code", "phone", "address"]
    ident = doc["comparisons"][0]
    w = dict(zip(ident["labels"], ident["weights"], strict=True))
    # learnt from the data: an exact ID is strong evidence, a different ID is against
    assert w["exact"] > 8 > 0 > w["different"]
    assert doc["thresholds"]["auto"] >= 0.999  # never below the floor


def test_given_model_reproduces_links(case: Case, tmp_path: Path) -> None:
    out = tmp_path / "again"
    summary = reconcile(
        Options(case.records_file, case.register_file, out, model=case.out / "model.json")
    )
    assert summary["model"]["given"] is True
    a = pq.read_table(case.out / "links.parquet").sort_by("record_id").to_pylist()
    b = pq.read_table(out / "links.parquet").sort_by("record_id").to_pylist()
    assert a == b


def test_model_for_other_columns_is_refused(case: Case, tmp_path: Path) -> None:
    doc = json.loads((case.out / "model.json").read_text(encoding="utf-8"))
    doc["comparisons"] = [c for c in doc["comparisons"] if c["name"] != "phone"]
    bad = tmp_path / "model.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ModelError, match="phone"):
        reconcile(Options(case.records_file, case.register_file, tmp_path / "o", model=bad))
    assert not (tmp_path / "o" / ".work").exists()  # refused before any work


def test_no_blocking_rule_grows_with_the_population(case: Case) -> None:
    from tiemchung.reconcile.dialects import DUCKDB
    from tiemchung.reconcile.inputs import inspect_input
    from tiemchung.reconcile.steps import Plan

    plan = Plan(
        inspect_input(case.records_file, "records"),
        inspect_input(case.register_file, "register"),
        DUCKDB,
    )
    rules = plan.blocking_rules(100_000_000)
    assert {"id", "old_id", "name_dob", "dob_place", "name_place", "phone_year"} <= set(rules)
    # a birth year, a name, a surname or a given name alone is a block proportional to the
    # population: every rule that uses one also needs a ward, a district, a full birth date,
    # a phone, an address or a part of an ID -- or applies only to records with no place
    narrowing = (
        "g.ward =",
        "g.district =",
        "g.dob_iso =",
        "g.phone =",
        "g.addr_toks =",
        "left(g.nid",
        "right(g.nid",
        "g.nid =",
        "g.old_id =",
        "i.pdistrict IS NULL",
    )
    from tiemchung.reconcile.blocking import LAST_RULES

    for name, cond in rules.items():
        if name in LAST_RULES:
            continue
        assert any(n in cond for n in narrowing), (name, cond)
    # the last tier's blocks do grow (an address's numbers are a house in every commune):
    # it runs only for the identities nobody plausible was found for, and each of its rules
    # still pairs two keys, one of them an address's numbers, a part of an ID or a birth date
    assert set(LAST_RULES) <= set(rules)
    for name in LAST_RULES:
        cond = rules[name]
        assert any(n in cond for n in ("g.addr_num =", "left(g.nid", "g.dob_iso =")), cond
        assert any(n in cond for n in ("g.surname =", "g.given =", "g.addr_num =")), cond
    assert set(plan.training_sessions()) == {"id", "name_dob", "dob_place"}
