"""The QR code printed on chip ID cards (CCCD gắn chip, thẻ căn cước).

The payload is one line of ``|``-separated fields::

    ID|old ID|full name|DOB ddmmyyyy|Nam or Nữ|permanent address|issue date ddmmyyyy

USB and phone scanners type it as keystrokes, so it often ends with CR/LF, fields may carry
spaces, the old ID is empty for people who never had a CMND, and newer cards append fields.
A payload that went through a Windows-1252 text path arrives as mojibake (``Nguyá»…n``); that is
repaired when the repair is unambiguous (the whole payload maps back to valid UTF-8).
"""

from __future__ import annotations

import datetime as _dt
import unicodedata
from dataclasses import dataclass
from typing import Final

from .encodings import decode_mojibake
from .errors import IdentityError, require_text
from .ids import NationalId, Sex, id_conflicts, parse_national_id
from .names import fold_name, normalize_name

_SEXES: Final[dict[str, Sex]] = {"nam": "male", "nu": "female"}
_WHAT: Final = {"birth_year": ("năm sinh", "birth year"), "century": ("năm sinh", "birth year"),
                "sex": ("giới tính", "sex")}


@dataclass(frozen=True, slots=True)
class CitizenCard:
    """The fields of a chip-card QR payload, validated.

    ``full_name`` and ``address`` are as printed (NFC, outer spaces trimmed);
    :attr:`name` gives the normalised display form.
    """

    national_id: NationalId
    old_id: str | None
    full_name: str
    dob: _dt.date
    sex: Sex
    address: str
    issue_date: _dt.date
    extra: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """:func:`~tiemchung.identity.normalize_name` of :attr:`full_name`."""
        return normalize_name(self.full_name)


def _date(value: str, code: str) -> _dt.date:
    if len(value) != 8 or not (value.isdigit() and value.isascii()):
        raise IdentityError(code, value=value)
    try:
        return _dt.date(int(value[4:]), int(value[2:4]), int(value[:2]))
    except ValueError:
        raise IdentityError(code, value=value) from None


def _text(payload: str | bytes) -> str:
    if isinstance(payload, bytes | bytearray):
        try:
            return bytes(payload).decode("utf-8")
        except UnicodeDecodeError:
            raise IdentityError("qr_not_utf8") from None
    text = require_text(payload)
    if "\ufffd" in text:  # a decoder already replaced invalid bytes
        raise IdentityError("qr_not_utf8")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from a lenient decoder
        raise IdentityError("qr_not_utf8") from None
    return text


def parse_cccd_qr(payload: str | bytes) -> CitizenCard:
    """Parse and check a chip-card QR payload.

    Rejected: a payload that is not UTF-8, fewer than 7 fields, an ID that is not 12 digits,
    an invalid old ID, an empty name, a sex other than Nam/Nữ, an impossible date, an issue
    date before the birth date, and an ID whose century, birth-year or sex digits contradict
    the date of birth or sex.

    >>> card = parse_cccd_qr("001190012345||Trần Thị Bích|05031990|Nữ|Số 1 Phố Giả, Hà Nội|"
    ...                      "20042021\\r\\n")
    >>> card.national_id.digits, card.old_id, card.dob.isoformat(), card.sex
    ('001190012345', None, '1990-03-05', 'female')

    Raises :class:`IdentityError`: ``not_text`` (neither text nor bytes), ``qr_*``
    (``qr_not_utf8``, ``qr_field_count``, ``qr_id_kind``, ``qr_old_id``, ``qr_name_empty``,
    ``qr_dob``, ``qr_sex``, ``qr_issue_date``, ``qr_issue_before_birth``,
    ``qr_id_conflict``) and the ``id_*`` codes of :func:`parse_national_id` for the ID.
    """
    text = _text(payload)
    fixed = decode_mojibake(text)
    if fixed != text:
        text = fixed
    fields = [f.strip() for f in text.strip().split("|")]
    if len(fields) < 7:
        raise IdentityError("qr_field_count", count=len(fields))
    nid = parse_national_id(fields[0])
    if nid.kind != "cccd":
        raise IdentityError("qr_id_kind")
    old_id: str | None = None
    if fields[1]:
        try:
            old_id = parse_national_id(fields[1]).digits
        except IdentityError:
            raise IdentityError("qr_old_id") from None
    name = fields[2]
    if not name:
        raise IdentityError("qr_name_empty")
    dob = _date(fields[3], "qr_dob")
    sex = _SEXES.get(fold_name(fields[4]))
    if sex is None:
        raise IdentityError("qr_sex")
    issue = _date(fields[6], "qr_issue_date")
    if issue < dob:
        raise IdentityError("qr_issue_before_birth")
    for conflict in id_conflicts(nid, dob, sex):
        if conflict.code in _WHAT:
            vi, en = _WHAT[conflict.code]
            raise IdentityError("qr_id_conflict", what_vi=vi, what_en=en)
    extra = tuple(fields[7:])
    while extra and not extra[-1]:
        extra = extra[:-1]
    return CitizenCard(
        national_id=nid, old_id=old_id, full_name=unicodedata.normalize("NFC", name),
        dob=dob, sex=sex, address=unicodedata.normalize("NFC", fields[5]), issue_date=issue,
        extra=extra)
