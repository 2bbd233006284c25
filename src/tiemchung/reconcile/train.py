"""Learning the model from the data itself, without labels.

* **u** (how often a level occurs between two different people) from random pairs of a typed
  identity and a register person; for exact agreement, computed exactly from value
  frequencies instead (random pairs almost never agree on an ID, so sampling would only say
  "rare").
* **m** (how often it occurs for the same person) by EM on blocked pairs, one session per
  blocking rule, each learning only the comparisons its rule does not block on, as Splink
  does; a comparison's m is the mean over the sessions that learnt it.
* Term frequencies of folded names come from the register at scoring time (see
  :meth:`.steps.Plan.weight_sql`), so a common name is weaker evidence than a rare one.

Samples are deterministic (hash buckets), so the same data gives the same model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .comparisons import Comparison
from .engines.base import Engine
from .model import FLOOR, ComparisonParams, Model, dirichlet, em, initial_m
from .steps import Plan

#: identities used for EM (a sample: more adds time, not accuracy)
TRAIN_IDENTITIES = 100_000
#: identities and random pairs used for u
U_IDENTITIES = 50_000
U_PAIRS = 300_000

# the columns whose exact-agreement u is computed from frequencies: comparison -> (identity
# column, register column)
_EXACT_U = {
    "national_id": ("id_key", "nid"),
    "full_name": ("name_fold", "name_fold"),
    "dob": ("dob_iso", "dob_iso"),
    "sex": ("sex", "sex"),
    "ward_code": ("ward", "ward"),
    "phone": ("phone", "phone"),
    "address": ("addr_toks", "addr_toks"),
}


def _share(n_ident: int, wanted: int) -> int:
    """Per-mille of the identities a sample of ``wanted`` takes (hash buckets of ``iid``)."""
    return max(1, min(1000, round(1000 * wanted / max(n_ident, 1))))


def _patterns(
    engine: Engine, plan: Plan, joined: str, comps: tuple[Comparison, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """The comparison patterns (and their counts) of the pairs that ``joined``, a FROM
    clause of identities ``i`` and persons ``g``, makes: compared in the join itself."""
    t = engine.fetch(plan.patterns_sql(plan.joined_gamma_sql(joined), comps))
    cols = [t.column(c.gamma).to_numpy(zero_copy_only=False) for c in comps]
    pats = np.stack(cols, axis=1).astype(np.int64) if cols else np.zeros((t.num_rows, 0), int)
    return pats, t.column("n").to_numpy(zero_copy_only=False).astype(float)


def estimate_u(
    engine: Engine, plan: Plan, n_ident: int, n_register: int
) -> tuple[list[np.ndarray], dict[str, Any]]:
    d = plan.dialect
    comps = plan.comparisons
    share = _share(n_ident, U_IDENTITIES)
    sample = min(n_ident, U_IDENTITIES)
    k = max(1, round(sample * n_register / U_PAIRS))
    pair_bucket = d.bucket("concat('u', CAST(iid AS STRING))", k)
    sampled = plan.identities_sql(f"{d.bucket('iid', 1000)} < {share}")
    engine.run("u_ids", plan.with_owner_sql(f"SELECT *, {pair_bucket} AS b FROM ({sampled}) i"))
    joined = f"u_ids i JOIN (SELECT *, {d.bucket('person_id', k)} AS b FROM reg) g ON g.b = i.b"
    pats, counts = _patterns(engine, plan, joined, comps)
    out = []
    info: dict[str, Any] = {"random_pairs": int(counts.sum())}
    exact_u = _exact_u(engine, [_EXACT_U[c.name] for c in comps if c.name in _EXACT_U])
    for c, comp in enumerate(comps):
        n_levels = len(comp.scored)
        g = pats[:, c]
        known = g >= 0
        hist = np.bincount(g[known], weights=counts[known], minlength=n_levels)[:n_levels]
        u = dirichlet(hist)  # a level never seen among random pairs: a fraction of a pair
        if comp.name in _EXACT_U:
            exact = exact_u[_EXACT_U[comp.name]]
            if exact is not None and n_levels > 1:
                exact = min(max(exact, FLOOR), 1 - FLOOR)
                rest = u[1:].sum()
                u = np.r_[exact, u[1:] * (1 - exact) / rest]
        out.append(u / u.sum())
    return out, info


def _exact_u(
    engine: Engine, columns: list[tuple[str, str]], ids: str = "u_ids"
) -> dict[tuple[str, str], float | None]:
    """P(a random identity and a random register person agree exactly), from frequencies,
    for each (identity column, register column): the pairs that agree, sum over values of
    count(identity) x count(person), over all pairs. Counted for the identities of the u
    sample (``ids``, a fixed share of all, by hash): over all 1.2M identities of a 1M-person
    run, with the register grouped by every value, it cost 0.8 CPU-s for the same estimate;
    the register is grouped only on the values the sample typed."""
    if not columns:
        return {}
    parts = []
    for k, (lcol, rcol) in enumerate(columns):
        parts.append(
            f"(SELECT sum(s.c * g.c) FROM (SELECT {lcol} AS v, count(*) AS c FROM {ids} "
            f"WHERE {lcol} IS NOT NULL GROUP BY {lcol}) s JOIN (SELECT {rcol} AS v, "
            f"count(*) AS c FROM reg WHERE {rcol} IN (SELECT {lcol} FROM {ids}) "
            f"GROUP BY {rcol}) g ON g.v = s.v) AS agree_{k}"
        )
    nl = ", ".join(f"count({lcol}) AS nl_{k}" for k, (lcol, _r) in enumerate(columns))
    nr = ", ".join(f"count({rcol}) AS nr_{k}" for k, (_l, rcol) in enumerate(columns))
    row = engine.fetch(
        f"SELECT {', '.join(parts)}, l.*, r.* FROM (SELECT {nl} FROM {ids}) l, "
        f"(SELECT {nr} FROM reg) r"
    ).to_pylist()[0]
    out: dict[tuple[str, str], float | None] = {}
    for k, pair in enumerate(columns):
        agree, n_l, n_r = row[f"agree_{k}"], row[f"nl_{k}"], row[f"nr_{k}"]
        out[pair] = float(agree) / (float(n_l) * float(n_r)) if agree and n_l and n_r else None
    return out


def train(engine: Engine, plan: Plan, n_register: int) -> Model:
    """Estimate u, then m by EM sessions; thresholds and the prior are set later."""
    d = plan.dialect
    comps = plan.comparisons
    n_ident = engine.count("ident")
    u, info = estimate_u(engine, plan, n_ident, n_register)
    share = _share(n_ident, TRAIN_IDENTITIES)
    engine.run(
        "train_ids",
        plan.with_owner_sql(plan.identities_sql(f"{d.bucket('iid', 1000)} < {share}")),
    )
    learnt: list[list[np.ndarray]] = [[] for _ in comps]
    sessions = {}
    for name, (cond, fixed) in plan.training_sessions(n_register).items():
        active = [c.name not in fixed for c in comps]
        pats, counts = _patterns(engine, plan, f"train_ids i JOIN reg g ON {cond}", comps)
        if counts.sum() == 0:
            continue
        m0 = [np.array(initial_m(c)) for c in comps]
        m, lam, iters = em(pats, counts, m0, u, active)
        for c, on in enumerate(active):
            if on:
                learnt[c].append(m[c])
        sessions[name] = {
            "pairs": int(counts.sum()),
            "patterns": len(counts),
            "lambda": round(lam, 5),
            "iterations": iters,
            "learnt": [c.name for c, on in zip(comps, active, strict=True) if on],
        }
    params = []
    for c, comp in enumerate(comps):
        mean_m = np.mean(learnt[c], axis=0) if learnt[c] else np.array(initial_m(comp))
        params.append(
            ComparisonParams(
                comp.name,
                [lv.label for lv in comp.scored],
                [float(x) for x in mean_m],
                [float(x) for x in u[c]],
                [lv.tf_column for lv in comp.scored],
            )
        )
    info.update({"identities": n_ident, "register": n_register, "sessions": sessions})
    return Model(params, training=info)
