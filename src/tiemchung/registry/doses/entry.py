"""A dose that did not verify when it was recorded goes to its ward's worklist.

The vaccination happened, so the dose path never rejects a person it cannot verify: it saves
the dose as ``unverified`` (registry/doses/record.py) and, here, opens a worklist item of kind
``unverified`` in the same transaction, so the commune working group sees it next to the
backlog's review items; the sequence rules the dose broke are written into that item, not a
second one (registry/doses/rules.py). The register persons that carry the typed ID number are
listed as candidates with the fields that differ and the register's values, so the reviewer can
accept one (registry/review/decisions.py); with no such person the item can be edited or rejected.

A later reconciliation run supersedes these items with its own judgement
(registry/imports/apply.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tiemchung.identity.dates import iso_compatible
from tiemchung.registry.doses import rules as dose_rules
from tiemchung.registry.doses.rules import DoseWarning

REASONS: dict[str, tuple[str, str]] = {
    "no_id": (
        "Không có số định danh khi ghi nhận",
        "no ID number was entered",
    ),
    "id_not_in_register": (
        "Số định danh không có trong sổ dân cư",
        "the ID number is not in the register",
    ),
    "fields_differ": (
        "Số định danh có trong sổ dân cư nhưng họ tên, ngày sinh hoặc giới tính khác",
        "the ID number is in the register but the name, date of birth or sex differs",
    ),
    "ambiguous_id": (
        "Số định danh trùng với nhiều người trong sổ dân cư",
        "the ID number belongs to more than one register person",
    ),
}


def _differences(person: Any, row: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """The fields of the typed record that disagree with ``person``, and the register's
    values for them (formatting is already standardised in ``row``)."""
    mismatches: list[str] = []
    corrections: dict[str, Any] = {}
    if row["national_id"] != person.national_id and person.national_id is not None:
        mismatches.append("national_id")
        corrections["national_id"] = person.national_id
    if person.full_name != row["full_name"]:
        mismatches.append("full_name")
        corrections["full_name"] = person.full_name
    if not iso_compatible(person.dob, row["dob"]):
        mismatches.append("dob")
        corrections["dob"] = person.dob
    if person.sex is not None and row["sex"] is not None and person.sex != row["sex"]:
        mismatches.append("sex")
        corrections["sex"] = person.sex
    if row["ward_code"] and person.ward_code and row["ward_code"] != person.ward_code:
        mismatches.append("ward_code")
        corrections["ward_code"] = person.ward_code
    return mismatches, corrections


def item_row(
    dose_id: int,
    row: dict[str, Any],
    candidates: Sequence[Any],
    warnings: Sequence[DoseWarning] = (),
) -> dict[str, Any]:
    """The worklist item for an unverified dose ``row`` (as the dose path stored it) whose
    typed ID matched ``candidates`` in the register (possibly none).

    The sequence rules the dose broke (``warnings``) are segments of this item's explanation,
    after the reason: one dose, one item — the commune decides whose dose it is and fills the
    gap or checks the date in the same place, rather than meeting the dose twice."""
    if not row["national_id"]:
        reason = "no_id"
    elif not candidates:
        reason = "id_not_in_register"
    elif len(candidates) > 1:
        reason = "ambiguous_id"
    else:
        reason = "fields_differ"
    listed = []
    for person in candidates:
        mismatches, corrections = _differences(person, row)
        listed.append(
            {
                "person_id": person.person_id,
                "match_probability": None,
                "mismatches": mismatches,
                "corrections": corrections,
            }
        )
    best = candidates[0] if len(candidates) == 1 else None
    vi, en = REASONS[reason]
    return {
        "dose_id": dose_id,
        "kind": "unverified",
        "reason": reason,
        "ward_code": best.ward_code if best is not None else row["area_ward_code"],
        "province_code": best.province_code if best is not None else row["area_province_code"],
        "person_pk": best.id if best is not None else None,
        "mismatches": ";".join(listed[0]["mismatches"]) if best is not None else None,
        "candidates": listed,
        "explanation": "; ".join([f"{vi} / {en}", *(dose_rules.segment(w) for w in warnings)]),
        "status": "open",
    }


ITEM_COLUMNS = (
    "dose_id",
    "kind",
    "reason",
    "ward_code",
    "province_code",
    "person_pk",
    "mismatches",
    "candidates",
    "explanation",
    "status",
)


def item_tuples(
    items: list[dict[str, Any]], json_param: Callable[[Any], str | None]
) -> list[tuple[Any, ...]]:
    """Driver parameter tuples in :data:`ITEM_COLUMNS` order (JSON columns as text)."""
    return [
        tuple(json_param(it[c]) if c == "candidates" else it[c] for c in ITEM_COLUMNS)
        for it in items
    ]
