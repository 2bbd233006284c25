"""The Fellegi-Sunter model: m and u per comparison level, the prior, the thresholds; EM
without labels; ``model.json``.

EM runs on *pattern counts* (how many candidate pairs share each vector of gammas), which the
engine aggregates; a few thousand patterns stand for millions of pairs, so the iterations
themselves take milliseconds in numpy, whatever the engine.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .comparisons import Comparison
from .errors import ModelError

VERSION = 1
#: Smallest m or u kept, so that no level is ever infinitely strong.
FLOOR = 1e-9
#: Pseudo-counts (pairs) a level starts with before the data speak: a Dirichlet prior, so
#: that a level the sample never shows among matches (m) or among random pairs (u) keeps a
#: small probability instead of 0 -- a 0 would make that level infinite evidence, and a
#: level at 1 would make every other level impossible. Against millions of pairs it moves
#: nothing; on a small data set it keeps a rare level from deciding alone.
PRIOR_PAIRS = 1.0


@dataclass
class ComparisonParams:
    """m and u of each evidence-carrying level of one comparison, in gamma order."""

    name: str
    labels: list[str]
    m: list[float]
    u: list[float]
    tf: list[str | None]

    def weights(self) -> list[float]:
        """log2(m/u) per level: the match weight a pair gets at that level."""
        return [
            math.log2(max(m, FLOOR) / max(u, FLOOR)) for m, u in zip(self.m, self.u, strict=True)
        ]


@dataclass
class Model:
    """Everything a run learns; ``--model`` reuses it on other data as it is."""

    comparisons: list[ComparisonParams]
    #: prior probability that an identity left after the exact pass is in the register
    pi: float = 0.9
    #: ``auto``: least posterior for an automatic link; ``plausible``: least P(some candidate
    #: is the person) for review; below it a record is ``not_found``
    #: (:func:`choose_plausible_threshold`)
    thresholds: dict[str, float] = field(default_factory=lambda: {"auto": 0.999, "plausible": 0.5})
    training: dict[str, Any] = field(default_factory=dict)
    version: int = VERSION

    def params(self, name: str) -> ComparisonParams | None:
        return next((c for c in self.comparisons if c.name == name), None)

    def to_json(self) -> str:
        doc = asdict(self)
        for c in doc["comparisons"]:
            c["weights"] = [
                round(w, 4)
                for w in ComparisonParams(
                    **{k: c[k] for k in ("name", "labels", "m", "u", "tf")}
                ).weights()
            ]
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "model.json") -> Model:
        try:
            doc = json.loads(text)
            if doc.get("version") != VERSION:
                raise ModelError(
                    f"{source}: model version {doc.get('version')!r}; expected {VERSION}"
                )
            comps = [
                ComparisonParams(
                    c["name"],
                    list(c["labels"]),
                    [float(x) for x in c["m"]],
                    [float(x) for x in c["u"]],
                    list(c["tf"]),
                )
                for c in doc["comparisons"]
            ]
            return cls(
                comps,
                float(doc["pi"]),
                {k: float(v) for k, v in doc["thresholds"].items()},
                dict(doc.get("training", {})),
                VERSION,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{source}: not a reconcile model ({exc})") from exc

    @classmethod
    def load(cls, path: Path) -> Model:
        try:
            return cls.from_json(Path(path).read_text(encoding="utf-8"), str(path))
        except OSError as exc:
            raise ModelError(f"{path}: cannot read the model ({exc})") from exc

    def check(self, comparisons: Sequence[Comparison], source: str) -> None:
        """The model must know every comparison the inputs allow, with the same levels."""
        for comp in comparisons:
            p = self.params(comp.name)
            labels = [lv.label for lv in comp.scored]
            if p is None or p.labels != labels:
                raise ModelError(
                    f"{source}: the model has no parameters for comparison '{comp.name}' with "
                    f"levels {labels}; train a model on inputs with that column"
                )


def initial_m(comp: Comparison) -> list[float]:
    """A starting point for EM: most matches agree exactly, a few fall in each other level."""
    k = len(comp.scored)
    rest = 0.1 / max(k - 2, 1)
    out = [0.85] + [rest] * (k - 2) + [0.05]
    return out[:k] if k > 1 else [1.0]


def em(
    patterns: np.ndarray,
    counts: np.ndarray,
    m: list[np.ndarray],
    u: list[np.ndarray],
    active: Sequence[bool],
    *,
    lam: float = 0.5,
    iterations: int = 60,
    tol: float = 1e-7,
) -> tuple[list[np.ndarray], float, int]:
    """Estimate m (for the ``active`` comparisons) and the share of matches among the pairs.

    ``patterns``: one row per distinct gamma vector (``-1`` = null), ``counts`` its number of
    pairs; u stays fixed (it comes from random pairs, where EM would be biased). Returns the
    new m, lambda and the iterations run.
    """
    m = [x.astype(float).copy() for x in m]
    counts = counts.astype(float)
    total = counts.sum()
    it = 0
    while it < iterations:
        it += 1
        log_m = np.zeros(len(patterns))
        log_u = np.zeros(len(patterns))
        for c, on in enumerate(active):
            if not on:
                continue
            g = patterns[:, c]
            known = g >= 0
            gi = np.where(known, g, 0)
            log_m += np.where(known, np.log(np.maximum(m[c][gi], FLOOR)), 0.0)
            log_u += np.where(known, np.log(np.maximum(u[c][gi], FLOOR)), 0.0)
        a = math.log(lam) + log_m
        b = math.log(1 - lam) + log_u
        top = np.maximum(a, b)
        w = np.exp(a - top) / (np.exp(a - top) + np.exp(b - top))
        nw = counts * w
        new_lam = float(nw.sum() / total)
        delta = abs(new_lam - lam)
        for c, on in enumerate(active):
            if not on:
                continue
            g = patterns[:, c]
            known = g >= 0
            denom = nw[known].sum()
            if denom <= 0:
                continue
            counts_c = np.bincount(g[known], weights=nw[known], minlength=len(m[c]))
            new = dirichlet(counts_c[: len(m[c])])
            delta = max(delta, float(np.abs(new - m[c]).max()))
            m[c] = new
        lam = min(max(new_lam, 1e-6), 1 - 1e-6)
        if delta < tol:
            break
    return m, lam, it


def dirichlet(counts: np.ndarray, prior: float = PRIOR_PAIRS) -> np.ndarray:
    """Posterior mean of a level distribution from (weighted) pair counts, each level given
    ``prior / len`` pseudo-pairs: strictly between 0 and 1 for every level."""
    k = len(counts)
    out = (counts + prior / k) / (counts.sum() + prior)
    return np.clip(out, FLOOR, 1 - FLOOR)


def choose_auto_threshold(
    p: np.ndarray, n: np.ndarray, *, target: float = 0.9995, floor: float = 0.999
) -> float:
    """The lowest posterior above which the expected precision of automatic links, judged by
    the model's own probabilities (sum of 1 - p over the records it would link), stays at or
    above ``target``. Label-free: it needs no truth, only a calibrated model."""
    if len(p) == 0:
        return floor
    order = np.argsort(-p)
    ps, ns = p[order], n[order].astype(float)
    err = np.cumsum(ns * (1 - ps))
    tot = np.cumsum(ns)
    ok = err <= (1 - target) * tot
    if not ok.any():
        return 1.0
    # the last position from the top where precision still holds
    last = int(np.flatnonzero(ok)[-1])
    return float(max(floor, ps[last]))


def choose_plausible_threshold(
    p_any: np.ndarray,
    n: np.ndarray,
    n_without: float = 0.0,
    *,
    target: float = 0.99,
    ceiling: float = 0.5,
) -> float:
    """The least P(some candidate is the person) for a record to go to review rather than
    ``not_found``: the highest value (at most ``ceiling``) at which the records below it
    are, by the model's own probabilities, nobody in the register at least ``target`` of
    the time. ``p_any`` per identity (two look-alikes at 0.45 each make 0.9); ``n``: its
    records; ``n_without``: records with no candidate at all (certainly nobody).
    Label-free and per run: where the model is unsure the threshold drops and more
    records go to a person."""
    order = np.argsort(p_any)
    pa, ns = p_any[order], n[order].astype(float)
    wrong = np.cumsum(ns * pa)  # expected records of somebody, among those below
    total = n_without + np.cumsum(ns)
    ok = (wrong <= (1 - target) * total) & (pa < ceiling)
    if not ok.any():
        return float(min(ceiling, pa[0])) if len(pa) else ceiling
    # the highest cut that keeps the records below it 'nobody' often enough
    last = int(np.flatnonzero(ok)[-1])
    return float(min(ceiling, pa[last + 1] if last + 1 < len(pa) else ceiling))


def estimate_pi(lz: np.ndarray, log2_n: float, pi: float = 0.9, iterations: int = 50) -> float:
    """Fixed point for the share of identities that are in the register: the mean posterior
    that some candidate is the person, given ``lz`` = log2 of the summed Bayes factors of each
    identity's candidates."""
    if len(lz) == 0:
        return pi
    for _ in range(iterations):
        prior = np.exp2(lz + math.log2(pi) - log2_n)
        p_any = prior / ((1 - pi) + prior)
        new = float(np.clip(p_any.mean(), 0.01, 0.999))
        if abs(new - pi) < 1e-6:
            return new
        pi = new
    return pi
