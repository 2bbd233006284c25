"""The error processes, their labels and their default rates.

A rate is the probability that the process happens to a freshly typed record *when it can*
(a day↔month swap needs a day ≤ 12; a relative's ID needs a household of two). The processes
of one *slot* exclude each other: one uniform draw per slot and record walks the slot's rates
in a fixed order, and the process it lands on happens if it can. So for every process,
P(happens | it could) is its rate exactly, whatever the other processes' eligibility — which
is what the tests check against the counts in ``manifest.json``.

In a *careless* session (``population.careless_sessions``: 10% of the weeks of a site by
default; a clerk in a hurry, a bad scan) every rate is multiplied by
``population.careless_factor`` (4; less for a slot whose rates would then pass 1): errors
cluster in real data, so a record with no ID often has a typo and a wrong ward too — the
records a linker loses. The manifest counts careful and careless typings apart.

Labels: ``wrong`` is a substantive disagreement with the register; ``incomplete`` is a value
missing or partial in the record but known in the register (a blank ID, a year-only or
01/01 placeholder date of birth, a dropped middle name, a blank ward, sex or phone). A
placeholder date is ``incomplete`` even when the register itself holds only the year: the
record knows nothing the register does not. The old 9-digit ID is ``wrong`` (it is not a
partial 12-digit number; the register's ID must replace it), as in ``tiemchung.synth.truth``.
When a field gets both, ``wrong`` wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

Label = Literal["wrong", "incomplete"]


@dataclass(frozen=True)
class Process:
    field: str
    slot: str
    name: str
    label: Label
    rate: float
    what: str


PROCESSES: Final[tuple[Process, ...]] = (
    Process("national_id", "id", "blank", "incomplete", 0.07, "no ID typed"),
    Process("national_id", "id", "digit_off", "wrong", 0.015, "one digit replaced"),
    Process("national_id", "id", "transposed", "wrong", 0.01, "two adjacent digits swapped"),
    Process("national_id", "id", "digit_dropped", "wrong", 0.008, "one digit left out"),
    Process("national_id", "id", "relative_id", "wrong", 0.01, "a household member's ID"),
    Process("national_id", "id", "old_id", "wrong", 0.05, "the person's old 9-digit CMND"),
    Process(
        "full_name", "structure", "middle_dropped", "incomplete", 0.03, "middle name(s) left out"
    ),
    Process("full_name", "structure", "word_order", "wrong", 0.01, "words in another order"),
    Process("full_name", "typo", "telex_slip", "wrong", 0.012, "Telex keystrokes left in"),
    Process("full_name", "typo", "vni_slip", "wrong", 0.008, "VNI digits left in"),
    Process("full_name", "typo", "letter_dropped", "wrong", 0.01, "a letter left out"),
    Process("full_name", "typo", "letter_doubled", "wrong", 0.008, "a letter typed twice"),
    Process("full_name", "typo", "letters_swapped", "wrong", 0.008, "two letters swapped"),
    Process("full_name", "typo", "ocr", "wrong", 0.008, "OCR look-alike (rn/m, l/1, đ/d)"),
    Process("dob", "dob", "year_only", "incomplete", 0.05, "only the year"),
    Process("dob", "dob", "placeholder", "incomplete", 0.02, "01/01 of the year"),
    Process("dob", "dob", "day_month_swap", "wrong", 0.015, "day and month exchanged"),
    Process("dob", "dob", "year_off", "wrong", 0.01, "year one off"),
    Process("sex", "sex", "blank", "incomplete", 0.03, "no sex typed"),
    Process("sex", "sex", "flipped", "wrong", 0.004, "the other sex"),
    Process("ward_code", "ward", "blank", "incomplete", 0.15, "no ward code (address only)"),
    Process("ward_code", "ward", "moved", "wrong", 0.02, "another ward of the same district"),
    Process("phone", "phone", "blank", "incomplete", 0.25, "no phone"),
    Process("phone", "phone", "digit_off", "wrong", 0.01, "one digit replaced"),
    Process("phone", "phone", "relative_phone", "wrong", 0.02, "a household member's phone"),
    Process("address", "address", "blank", "incomplete", 0.05, "no address"),
    Process("address", "address", "ocr", "wrong", 0.01, "OCR look-alike in the address"),
)

#: Population-level rates (not per field).
POPULATION: Final[dict[str, float]] = {
    "missing_from_register": 0.02,  # residents the register lacks (their records: no person)
    "foreigners": 0.006,  # passport holders, per resident; never in the register
    "vaccinated": 0.92,
    "duplicate": 0.02,  # share of doses entered a second time
    "retyped_duplicate": 0.5,  # a double entry typed afresh (else copied)
    "reuse_typing": 0.5,  # a later dose copies the person's earlier record's identity
    "address_abbreviated": 0.6,
    "address_unmarked": 0.05,  # address typed without diacritics
    "old_id_holder": 0.35,  # adults (born before 2000) who also have a 9-digit CMND
    "careless_sessions": 0.1,  # share of site-weeks whose typing is careless ...
    "careless_factor": 4.0,  # ... every error rate times this then (errors cluster)
}

FIELDS: Final = ("national_id", "full_name", "dob", "sex", "ward_code", "phone", "address")


@dataclass(frozen=True)
class Rates:
    """The rates of one run: the defaults with overrides ``field.process`` or
    ``population.key``."""

    process: dict[str, float] = field(default_factory=dict)
    population: dict[str, float] = field(default_factory=dict)

    @classmethod
    def build(cls, overrides: dict[str, float] | None = None) -> Rates:
        proc = {f"{p.field}.{p.name}": p.rate for p in PROCESSES}
        pop = dict(POPULATION)
        for key, value in (overrides or {}).items():
            if key.endswith("_factor"):
                if value < 1.0:
                    raise ValueError(f"{key}={value}: expected a factor >= 1")
            elif not 0.0 <= value <= 1.0:
                raise ValueError(f"rate {key}={value}: expected a probability in [0, 1]")
            if key in proc:
                proc[key] = value
            elif key.startswith("population.") and key[11:] in pop:
                pop[key[11:]] = value
            else:
                known = sorted(proc) + [f"population.{k}" for k in pop]
                raise ValueError(f"unknown rate '{key}'; expected one of {known}")
        slots: dict[tuple[str, str], float] = {}
        for p in PROCESSES:
            slots[(p.field, p.slot)] = (
                slots.get((p.field, p.slot), 0.0) + proc[f"{p.field}.{p.name}"]
            )
        for (f, s), total in slots.items():
            if total > 1.0 + 1e-9:
                raise ValueError(f"rates of {f} ({s}) add up to {total:.3f} > 1")
        return cls(proc, pop)

    def slot(
        self, field_name: str, slot: str, careless: bool = False
    ) -> list[tuple[Process, float]]:
        """The slot's processes and rates; at a careless site every rate times the factor,
        or less when the slot's rates would then add up to more than 1."""
        rates = [
            (p, self.process[f"{p.field}.{p.name}"])
            for p in PROCESSES
            if p.field == field_name and p.slot == slot
        ]
        if not careless:
            return rates
        total = sum(r for _, r in rates)
        factor = min(self.population["careless_factor"], 1.0 / total) if total else 1.0
        return [(p, r * factor) for p, r in rates]
