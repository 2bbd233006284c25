"""Residents of one cell: households, names, dates of birth, ID numbers, phones, addresses.

How cells keep the output the same in any order is told in :mod:`.draws`; the wards and sites
the residents live beside are in :mod:`.world`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from . import tables as tb
from .draws import CELL, REF_DATE, choice, days, keys_for, permute, rank_within, rng_for, zipf
from .profile import Profile
from .world import World


# --- one cell of residents --------------------------------------------------------------------
@dataclass
class People:
    """Residents of one cell (plus the cell's foreigners at the end), as parallel arrays."""

    gid: np.ndarray  # global person number
    sex: np.ndarray  # 0 male, 1 female
    dob: np.ndarray  # days since 1970 (the true date)
    year: np.ndarray
    month: np.ndarray
    day: np.ndarray
    precision: np.ndarray  # register DOB precision: 0 day, 1 month, 2 year
    household: np.ndarray
    ward: np.ndarray  # index into World.wards
    absent: np.ndarray  # not in the register snapshot
    foreign: np.ndarray
    surname: list[str]
    middle: list[str]  # "" or one or two words
    given: list[str]
    national_id: list[str]  # 12 digits (a passport number for foreigners)
    old_id: list[str | None]
    phone: list[str | None]
    address: list[str]
    relative: np.ndarray  # a household member whose ID a site might type instead (-1: none)

    @property
    def n(self) -> int:
        return len(self.gid)

    @cached_property
    def full_name(self) -> list[str]:
        return [
            f"{s} {m} {g}" if m else f"{s} {g}" if s else g
            for s, m, g in zip(self.surname, self.middle, self.given, strict=True)
        ]

    @cached_property
    def dob_iso(self) -> list[str]:
        out = []
        for y, m, d, p in zip(
            self.year.tolist(),
            self.month.tolist(),
            self.day.tolist(),
            self.precision.tolist(),
            strict=True,
        ):
            out.append(
                f"{y:04d}-{m:02d}-{d:02d}"
                if p == 0
                else f"{y:04d}-{m:02d}"
                if p == 1
                else f"{y:04d}"
            )
        return out

    def age_on(self, day: int) -> np.ndarray:
        return (day - self.dob) / 365.2425


def _ages(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    groups = tb.AGE_GROUPS
    w = np.array([g[2] for g in groups] + [g[3] for g in groups], dtype=float)
    k = choice(rng, w, n)
    sex = (k >= len(groups)).astype(np.int8)
    g = k % len(groups)
    lo = np.array([x[0] for x in groups], dtype=float)[g]
    hi = np.array([x[1] for x in groups], dtype=float)[g]
    u = rng.random(n)
    u = np.where(hi - lo > 5, u**1.8, u)  # 80+: thinning with age
    return lo + (hi - lo) * u, sex


def _households(
    rng: np.random.Generator, age: np.ndarray, sex: np.ndarray, pop: Profile
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Household number, role (0 head, 1 spouse, 2 child, 3 elder parent, 4 young adult
    living with parents) and the household's head for each person.

    Ages are drawn first (exact pyramid); people are then grouped: couples are paired by age
    rank, children join the couple whose wife's age is closest to the child's age plus a
    mother's age at birth, elders join a child's household or live alone/in pairs.
    """
    n = len(age)
    idx = np.arange(n)
    hh = np.full(n, -1, dtype=np.int64)
    role = np.zeros(n, dtype=np.int8)
    married_f = (
        (sex == 1)
        & (age >= 20)
        & (age < 65)
        & (rng.random(n) < pop["married_female"] / (1 + np.exp(-(age - 24) / 2.0)))
    )
    married_m = (
        (sex == 0)
        & (age >= 22)
        & (age < 68)
        & (rng.random(n) < pop["married_male"] / (1 + np.exp(-(age - 27) / 2.0)))
    )
    wives = idx[married_f][np.argsort(age[married_f], kind="stable")]
    husbands = idx[married_m][np.argsort(age[married_m], kind="stable")]
    k = min(len(wives), len(husbands))
    if len(wives) > k:
        wives = np.sort(rng.choice(wives, k, replace=False)) if k else wives[:0]
        wives = wives[np.argsort(age[wives], kind="stable")]
    if len(husbands) > k:
        husbands = np.sort(rng.choice(husbands, k, replace=False)) if k else husbands[:0]
        husbands = husbands[np.argsort(age[husbands], kind="stable")]
    hh[husbands] = np.arange(k)
    hh[wives] = np.arange(k)
    role[wives] = 1
    wife_age = age[wives]
    next_hh = k

    def join_couple(
        people: np.ndarray,
        target_age: np.ndarray,
        as_role: int,
        most: int,
        weight: np.ndarray | None = None,
    ) -> None:
        """Attach people to couples: each couple gets a binomial number of places (at most
        ``most``), the places are lined up by the wife's age and the people, sorted by the
        wife's age they call for, take them in order. This keeps the age link (children of
        young mothers are young) without the clumping of a nearest-age match."""
        if k == 0 or len(people) == 0:
            return
        w = np.ones(k) if weight is None else weight
        mean = len(people) / k * w / w.mean()
        cap = rng.binomial(most, np.clip(mean / most, 0.0, 1.0))
        slots = np.repeat(np.arange(k), cap)
        if len(slots) == 0:
            slots = np.arange(k)
        order = np.argsort(target_age, kind="stable")
        pos = (np.arange(len(people)) * len(slots)) // len(people)
        hh[people[order]] = slots[pos]
        role[people[order]] = as_role

    free = hh < 0
    children = idx[free & (age < 18)]
    # Couples whose children have grown up and left (empty nests) get fewer places.
    nest = np.where(
        wife_age < 22, 0.5, np.where(wife_age < 46, 1.0, np.where(wife_age < 55, 0.5, 0.12))
    )
    join_couple(children, age[children] + rng.uniform(19, 38, len(children)), 2, 4, nest)
    young = idx[free & (age >= 18) & (age < 30)]
    young = young[rng.random(len(young)) < pop["young_adults_with_parents"]]
    join_couple(young, age[young] + rng.uniform(20, 35, len(young)), 4, 2)
    single = idx[(hh < 0) & (age >= 18) & (age < 60)]
    single = single[rng.random(len(single)) < pop["singles_with_family"]]
    join_couple(single, age[single] + rng.uniform(-8, 8, len(single)), 4, 1)
    elders = idx[(hh < 0) & (age >= 60)]
    with_kids = elders[rng.random(len(elders)) < pop["elders_with_children"]]
    join_couple(with_kids, age[with_kids] - rng.uniform(24, 36, len(with_kids)), 3, 2)
    # Elders still alone: pair a share of men and women of similar age.
    lone = idx[(hh < 0) & (age >= 60)]
    lone_m = lone[sex[lone] == 0]
    lone_f = lone[sex[lone] == 1]
    pairs = min(len(lone_m), len(lone_f)) * 8 // 10
    if pairs:
        lone_m = lone_m[np.argsort(age[lone_m], kind="stable")][-pairs:]
        lone_f = lone_f[np.argsort(age[lone_f], kind="stable")][-pairs:]
        hh[lone_m] = next_hh + np.arange(pairs)
        hh[lone_f] = next_hh + np.arange(pairs)
        role[lone_f] = 1
        next_hh += pairs
    # Everyone else heads a household of their own (children only when no couple exists).
    alone = idx[hh < 0]
    hh[alone] = next_hh + np.arange(len(alone))
    role[alone] = 0
    # Head: the husband, else the wife, else the oldest member.
    rank = np.where(role == 0, 0, np.where(role == 1, 1, 2)) * 200 - age
    order = np.lexsort((rank, hh))
    first = np.r_[True, hh[order][1:] != hh[order][:-1]]
    head_of_hh = np.empty(hh.max() + 1, dtype=np.int64)
    head_of_hh[hh[order][first]] = order[first]
    return hh, role, head_of_hh[hh]


def make_people(world: World, cell: int) -> People:
    """The residents numbered ``cell * CELL`` up to the next cell (and a few foreigners)."""
    prof = world.profile
    pop = prof["population"]
    rng = rng_for(world.seed, cell)
    lo = cell * CELL
    n = min(world.people, lo + CELL) - lo
    age, sex = _ages(rng, n)
    hh, role, head = _households(rng, age, sex, pop)
    # Lay households out in a random order, members by role then age, so that a household is
    # a run of consecutive person numbers and lands in one ward.
    hh_rank = rng.permutation(hh.max() + 1)
    order = np.lexsort((-age, role, hh_rank[hh]))
    inv = np.empty(n, dtype=np.int64)
    inv[order] = np.arange(n)
    age, sex, role = age[order], sex[order], role[order]
    hh = hh_rank[hh[order]]
    head = inv[head[order]]
    gid = lo + np.arange(n, dtype=np.int64)
    first_of_hh = np.r_[True, hh[1:] != hh[:-1]]
    hh_start = np.maximum.accumulate(np.where(first_of_hh, np.arange(n), 0))
    ward = np.searchsorted(world.starts, gid[hh_start], side="right") - 1
    ward = np.clip(ward, 0, len(world.wards) - 1)

    dob = (days(REF_DATE) - np.floor(age * 365.2425)).astype(np.int64)
    # --- names ----------------------------------------------------------------------------
    region = np.array([world.wards[w].region for w in ward.tolist()])
    surnames = [s[0] for s in tb.SURNAMES] + list(tb.SURNAME_TAIL)
    south_forms = [s[1] for s in tb.SURNAMES] + list(tb.SURNAME_TAIL)
    base = np.array(
        [s[2] for s in tb.SURNAMES]
        + list(zipf(len(tb.SURNAME_TAIL), tb.SURNAME_TAIL_EXPONENT) * tb.SURNAME_TAIL_SHARE)
    )
    sur_idx = choice(rng, base, n)
    # Children, young adults and (mostly) elder parents carry the head's surname; wives keep
    # their own, as Vietnamese women do.
    inherit = (role == 2) | (role == 4) | ((role == 3) & (rng.random(n) < 0.7))
    sur_idx = np.where(inherit, sur_idx[head], sur_idx)
    south_u = rng.random(n)
    use_south = (region == "south") | ((region == "centre") & (south_u < 0.5))
    use_south = np.where(inherit, use_south[head], use_south)
    surname = [
        south_forms[i] if s else surnames[i]
        for i, s in zip(sur_idx.tolist(), use_south.tolist(), strict=True)
    ]
    byear = (np.datetime64("1970-01-01") + dob.astype("timedelta64[D]")).astype(
        "datetime64[Y]"
    ).astype(np.int64) + 1970
    cohort = np.searchsorted(np.array(tb.COHORT_EDGES), byear, side="right")
    middle = _middles(rng, sex, cohort)
    given = _givens(rng, sex, byear)
    # --- dates of birth ---------------------------------------------------------------------
    dates = np.datetime64("1970-01-01") + dob.astype("timedelta64[D]")
    month = (dates.astype("datetime64[M]").astype(np.int64) % 12) + 1
    day = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
    u = rng.random(n)
    year_only = np.where(
        byear < 1950,
        pop["dob_year_only_before_1950"],
        np.where(byear < 1970, pop["dob_year_only_1950_1969"], pop["dob_year_only_after_1970"]),
    )
    precision = np.where(
        u < year_only, 2, np.where((u < year_only + pop["dob_month_only"]) & (byear < 1970), 1, 0)
    )
    # --- birth province and ID numbers --------------------------------------------------------
    live_prov = np.array([int(world.wards[w].province_code) for w in ward.tolist()])
    city = np.isin(live_prov, [int(c) for c in tb.CITY_PROVINCES])
    moved = (age >= 18) & (
        rng.random(n) < np.where(city, pop["moved_province_city"], pop["moved_province"])
    )
    all_prov = np.array([int(c) for c in world.birth_provinces])
    other = all_prov[rng.integers(0, len(all_prov), n)]
    birth_prov = np.where(moved & (other != live_prov), other, live_prov)
    cs = np.where(byear >= 2000, 2, 0) + sex
    prefix = birth_prov * 1000 + cs * 100 + (byear % 100)
    nid = prefix * 1_000_000 + _serials(world, cell, 1, prefix, 1_000_000)
    national_id = [f"{x:012d}" for x in nid.tolist()]
    adult = age >= 18
    has_old = adult & (rng.random(n) < pop["old_id_adult"])
    cmnd_prov = np.where(moved & (rng.random(n) < 0.5), birth_prov, live_prov)
    cmnd_pref = np.array(
        [int(tb.CMND_PREFIX.get(f"{p:02d}", "0" + str(p % 10))) for p in cmnd_prov.tolist()]
    )
    cmnd_pref = np.where(has_old, cmnd_pref, -1)
    old = cmnd_pref * 10_000_000 + _serials(world, cell, 2, cmnd_pref, 10_000_000, mask=has_old)
    old_id = [
        f"{x:09d}" if h else None for x, h in zip(old.tolist(), has_old.tolist(), strict=True)
    ]
    # --- phones -------------------------------------------------------------------------------
    own = np.where(
        age >= 75,
        pop["phone_elder"],
        np.where(age >= 18, pop["phone_adult"], np.where(age >= 12, pop["phone_teen"], 0.0)),
    )
    has_phone = rng.random(n) < own
    pw = np.array([w for _, w in tb.MOBILE_PREFIXES])
    pidx = choice(rng, pw, n)
    pidx = np.where(has_phone, pidx, -1)
    serial = _serials(world, cell, 3, pidx, 10_000_000, mask=has_phone)
    prefixes = [p for p, _ in tb.MOBILE_PREFIXES]
    phone: list[str | None] = [
        f"{prefixes[p]}{s:07d}" if p >= 0 else None
        for p, s in zip(pidx.tolist(), serial.tolist(), strict=True)
    ]
    share = rng.random(n) < pop["phone_shared_when_none"]
    for i in np.flatnonzero(~has_phone & share).tolist():
        phone[i] = phone[int(head[i])]
    # --- register presence --------------------------------------------------------------------
    absent = rng.random(n) < np.where(age < 18, pop["absent_child"], pop["absent_adult"])
    # --- addresses, one per household -----------------------------------------------------
    address = _addresses(rng, world, hh, ward, first_of_hh)
    # A relative whose ID might be typed instead: for a child the head (a parent), for an
    # elder parent the head (their child), else nobody.
    relative = np.where(((age < 18) | (role == 3)) & (head != np.arange(n)), head, -1)
    people = People(
        gid,
        sex,
        dob,
        byear,
        month,
        day,
        precision,
        hh,
        ward,
        absent,
        np.zeros(n, dtype=bool),
        surname,
        middle,
        given,
        national_id,
        old_id,
        phone,
        address,
        relative,
    )
    _add_foreigners(rng, world, people, cell)
    return people


def _serials(
    world: World,
    cell: int,
    kind: int,
    prefix: np.ndarray,
    domain: int,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Unique serials per prefix across the whole population (see the module doc)."""
    per_cell = domain // world.cells
    rank = rank_within(prefix)
    if mask is not None and len(rank):
        rank = np.where(mask, rank, 0)
    if len(rank) and rank.max() >= per_cell:
        raise ValueError(
            f"too many people for unique ID serials: {world.people:,} people in {world.cells} "
            "cells exhaust a prefix's serial space; use fewer people or more provinces"
        )
    slot = cell * per_cell + rank
    return permute(slot, keys_for(world.seed, kind, prefix), domain)


def _middles(rng: np.random.Generator, sex: np.ndarray, cohort: np.ndarray) -> list[str]:
    n = len(sex)
    out = [""] * n
    u_two, u_none = rng.random(n), rng.random(n)
    for s, table, second in (
        ("M", tb.MIDDLE_MALE, tb.SECOND_MIDDLE_MALE),
        ("F", tb.MIDDLE_FEMALE, tb.SECOND_MIDDLE_FEMALE),
    ):
        names = list(table)
        for c in range(4):
            sel = np.flatnonzero((sex == (s == "F")) & (cohort == c))
            if not len(sel):
                continue
            w = np.array([table[m][c] for m in names], dtype=float)
            first = choice(rng, w, len(sel))
            sec = rng.integers(0, len(second), len(sel))
            two = u_two[sel] < tb.TWO_MIDDLE[s][c]
            none = u_none[sel] < tb.NO_MIDDLE[c]
            for i, f, t, nn, s2 in zip(
                sel.tolist(), first.tolist(), two.tolist(), none.tolist(), sec.tolist(), strict=True
            ):
                if nn:
                    continue
                m = names[f]
                if t and second[s2] != m:
                    m = f"{m} {second[s2]}"
                out[i] = m
    return out


def _ranked(first: tuple[str, ...], *rest: tuple[str, ...]) -> list[str]:
    out = list(dict.fromkeys(first))
    for names in rest:
        out += [n for n in names if n not in out]
    return out


def _givens(rng: np.random.Generator, sex: np.ndarray, byear: np.ndarray) -> list[str]:
    """Given names by sex, ranked by the cohort's list first (born before 1980 or after)."""
    n = len(sex)
    out = [""] * n
    for female, older, younger, more in (
        (0, tb.GIVEN_MALE_OLDER, tb.GIVEN_MALE_YOUNGER, tb.GIVEN_MALE_MORE),
        (1, tb.GIVEN_FEMALE_OLDER, tb.GIVEN_FEMALE_YOUNGER, tb.GIVEN_FEMALE_MORE),
    ):
        for table, sel in (
            (_ranked(older, younger, more), (sex == female) & (byear < 1980)),
            (_ranked(younger, older, more), (sex == female) & (byear >= 1980)),
        ):
            idx = np.flatnonzero(sel)
            pick = choice(rng, zipf(len(table)), len(idx))
            for i, k in zip(idx.tolist(), pick.tolist(), strict=True):
                out[i] = table[k]
    return out


def _addresses(
    rng: np.random.Generator, world: World, hh: np.ndarray, ward: np.ndarray, first: np.ndarray
) -> list[str]:
    n = len(hh)
    starts = np.flatnonzero(first)
    k = len(starts)
    hamlet_no = rng.integers(1, 16, k)
    house = rng.integers(1, 300, k)
    lane = rng.integers(1, 120, k)
    street = rng.integers(0, len(tb.STREETS), k)
    style = rng.random(k)
    word = rng.integers(0, 2, k)
    per_hh = []
    for j, s in enumerate(starts.tolist()):
        w = world.wards[int(ward[s])]
        tail = f"{w.name}, {w.district_name}, {w.province_name}"
        hamlet = f"{tb.HAMLET_WORDS[(w.region, w.urban)][int(word[j])]} {int(hamlet_no[j])}"
        if w.urban:
            st = tb.STREETS[int(street[j])]
            if style[j] < 0.4 and w.region == "south":
                head = f"{int(house[j])}/{int(lane[j])} {st}"
            elif style[j] < 0.4:
                head = f"Số {int(house[j])}, ngõ {int(lane[j])} {st}"
            else:
                head = f"Số {int(house[j])} {st}"
            per_hh.append(f"{head}, {hamlet}, {tail}")
        else:
            per_hh.append(f"{hamlet}, {tail}")
    hh_of = np.cumsum(first) - 1
    return [per_hh[i] for i in hh_of.tolist()] if n else []


def _add_foreigners(rng: np.random.Generator, world: World, people: People, cell: int) -> None:
    count = int(rng.binomial(people.n, world.profile["population"]["foreigners"]))
    if not count:
        return
    nat = rng.integers(0, len(tb.FOREIGNERS), count)
    age = rng.uniform(22, 60, count)
    sex = rng.integers(0, 2, count).astype(np.int8)
    dob = (days(REF_DATE) - np.floor(age * 365.2425)).astype(np.int64)
    dates = np.datetime64("1970-01-01") + dob.astype("timedelta64[D]")
    year = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    month = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
    ward = (
        rng.integers(0, len(world.wards), count)
        if people.n == 0
        else people.ward[rng.integers(0, people.n, count)]
    )
    digits = rng.integers(0, 10, (count, 9))
    pw = np.array([w for _, w in tb.MOBILE_PREFIXES])
    pidx = choice(rng, pw, count)
    pnum = rng.integers(0, 10_000_000, count)
    house = rng.integers(1, 300, count)
    street = rng.integers(0, len(tb.STREETS), count)
    names_u = rng.integers(0, 5, (count, 2))
    base_hh = (people.household.max() + 1) if people.n else 0
    for j in range(count):
        code, pattern, fams, givens = tb.FOREIGNERS[int(nat[j])]
        it = iter(digits[j].tolist())
        passport = "".join(str(next(it)) if c == "#" else c for c in pattern)
        fam, giv = fams[int(names_u[j, 0])], givens[int(names_u[j, 1])]
        name = f"{fam} {giv}" if code in tb.FOREIGN_NAME_ORDER_FAMILY_FIRST else f"{giv} {fam}"
        w = world.wards[int(ward[j])]
        people.surname.append("")
        people.middle.append("")
        people.given.append(name)
        people.national_id.append(passport)
        people.old_id.append(None)
        people.phone.append(f"{tb.MOBILE_PREFIXES[int(pidx[j])][0]}{int(pnum[j]):07d}")
        people.address.append(
            f"Số {int(house[j])} {tb.STREETS[int(street[j])]}, {w.name}, "
            f"{w.district_name}, {w.province_name}"
        )
    extra = np.arange(count)
    people.gid = np.r_[people.gid, -(cell * 100_000 + extra + 1)]
    people.sex = np.r_[people.sex, sex]
    people.dob = np.r_[people.dob, dob]
    people.year = np.r_[people.year, year]
    people.month = np.r_[people.month, month]
    people.day = np.r_[people.day, day]
    people.precision = np.r_[people.precision, np.zeros(count, dtype=np.int64)]
    people.household = np.r_[people.household, base_hh + extra]
    people.ward = np.r_[people.ward, ward]
    people.absent = np.r_[people.absent, np.ones(count, dtype=bool)]
    people.foreign = np.r_[people.foreign, np.ones(count, dtype=bool)]
    people.relative = np.r_[people.relative, -np.ones(count, dtype=np.int64)]
