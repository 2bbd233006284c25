"""Age groups of the dashboard.

The groups follow the campaign's target groups as the source reports used them: adults
"trên 18 tuổi" (18+, split at 50 and 65: "người trên 65 tuổi" were a priority group),
children 12–17 (vaccinated from late 2021) and 5–11 (2022, reported as 0–11 here since the
register has few under-5 doses). Age is counted **by birth year**: a person's age in the year
of the reference date is ``year - birth year``, so a register person known only by birth year
("1978") is placed exactly like one with a full date of birth.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AgeGroup:
    code: str
    low: int
    high: int | None  # inclusive; None: no upper bound
    vi: str
    en: str


AGE_GROUPS: tuple[AgeGroup, ...] = (
    AgeGroup("0-11", 0, 11, "0–11 tuổi", "0–11 years"),
    AgeGroup("12-17", 12, 17, "12–17 tuổi", "12–17 years"),
    AgeGroup("18-49", 18, 49, "18–49 tuổi", "18–49 years"),
    AgeGroup("50-64", 50, 64, "50–64 tuổi", "50–64 years"),
    AgeGroup("65+", 65, None, "từ 65 tuổi", "65 and over"),
)
UNKNOWN = AgeGroup("unknown", -1, -1, "không rõ năm sinh", "birth year unknown")
BY_CODE = {g.code: g for g in (*AGE_GROUPS, UNKNOWN)}


def age_group_sql(birth_year: str, ref_year: int) -> str:
    """A SQL CASE naming the age group of ``birth_year`` (a column) in ``ref_year``."""
    parts = [f"WHEN {birth_year} IS NULL THEN '{UNKNOWN.code}'"]
    for g in AGE_GROUPS:
        high = f" AND {ref_year} - {birth_year} <= {g.high}" if g.high is not None else ""
        parts.append(f"WHEN {ref_year} - {birth_year} >= {g.low}{high} THEN '{g.code}'")
    return f"(CASE {' '.join(parts)} ELSE '{UNKNOWN.code}' END)"


def birth_years(code: str, ref_year: int) -> tuple[int | None, int | None]:
    """The inclusive birth-year range of age group ``code`` in ``ref_year`` (None: open)."""
    g = BY_CODE[code]
    return (ref_year - g.high if g.high is not None else None, ref_year - g.low)
