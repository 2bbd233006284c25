"""What ``wrong_fields`` means, as a function: re-derive it from a record and its person.

A field is wrong when, after formatting is standardised with the identity toolkit, the record's
value differs from the register person's value:

* ``national_id``: the digits of :func:`~tiemchung.identity.parse_national_id` (spaces, dots
  removed) must equal the register's 12-digit number. A missing or unreadable ID is wrong, and
  so is the old 9-digit CMND even when it is the person's own ``old_id``.
* ``full_name``: :func:`~tiemchung.identity.normalize_name` (NFC, case, spacing, tone-mark
  placement) must equal the register name. A name without diacritics is wrong.
* ``dob``: the ISO form of :func:`~tiemchung.identity.parse_dob` (``1990-03-05``, ``1990-03``
  or ``1990``) must equal the register's, precision included: ``01/01/1990`` or ``1990`` for a
  register ``1990-03-05`` is wrong, and ``01/01/1945`` for a register ``1945`` is wrong too.
  ``dd/mm/yyyy``, ``d/m/yyyy``, ``yyyy-mm-dd`` of the right date are not.
* ``sex``: :func:`~tiemchung.identity.parse_sex` (``Nam``/``Nữ``/``nu``/``M``/``F``, any case).
* ``ward_code``: digits, left-padded to five (``4`` is ``00004``).

The generator records the truth from the errors it made; the tests compare that with this
independent re-derivation, record by record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tiemchung.identity import (
    IdentityError,
    normalize_name,
    parse_dob,
    parse_national_id,
    parse_sex,
)

FIELDS = ("national_id", "full_name", "dob", "sex", "ward_code")
_SEX = {"male": "M", "female": "F"}


def _id(value: Any) -> str | None:
    if value is None or not str(value).strip():
        return None
    try:
        return parse_national_id(str(value)).digits
    except IdentityError:
        return None


def _dob(value: Any) -> str | None:
    if value is None or not str(value).strip():
        return None
    try:
        return parse_dob(str(value)).iso
    except IdentityError:
        return None


def _sex(value: Any) -> str | None:
    if value is None or not str(value).strip():
        return None
    try:
        return _SEX[parse_sex(str(value))]
    except IdentityError:
        return None


def _ward(value: Any) -> str | None:
    text = "" if value is None else str(value).strip()
    return text.zfill(5) if text.isdigit() else None


def _name(value: Any) -> str | None:
    text = "" if value is None else str(value)
    return normalize_name(text) or None


def derive_wrong_fields(record: Mapping[str, Any], person: Mapping[str, Any]) -> list[str]:
    """The fields of ``record`` (canonical record columns, as typed) that differ in substance
    from ``person`` (canonical register columns), in the order of :data:`FIELDS`."""
    wrong = []
    if (
        _id(record.get("national_id")) != _id(person.get("national_id"))
        or _id(person.get("national_id")) is None
    ):
        wrong.append("national_id")
    if _name(record.get("full_name")) != _name(person.get("full_name")):
        wrong.append("full_name")
    if _dob(record.get("dob")) != _dob(person.get("dob")) or _dob(person.get("dob")) is None:
        wrong.append("dob")
    if _sex(record.get("sex")) != _sex(person.get("sex")) or _sex(person.get("sex")) is None:
        wrong.append("sex")
    if _ward(record.get("ward_code")) != _ward(person.get("ward_code")):
        wrong.append("ward_code")
    return wrong
