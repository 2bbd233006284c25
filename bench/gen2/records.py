"""Dose records typed from people, with the truth about every field.

A record is typed from its person's true identity: per field one draw per slot picks an error
process (or none, see :mod:`bench.gen2.rates`), then formatting that changes no fact (capitals,
``dd/mm/yyyy``, spaces in an ID). A WRONG process whose result the identity toolkit would
standardise back to the true value (a swap of two equal letters, say) is not counted as having
happened: the labels are true by construction, and the tests re-derive them from the register.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tiemchung.identity import IdentityError, normalize_name, parse_dob, parse_national_id

from . import slips, values
from .population import Person, Places
from .rates import FIELDS, PROCESSES, Process, Rates
from .tables import VACCINES

Apply = Callable[[str, random.Random], "str | None"]


@dataclass
class Typed:
    """One typing of a person's identity: the values and, per field, what happened."""

    values: dict[str, str]
    processes: dict[str, list[str]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class Counts:
    """How often each process could happen and did, over fresh typings."""

    eligible: Counter[str] = field(default_factory=Counter)
    applied: Counter[str] = field(default_factory=Counter)


def _same_name(a: str, b: str) -> bool:
    return normalize_name(a) == normalize_name(b)


def _same_id(a: str, b: str) -> bool:
    try:
        return parse_national_id(a).digits == parse_national_id(b).digits
    except IdentityError:
        return a.strip() == b.strip()


def _same_dob(a: str, b: str) -> bool:
    try:
        return parse_dob(a).iso == parse_dob(b).iso
    except IdentityError:
        return False


class Typist:
    """Types records of people with the processes and rates of one run."""

    def __init__(
        self, people: list[Person], places: Places, rates: Rates, rng: random.Random
    ) -> None:
        self.people = people
        self.places = places
        self.rates = rates
        self.rng = rng
        self.counts = Counts()
        self.careless = False  # the session typing now is a careless one
        self.sessions: dict[str, bool] = {}

    def session_is_careless(self, session: str) -> bool:
        """Drawn once per session (a site's week), the first time it types a record."""
        if session not in self.sessions:
            share = self.rates.population["careless_sessions"]
            self.sessions[session] = self.rng.random() < share
        return self.sessions[session]

    def _draw(self, field_name: str, slot: str, eligible: dict[str, bool]) -> Process | None:
        """One draw for a slot; the process it lands on, if that process can happen."""
        u = self.rng.random()
        acc = 0.0
        hit: Process | None = None
        for proc, rate in self.rates.slot(field_name, slot, self.careless):
            key = f"{proc.field}.{proc.name}" + ("@careless" if self.careless else "")
            ok = eligible.get(proc.name, True)
            if ok:
                self.counts.eligible[key] += 1
            if hit is None and acc <= u < acc + rate:
                hit = proc if ok else None
                if hit is None:
                    acc = 2.0  # landed on a process that cannot happen: nothing happens
            acc += rate
        return hit

    def _mark(self, t: Typed, proc: Process) -> None:
        t.processes.setdefault(proc.field, []).append(proc.name)
        key = f"{proc.field}.{proc.name}" + ("@careless" if self.careless else "")
        self.counts.applied[key] += 1

    def type(self, p: Person, site: str, day: dt.date) -> Typed:
        """A fresh typing of ``p``'s identity at ``site`` on ``day``."""
        rng = self.rng
        year, week, _ = day.isocalendar()
        self.careless = self.session_is_careless(f"{site}/{year}-W{week:02d}")
        t = Typed({})
        # --- national_id
        nid = p.national_id
        relatives_ids = [
            self.people[i].national_id for i in p.relatives if self.people[i].national_id != nid
        ]
        proc = self._draw(
            "national_id",
            "id",
            {
                "transposed": values.transpose_applies(nid),
                "relative_id": bool(relatives_ids),
                "old_id": p.old_id is not None,
            },
        )
        value: str | None = nid
        if proc is not None:
            value = {
                "blank": lambda: "",
                "digit_off": lambda: values.digit_off(nid, rng),
                "transposed": lambda: values.transpose(nid, rng),
                "digit_dropped": lambda: values.digit_dropped(nid, rng),
                "relative_id": lambda: rng.choice(relatives_ids),
                "old_id": lambda: p.old_id,
            }[proc.name]()
            if value is None or (proc.label == "wrong" and _same_id(value, nid)):
                value, proc = nid, None
            if proc is not None:
                self._mark(t, proc)
        t.values["national_id"] = values.id_as_typed(value, rng) if value else ""
        # --- full_name: structure, then a typo
        name = p.full_name
        proc = self._draw(
            "full_name",
            "structure",
            {
                "middle_dropped": slips.middle_applies(name),
                "word_order": slips.word_order_applies(name),
            },
        )
        if proc is not None:
            fn: Apply = slips.drop_middle if proc.name == "middle_dropped" else slips.word_order
            new = fn(name, rng)
            if new is not None and not _same_name(new, name):
                name = new
                self._mark(t, proc)
        typos: dict[str, tuple[Apply, Callable[[str], bool]]] = {
            "telex_slip": (slips.telex_slip, slips.telex_applies),
            "vni_slip": (slips.vni_slip, slips.vni_applies),
            "letter_dropped": (slips.letter_drop, slips.letter_drop_applies),
            "letter_doubled": (slips.letter_double, slips.letter_double_applies),
            "letters_swapped": (slips.letter_swap, slips.letter_swap_applies),
            "ocr": (slips.ocr_confusion, slips.ocr_applies),
        }
        proc = self._draw("full_name", "typo", {k: v[1](name) for k, v in typos.items()})
        if proc is not None:
            new = typos[proc.name][0](name, rng)
            if new is not None and not _same_name(new, name):
                name = new
                self._mark(t, proc)
        t.values["full_name"] = slips.name_format(name, rng)
        # --- dob
        dob = p.dob
        dobs: dict[str, tuple[Apply, bool]] = {
            "year_only": (values.year_only, values.year_only_applies(dob)),
            "placeholder": (values.placeholder_date, values.placeholder_applies(dob)),
            "day_month_swap": (values.day_month_swap, values.swap_applies(dob)),
            "year_off": (values.year_off, True),
        }
        proc = self._draw("dob", "dob", {k: v[1] for k, v in dobs.items()})
        typed = values.dob_as_typed(dob, rng)
        if proc is not None:
            new = dobs[proc.name][0](dob, rng)
            if new is not None and not (proc.label == "wrong" and _same_dob(new, dob)):
                typed = new
                self._mark(t, proc)
        t.values["dob"] = typed
        # --- sex
        proc = self._draw("sex", "sex", {})
        sex = p.sex
        if proc is not None:
            self._mark(t, proc)
            sex = "" if proc.name == "blank" else ("F" if sex == "M" else "M")
        forms = {"M": ("Nam", "Nam", "nam", "M"), "F": ("Nữ", "Nữ", "nữ", "F")}
        t.values["sex"] = rng.choice(forms[sex]) if sex else ""
        # --- ward_code
        neighbours = [
            w for w in self.places.by_district[p.ward.parent_code or ""] if w.code != p.ward.code
        ]
        proc = self._draw("ward_code", "ward", {"moved": bool(neighbours)})
        ward = p.ward.code
        if proc is not None:
            self._mark(t, proc)
            ward = "" if proc.name == "blank" else rng.choice(neighbours).code
        if ward and rng.random() < 0.05:
            ward = ward.lstrip("0") or "0"  # a spreadsheet ate the leading zeros: formatting
        t.values["ward_code"] = ward
        # --- phone
        phone = p.phone or ""
        rel_phones = sorted({self.people[i].phone or "" for i in p.relatives} - {phone, ""})
        proc = self._draw(
            "phone",
            "phone",
            {
                "blank": bool(phone),
                "digit_off": bool(phone),
                "relative_phone": bool(rel_phones) and bool(phone),
            },
        )
        if proc is not None:
            self._mark(t, proc)
            if proc.name == "blank":
                phone = ""
            elif proc.name == "relative_phone":
                phone = rng.choice(rel_phones)
            else:
                # never the leading 0, which "+84" formatting drops
                phone = "0" + (values.digit_off(phone[1:], rng) or phone[1:])
        t.values["phone"] = values.phone_as_typed(phone, rng) if phone else ""
        # --- address
        address = p.address
        if rng.random() < self.rates.population["address_abbreviated"]:
            address = values.abbreviate_address(address, rng)
        if rng.random() < self.rates.population["address_unmarked"]:
            address = slips.strip_marks(address)
        proc = self._draw("address", "address", {"ocr": slips.ocr_applies(address)})
        if proc is not None:
            new = "" if proc.name == "blank" else slips.ocr_confusion(address, rng)
            if new is not None:
                address = new
                self._mark(t, proc)
        t.values["address"] = address
        for f in FIELDS:
            done = t.processes.get(f, [])
            labels = {q.label for q in PROCESSES if q.field == f and q.name in done}
            t.labels[f] = (
                "wrong"
                if "wrong" in labels
                else ("incomplete" if "incomplete" in labels else "correct")
            )
        return t


def _dose_plan(rng: random.Random) -> list[tuple[int, str, dt.date]]:
    """1–3 doses: vaccine, date (2021–22), the usual gap plus some delay between doses."""
    count = rng.choices((1, 2, 3), weights=(15, 45, 40))[0]
    vaccine, gap = rng.choice(VACCINES)
    day = dt.date(2021, 3, 8) + dt.timedelta(days=rng.randint(0, 290))
    plan = [(1, vaccine, day)]
    for k in range(2, count + 1):
        if k == 3 and rng.random() < 0.6:
            vaccine, gap = "PFIZER", 120
        day = day + dt.timedelta(days=gap + rng.randint(0, 35))
        plan.append((k, vaccine, day))
    return plan


def make_records(
    people: list[Person], places: Places, rates: Rates, rng: random.Random
) -> tuple[list[dict[str, Any]], Counts, list[str]]:
    """Every dose record (register columns typed, dose fields, truth), in shuffled order with
    record ids given after the shuffle, so that neither order nor id says who is who."""
    typist = Typist(people, places, rates, rng)
    pop = rates.population
    rows: list[dict[str, Any]] = []
    for p in people:
        # COVID-19 vaccines reached the over-12s in 2021 and children of 5-11 in 2022
        born = int(p.dob[:4])
        share = pop["vaccinated"] if born <= 2009 else 0.6 * pop["vaccinated"]
        if born > 2016 or rng.random() >= share:
            continue
        last: Typed | None = None
        for dose, vaccine, day in _dose_plan(rng):
            home = rng.random() < 0.8
            site = f"TYT{p.ward.code}" if home else f"TTYT{p.ward.parent_code}"
            typed = last if last is not None and rng.random() < pop["reuse_typing"] else None
            typed = typed or typist.type(p, site, day)
            last = typed
            entries = [(typed, day, site)]
            if rng.random() < pop["duplicate"]:
                later = day + dt.timedelta(days=rng.choice((0, 0, 0, 1, 2, 3)))
                other = site if rng.random() < 0.5 else f"TTYT{p.ward.parent_code}"
                retype = rng.random() < pop["retyped_duplicate"]
                again = typist.type(p, other, later) if retype else typed
                entries.append((again, later, other))
            cluster = len(rows)
            for t, when, where in entries:
                rows.append(
                    {
                        "person": p,
                        "typed": t,
                        "dose_number": dose,
                        "vaccine": vaccine,
                        "dose_date": when,
                        "site_id": where,
                        "cluster": cluster,
                    }
                )
    rng.shuffle(rows)
    for i, r in enumerate(rows):
        r["record_id"] = f"V{i:08d}"
    first: dict[int, tuple[dt.date, str]] = {}
    for r in rows:
        key = (r["dose_date"], r["record_id"])
        if r["cluster"] not in first or key < first[r["cluster"]]:
            first[r["cluster"]] = key
    for r in rows:
        head = first[r["cluster"]][1]
        r["duplicate_of"] = "" if head == r["record_id"] else head
    careless = sorted(session for session, bad in typist.sessions.items() if bad)
    return rows, typist.counts, careless
