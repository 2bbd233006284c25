"""The COVID-19 vaccine products used in Vietnam in 2021–22, with their EU DCC codes.

Codes are from the EU DCC value sets (``vaccine-medicinal-product``, ``vaccine-mah-manf``,
``vaccine-prophylaxis``). Minimum intervals are the shortest interval between consecutive
doses that the Ministry of Health's guidance allowed for each product; a dose given earlier is
refused at entry. Pure data: the registry, the synthetic generator and certificates share it.
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
