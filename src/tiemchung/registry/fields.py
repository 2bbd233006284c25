"""Person fields as typed at a desk or in a file, cleaned into the registry's stored form.

Thin glue over ``tiemchung.identity``: the identity toolkit owns the Vietnamese rules; this
module decides what the registry stores and which field a failure is reported against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tiemchung.identity import (
    IdentityError,
    fold_name,
    normalize_name,
    normalize_phone,
    parse_dob,
    parse_national_id,
)
from tiemchung.identity.dates import iso_compatible
from tiemchung.registry.errors import ServiceError, rule_error


def _from_identity(field: str, rule: str, exc: IdentityError) -> ServiceError:
    """The identity toolkit's bilingual message, reported against the registry's field."""
    return rule_error(field, f"{rule}:{exc.code}", exc.message_vi, exc.message_en)


_SEX = {"m": "M", "male": "M", "nam": "M", "f": "F", "female": "F", "nữ": "F", "nu": "F"}


def clean_sex(value: str | None, field: str = "sex") -> str | None:
    """``M``/``F`` from the spellings sites use (``Nam``, ``Nữ``, ``M``, ``F``, …)."""
    if value is None or not value.strip():
        return None
    found = _SEX.get(value.strip().lower())
    if found is None:
        raise rule_error(
            field, "invalid_sex", "Giới tính phải là Nam hoặc Nữ", "sex must be M/F (Nam/Nữ)"
        )
    return found


def clean_dob(value: str | None, field: str = "dob") -> str | None:
    """ISO partial date (``1990-03-05``, ``1990-03``, ``1990``); an impossible date is refused."""
    if value is None or not str(value).strip():
        return None
    try:
        return parse_dob(str(value)).iso
    except IdentityError as exc:
        raise _from_identity(field, "invalid_dob", exc) from exc


@dataclass(frozen=True)
class CleanId:
    """An ID number as stored: digits when it is a Vietnamese ID, else the trimmed text."""

    value: str | None
    kind: str | None  # "cccd" | "cmnd" | None (a passport or other document number)


def clean_id(value: str | None) -> CleanId:
    if value is None or not value.strip():
        return CleanId(None, None)
    try:
        parsed = parse_national_id(value)
    except IdentityError:
        return CleanId(value.strip().upper()[:20], None)
    return CleanId(parsed.digits, parsed.kind)


def clean_name(value: str, field: str = "full_name") -> tuple[str, str]:
    """(display form, folded key); an empty name is refused."""
    if not value or not value.strip():
        raise rule_error(field, "required", "Họ và tên là bắt buộc", "full name is required")
    try:
        display = normalize_name(value)
        return display, fold_name(display)
    except IdentityError as exc:
        raise _from_identity(field, "invalid_name", exc) from exc


def clean_phone(value: str | None, field: str = "phone") -> str | None:
    if value is None or not value.strip():
        return None
    try:
        return normalize_phone(value)
    except IdentityError as exc:
        raise _from_identity(field, "invalid_phone", exc) from exc


def identity_agrees(person: Any, full_name: str | None, dob: str | None, sex: str | None) -> bool:
    """The rule that verifies a typed identity against a register person, shared by the dose
    path (registry/doses/record.py) and the desk's verify (registry/doses/verify.py): the
    display-form name
    is the same (NFC, case, spacing, tone placement standardised — a name without diacritics
    does not agree), the date of birth agrees as far as both are known
    (identity.dates.iso_compatible), and so does the sex.
    A field not typed (None) is not compared."""
    return (
        (full_name is None or person.full_name == full_name)
        and iso_compatible(person.dob, dob)
        and (person.sex is None or sex is None or person.sex == sex)
    )
