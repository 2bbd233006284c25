"""Who was vaccinated when, with what, and where: the doses *given* (before any data entry)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from tiemchung.vaccines import VACCINES

from .draws import choice, days
from .population import People
from .world import World

PRODUCTS = [v.code for v in VACCINES]
PRODUCT_INDEX = {c: i for i, c in enumerate(PRODUCTS)}
PRIMARY = np.array([v.primary_doses for v in VACCINES])
MAX_DOSES = int(PRIMARY.max()) + 2


@dataclass
class Doses:
    """Doses given, one entry per dose."""

    person: np.ndarray  # index into People
    number: np.ndarray  # dose number 1..
    date: np.ndarray  # days since 1970
    product: np.ndarray  # index into PRODUCTS
    site: np.ndarray  # index into World.sites

    @property
    def n(self) -> int:
        return len(self.person)


def _month_days(month: str) -> tuple[int, int]:
    y, m = (int(x) for x in month.split("-"))
    start = dt.date(y, m, 1)
    end = dt.date(y + (m == 12), m % 12 + 1, 1)
    return days(start), days(end)


def _draw_months(rng: np.random.Generator, weights: dict[str, float], n: int) -> np.ndarray:
    months = sorted(weights)
    w = np.array([float(weights[m]) for m in months])
    k = choice(rng, w, n)
    bounds = np.array([_month_days(m) for m in months])
    lo, hi = bounds[k, 0], bounds[k, 1]
    return lo + np.floor(rng.random(n) * (hi - lo)).astype(np.int64)


def _mix(rng: np.random.Generator, mix: dict[str, float], n: int) -> np.ndarray:
    codes = list(mix)
    k = choice(rng, np.array([float(mix[c]) for c in codes]), n)
    return np.array([PRODUCT_INDEX[c] for c in codes])[k]


def _interval(rng: np.random.Generator, intervals: dict, product: np.ndarray) -> np.ndarray:
    lo = np.array([intervals[c][0] for c in PRODUCTS])[product]
    hi = np.array([intervals[c][1] for c in PRODUCTS])[product]
    return lo + np.floor(rng.random(len(product)) * (hi - lo + 1)).astype(np.int64)


def vaccinate(world: World, people: People, rng: np.random.Generator) -> Doses:
    v = world.profile["vaccination"]
    n = people.n
    start, end = days(v["start_date"]), days(v["end_date"])
    date = np.full((n, MAX_DOSES), -1, dtype=np.int64)
    prod = np.full((n, MAX_DOSES), -1, dtype=np.int64)
    age_mid21 = people.age_on(days("2021-07-01"))
    age_teen = people.age_on(days("2021-11-01"))
    age_child = people.age_on(days("2022-05-01"))
    adult = age_mid21 >= 18
    teen = ~adult & (age_teen >= 12)
    child = ~adult & ~teen & (age_child >= 5)
    u = rng.random(n)
    # --- first doses --------------------------------------------------------------------------
    mixes = v["primary_mix"]
    months = sorted(k for k in mixes if k[:2] == "20")
    d1 = np.full(n, -1, dtype=np.int64)
    p1 = np.full(n, -1, dtype=np.int64)
    for group, share, when, mixname in (
        (adult, v["first_dose_adult"], v["first_dose_months"], None),
        (teen, v["first_dose_teen"], v["teen_first_dose_months"], "teen"),
        (child, v["first_dose_child"], v["child_first_dose_months"], "child"),
    ):
        sel = np.flatnonzero(group & (u < share))
        dates = _draw_months(rng, when, len(sel))
        if mixname is not None:
            products = _mix(rng, mixes[mixname], len(sel))
        else:
            month_key = np.array([m for m in months])
            stamp = np.array([_month_days(m)[0] for m in months])
            which = np.clip(np.searchsorted(stamp, dates, side="right") - 1, 0, len(months) - 1)
            products = np.full(len(sel), -1, dtype=np.int64)
            for k in np.unique(which).tolist():
                m = which == k
                products[m] = _mix(rng, mixes[str(month_key[k])], int(m.sum()))
        if mixname == "child":
            dates = np.maximum(dates, days("2022-04-14"))
        d1[sel], p1[sel] = np.maximum(dates, start), products
    late = d1 > end
    d1[late], p1[late] = -1, -1
    date[:, 0], prod[:, 0] = d1, p1
    # --- the rest of the primary series ---------------------------------------------------------
    got1 = d1 >= 0
    complete = got1 & (rng.random(n) < v["complete_primary"])
    need = np.where(got1, PRIMARY[np.maximum(p1, 0)], 0)
    last = d1.copy()
    az, pfizer = PRODUCT_INDEX["AZ"], PRODUCT_INDEX["PFIZER"]
    for k in range(1, int(PRIMARY.max())):
        sel = complete & (need > k)
        gap = _interval(rng, v["intervals"], np.maximum(prod[:, k - 1], 0))
        dk = last + gap
        pk = prod[:, 0].copy()
        switch = (pk == az) & (dk >= days("2021-08-01")) & (rng.random(n) < v["az_then_pfizer"])
        pk = np.where(switch & (k == 1), pfizer, pk)
        ok = sel & (dk <= end)
        date[ok, k], prod[ok, k] = dk[ok], pk[ok]
        last = np.where(ok, dk, last)
        complete &= ok | ~sel
    primary_done = complete & got1
    # --- boosters ----------------------------------------------------------------------------
    b_from, sb_from = (
        days(v["wave_dates"]["booster_from"]),
        days(v["wave_dates"]["second_booster_from"]),
    )
    ba = v["intervals"]["booster_after_primary"]
    slot = need  # the booster is dose number primary_doses + 1
    bdate = np.maximum(b_from, last + rng.integers(ba[0], ba[1] + 1, n)) + np.floor(
        rng.exponential(20.0, n)
    ).astype(np.int64)
    boosted = primary_done & adult & (rng.random(n) < v["booster"]) & (bdate <= end)
    bprod = _mix(rng, mixes["booster"], n)
    rows = np.flatnonzero(boosted)
    date[rows, slot[rows]] = bdate[rows]
    prod[rows, slot[rows]] = bprod[rows]
    sa = v["intervals"]["second_booster_after"]
    sbdate = np.maximum(sb_from, bdate + rng.integers(sa[0], sa[1] + 1, n)) + np.floor(
        rng.exponential(20.0, n)
    ).astype(np.int64)
    second = boosted & (age_mid21 >= 50) & (rng.random(n) < v["second_booster"]) & (sbdate <= end)
    sbprod = _mix(rng, mixes["second_booster"], n)
    rows = np.flatnonzero(second)
    date[rows, slot[rows] + 1] = sbdate[rows]
    prod[rows, slot[rows] + 1] = sbprod[rows]
    # --- sites -------------------------------------------------------------------------------
    site = np.full((n, MAX_DOSES), -1, dtype=np.int64)
    weights = np.array(
        [
            v["site_ward_station"],
            v["site_district_centre"],
            v["site_province_hospital"],
            v["site_other_ward"],
        ]
    )
    w = people.ward
    for k in range(MAX_DOSES):
        kind = choice(rng, weights, n)
        pick = rng.integers(0, 1 << 30, n)
        cnt = world.other_count[w]
        other = np.where(cnt > 0, world.others[w, pick % np.maximum(cnt, 1)], world.centre[w])
        fresh = np.select(
            [kind == 0, kind == 1, kind == 2],
            [world.station[w], world.centre[w], world.hospital[w]],
            other,
        )
        if k == 0:
            site[:, 0] = fresh
        else:
            keep = rng.random(n) < v["same_site_next_dose"]
            site[:, k] = np.where(keep, site[:, k - 1], fresh)
    given = date >= 0
    person, number = np.nonzero(given)
    return Doses(
        person.astype(np.int64),
        (number + 1).astype(np.int64),
        date[given],
        prod[given],
        site[given],
    )
