"""What ``wrong_fields`` and ``incomplete_fields`` mean, as functions: re-derive them from a
record and its person.

A field is wrong when, after formatting is standardised with the identity toolkit, the record's
value differs in substance from the register person's value; it is incomplete when the record
lacks what the register knows (missing or partial). Incomplete fields are not wrong fields:

* ``national_id``: the digits of :func:`~tiemchung.identity.parse_national_id` (spaces, dots
  removed) must equal the register's 12-digit number. A blank ID is incomplete; an unreadable
  one is wrong, and so is the old 9-digit CMND even when it is the person's own ``old_id``.
* ``full_name``: :func:`~tiemchung.identity.normalize_name` (NFC, case, spacing, tone-mark
  placement) must equal the register name. A name without diacritics is wrong; the register's
  name with words left out (a dropped middle name) is incomplete, unless it is also wrong.
* ``dob``: the ISO form of :func:`~tiemchung.identity.parse_dob` (``1990-03-05``, ``1990-03``
  or ``1990``) must equal the register's. A blank date, a date giving fewer parts than the
  register's (``1990`` for ``1990-03-05``) and the 01-01 placeholder of the register's year
  (``01/01/1990``, and ``01/01/1945`` for a register ``1945``) are incomplete; a date
  compatible with the register's and more precise (``1945-06-02`` for ``1945``) is neither.
  ``dd/mm/yyyy``, ``d/m/yyyy``, ``yyyy-mm-dd`` of the right date are formatting.
* ``sex``: :func:`~tiemchung.identity.parse_sex` (``Nam``/``Nữ``/``nu``/``M``/``F``, any case);
  blank is incomplete.
* ``ward_code``: digits, left-padded to five (``4`` is ``00004``); blank is incomplete.

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
from tiemchung.identity.dates import iso_compatible

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


def _blank(value: Any) -> bool:
    return value is None or not str(value).strip()


def _words_kept(record: str, person: str) -> bool:
    """``record``'s words are ``person``'s, in order, with some left out (``Trần Vân`` of
    ``Trần Thị Vân``)."""
    rest = iter(person.lower().split())
    return all(any(w == p for p in rest) for w in record.lower().split())


def derive_fields(
    record: Mapping[str, Any], person: Mapping[str, Any]
) -> tuple[list[str], list[str]]:
    """(wrong, incomplete): the fields of ``record`` (canonical record columns, as typed)
    that differ in substance from ``person`` (canonical register columns), and those the
    record lacks but the register knows, each in the order of :data:`FIELDS`.

    Incomplete, never wrong: a blank value where the register has one; a date of birth that
    agrees with the register's on every part it gives but gives fewer (``1990`` for
    ``1990-03-05``), or the 01-01 placeholder of the register's year (``01/01/1945`` for
    ``1945`` too: the record knows nothing more); a name that is the register's with words
    left out (a dropped middle name). A field both wrong and incomplete (``Tran Van`` for
    ``Trần Thị Vân``) is wrong; a value typed but unreadable is wrong, and so is a value
    where the register has none (nothing to verify it against). Neither: a field blank in
    both, a date compatible with the register's and more precise (``1990-03-05`` for
    ``1990``). These are the rules of reconcile's ``mismatches`` and ``incomplete``
    (``tiemchung.reconcile.decide.field_checks``)."""
    wrong: list[str] = []
    incomplete: list[str] = []

    def put(field: str, is_wrong: bool, is_incomplete: bool) -> None:
        if is_incomplete:
            incomplete.append(field)
        elif is_wrong:
            wrong.append(field)

    def unread(field: str, value: Any) -> bool:
        return value is None and not _blank(record.get(field))

    rid, pid = _id(record.get("national_id")), _id(person.get("national_id"))
    put(
        "national_id",
        rid != pid or unread("national_id", rid),
        _blank(record.get("national_id")) and pid is not None,
    )
    rn, pn = _name(record.get("full_name")), _name(person.get("full_name"))
    put(
        "full_name",
        rn != pn,
        pn is not None and (rn is None or (rn != pn and _words_kept(rn, pn))),
    )
    rd, pd = _dob(record.get("dob")), _dob(person.get("dob"))
    compatible = rd is not None and pd is not None and iso_compatible(rd, pd)
    partial = pd is not None and (
        (rd is None and _blank(record.get("dob")))
        or (
            rd is not None
            and rd != pd
            and rd[:4] == pd[:4]
            and (rd[4:] == "-01-01" or (compatible and len(rd) < len(pd)))
        )
    )
    put("dob", (rd != pd or unread("dob", rd)) and not compatible, partial)
    rs, ps = _sex(record.get("sex")), _sex(person.get("sex"))
    put("sex", rs != ps or unread("sex", rs), _blank(record.get("sex")) and ps is not None)
    rw, pw = _ward(record.get("ward_code")), _ward(person.get("ward_code"))
    put(
        "ward_code",
        rw != pw or unread("ward_code", rw),
        _blank(record.get("ward_code")) and pw is not None,
    )
    return wrong, incomplete


def derive_wrong_fields(record: Mapping[str, Any], person: Mapping[str, Any]) -> list[str]:
    """The fields of ``record`` that differ in substance from ``person``, in the order of
    :data:`FIELDS` (incomplete fields are not among them: :func:`derive_fields`)."""
    return derive_fields(record, person)[0]


def derive_incomplete_fields(record: Mapping[str, Any], person: Mapping[str, Any]) -> list[str]:
    """The fields ``record`` lacks (missing or partial) that ``person`` knows, in the order of
    :data:`FIELDS` (:func:`derive_fields`)."""
    return derive_fields(record, person)[1]
