"""Deterministic random draws shared by the generator: per-cell generators, a keyed
permutation for unique serial numbers, ranks, Zipf weights and weighted choices.

The population is cut into *cells* of :data:`CELL` consecutive person numbers. A cell's random
numbers come from ``(seed, cell index)`` alone and nothing in a cell depends on another cell,
so cells can be made in any order or in parallel and the output is the same. Numbers that must
be unique across the whole population (ID numbers, phones) are a keyed permutation of a slot
that is unique by construction: ``cell * slots_per_cell + rank inside the cell``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from . import tables as tb

CELL = 16_384
EPOCH = dt.date(1970, 1, 1)
REF_DATE = dt.date(2021, 7, 1)  # ages of the pyramid are ages on this day
U64 = np.uint64


def days(d: dt.date | str) -> int:
    """Days since 1970-01-01."""
    if isinstance(d, str):
        d = dt.date.fromisoformat(d)
    return (d - EPOCH).days


def rng_for(seed: int, *stream: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, *stream])))


# --- keyed permutation (unique, random-looking serial numbers) --------------------------------
def _mix(v: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on uint64 (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = v + U64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> U64(30))) * U64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> U64(27))) * U64(0x94D049BB133111EB)
        return z ^ (z >> U64(31))


def keys_for(seed: int, kind: int, prefixes: np.ndarray) -> np.ndarray:
    base = _mix(np.array([seed * 1_000_003 + kind], dtype=U64))[0]
    return _mix(prefixes.astype(U64) ^ base)


def permute(x: np.ndarray, keys: np.ndarray, domain: int) -> np.ndarray:
    """A bijection of ``[0, domain)`` per key: a 4-round Feistel network with cycle walking."""
    half = (int(domain - 1).bit_length() + 1) // 2
    mask = U64((1 << half) - 1)
    sh = U64(half)
    x = x.astype(U64)
    keys = np.broadcast_to(keys.astype(U64), x.shape).copy()
    out = x.copy()
    todo = np.arange(len(x))
    while len(todo):
        v, k = out[todo], keys[todo]
        left, right = v >> sh, v & mask
        for r in range(4):
            f = _mix(right ^ k ^ U64(r * 0x632BE59BD9B4E019 & 0xFFFFFFFFFFFFFFFF)) & mask
            left, right = right, left ^ f
        v = (left << sh) | right
        out[todo] = v
        todo = todo[v >= U64(domain)]
    return out.astype(np.int64)


def rank_within(groups: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... inside each group value, in array order."""
    n = len(groups)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(groups, kind="stable")
    sg = groups[order]
    first = np.r_[True, sg[1:] != sg[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - start
    return rank


def zipf(n: int, exponent: float = tb.ZIPF_EXPONENT) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** exponent
    return w / w.sum()


def choice(rng: np.random.Generator, p: np.ndarray, size: int) -> np.ndarray:
    """Indices drawn with probabilities ``p`` (inverse CDF: fast and stable across numpy)."""
    cdf = np.cumsum(p / p.sum())
    cdf[-1] = 1.0
    return np.searchsorted(cdf, rng.random(size), side="right")
