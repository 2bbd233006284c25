"""Vietnamese phone numbers to their national form.

Mobile numbers are 10 digits since the 2018 renumbering (Thông tư 22/2014/TT-BTTTT, carried
out September–November 2018), which moved the 11-digit ``01xx`` mobile prefixes to 3-digit
ones: :data:`OLD_MOBILE_PREFIXES`. Fixed lines have been 11 digits (``02x`` area codes) since the
2017 area-code change and come back in that 11-digit national form.
"""

from __future__ import annotations

from typing import Final

from .errors import IdentityError, require_text

#: 2018 change of 11-digit mobile prefixes to 10-digit ones (Viettel 016x, MobiFone and
#: VinaPhone 012x, Vietnamobile 0186/0188, Gmobile 0199).
OLD_MOBILE_PREFIXES: Final[dict[str, str]] = {
    "0162": "032", "0163": "033", "0164": "034", "0165": "035", "0166": "036", "0167": "037",
    "0168": "038", "0169": "039",
    "0120": "070", "0121": "079", "0122": "077", "0126": "076", "0128": "078",
    "0123": "083", "0124": "084", "0125": "085", "0127": "081", "0129": "082",
    "0186": "056", "0188": "058",
    "0199": "059",
}
#: First two digits of a valid 10-digit mobile number.
MOBILE_STARTS: Final = ("03", "05", "07", "08", "09")
#: Characters tolerated inside a phone number.
PHONE_SEPARATORS: Final = " \t\r\n\u00a0.-()/\u2010\u2011\u2012\u2013"
_STRIP: Final = str.maketrans("", "", PHONE_SEPARATORS)


def normalize_phone(text: str) -> str:
    """National form of a Vietnamese phone number: ``0`` + 9 digits for mobiles.

    Accepts ``+84``, ``84`` and ``0084`` prefixes, spaces, dots, dashes and brackets, a leading
    zero lost in a spreadsheet (``912345678``), and the pre-2018 11-digit mobile numbers, which
    are converted (``0168 xxx xxxx`` -> ``038 xxx xxxx``). Fixed lines come back as 11 digits.

    >>> normalize_phone("+84 912.345.678"), normalize_phone("01682345678")
    ('0912345678', '0382345678')

    Raises :class:`IdentityError`: ``not_text``, ``phone_empty``, ``phone_bad_char``,
    ``phone_foreign``, ``phone_length``, ``phone_prefix``.
    """
    s = require_text(text).translate(_STRIP)
    if not s:
        raise IdentityError("phone_empty")
    plus = s[0] == "+"
    if plus:
        s = s[1:]
    if not (s.isdigit() and s.isascii()):
        bad = next((c for c in s if not ("0" <= c <= "9")), "+")
        raise IdentityError("phone_bad_char", char=bad)
    if s.startswith("00") and not plus:
        s, plus = s[2:], True
    n = len(s)
    if plus:
        if not s.startswith("84"):
            raise IdentityError("phone_foreign", cc=s[:3])
        s = "0" + s[2:]
    elif s.startswith("84") and n in (11, 12):
        s = "0" + s[2:]
    elif s[0] != "0" and n in (9, 10):
        s = "0" + s
    n = len(s)
    if n == 10:
        if s[:2] in MOBILE_STARTS:
            return s
        raise IdentityError("phone_prefix", prefix=s[:3])
    if n == 11:
        new = OLD_MOBILE_PREFIXES.get(s[:4])
        if new is not None:
            return new + s[4:]
        if s[:2] == "02":
            return s
        raise IdentityError("phone_prefix", prefix=s[:4])
    raise IdentityError("phone_length", length=n)
