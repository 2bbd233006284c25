"""The COVID-19 vaccine products used in Vietnam in 2021–22, with their EU DCC codes.

Codes are from the EU DCC value sets (``vaccine-medicinal-product``, ``vaccine-mah-manf``,
``vaccine-prophylaxis``). ``min_interval_days`` is the shortest interval between consecutive
doses of the product's primary series that the Ministry of Health's guidance allowed; a
booster (a dose past the primary series) waits at least :data:`BOOSTER_MIN_INTERVAL_DAYS`
(:func:`min_interval_before`). A dose given earlier is still stored, with a warning that opens
a worklist item (registry/doses/rules.py): the record follows reality. Pure data: the
registry, the synthetic generator and certificates share it.
"""

from __future__ import annotations

from dataclasses import dataclass

MRNA = "1119349007"  # SARS-CoV-2 mRNA vaccine
ANTIGEN = "1119305005"  # SARS-CoV-2 antigen vaccine (viral vector, inactivated, subunit)


@dataclass(frozen=True)
class Vaccine:
    code: str
    name: str
    mp: str
    ma: str
    vp: str
    primary_doses: int
    min_interval_days: int


VACCINES: tuple[Vaccine, ...] = (
    Vaccine("AZ", "AstraZeneca (Vaxzevria)", "EU/1/21/1529", "ORG-100001699", ANTIGEN, 2, 28),
    Vaccine("PFIZER", "Pfizer-BioNTech (Comirnaty)", "EU/1/20/1528", "ORG-100030215", MRNA, 2, 21),
    Vaccine("MODERNA", "Moderna (Spikevax)", "EU/1/20/1507", "ORG-100031184", MRNA, 2, 28),
    Vaccine("VEROCELL", "Sinopharm (Vero Cell)", "BBIBP-CorV", "ORG-100020693", ANTIGEN, 2, 21),
    Vaccine("SPUTNIKV", "Sputnik V", "Sputnik-V", "Gamaleya-Research-Institute", ANTIGEN, 2, 21),
    Vaccine("ABDALA", "Abdala", "Abdala", "CIGB", ANTIGEN, 3, 14),
    Vaccine("HAYATVAX", "Hayat-Vax", "Hayat-Vax", "ORG-100023050", ANTIGEN, 2, 21),
)

BY_CODE = {v.code: v for v in VACCINES}

#: How sites wrote each product on paper and in their spreadsheets (the legacy files).
LEGACY_NAMES: dict[str, str] = {
    "AZ": "AstraZeneca",
    "PFIZER": "Pfizer",
    "MODERNA": "Moderna",
    "VEROCELL": "Vero Cell",
    "SPUTNIKV": "Sputnik V",
    "ABDALA": "Abdala",
    "HAYATVAX": "Hayat-Vax",
}


#: The shortest wait before a booster (a dose past the previous product's primary series):
#: three months after the last dose, counted as 90 days. Vietnam's Ministry of Health allowed
#: the booster "tối thiểu 3 tháng sau mũi cuối cùng của liều cơ bản" from early 2022 (its
#: dispatch on primary and booster doses, March 2022, as TTXVN/Vietnam+ reported it; the
#: November 2021 guidance had said 6 months); WHO SAGE's roadmap recommends 4-6 months. The
#: platform keeps the lower bound — it warns, it does not refuse — so a booster the guidance
#: allowed never opens a worklist item. One figure for every product and every booster
#: (Vietnam's later second-booster guidance, 4 months, is not modelled separately).
BOOSTER_MIN_INTERVAL_DAYS = 90


def min_interval_before(dose_number: int, primary_doses: int, min_interval_days: int) -> int:
    """Minimum days between the previous dose (of a product with ``primary_doses`` in its
    primary series and ``min_interval_days`` between them) and dose ``dose_number``: the
    product's interval within the primary series, at least the booster interval past it."""
    if dose_number > primary_doses:
        return max(min_interval_days, BOOSTER_MIN_INTERVAL_DAYS)
    return min_interval_days
