"""Names on a certificate: ``fn``/``gn`` as written, ``fnt``/``gnt`` per ICAO Doc 9303 Part 3.

Vietnamese order is surname first: the surname is ``fn`` and the middle and given names are
``gn`` (``Nguyễn Văn An`` → ``Nguyễn`` / ``Văn An``), split by the identity toolkit. The
machine-readable forms keep only ``A–Z`` and the filler ``<``: diacritics dropped (``Đ`` → ``D``),
upper case, spaces and hyphens → ``<``, apostrophes and other marks left out.
"""

from __future__ import annotations

import re
import unicodedata

from tiemchung.identity import fold_name, split_name

#: ICAO 9303 Part 3 transliterations that are more than "drop the accent".
_ICAO_MULTI = {
    "Ä": "AE", "Æ": "AE", "Å": "AA", "Ö": "OE", "Ø": "OE", "Ü": "UE", "ß": "SS", "Þ": "TH",
    "Ĳ": "IJ", "Œ": "OE", "Ð": "D", "Đ": "D", "Ł": "L", "Ħ": "H", "Ŧ": "T", "Ŋ": "N",
}  # fmt: skip
_NOT_MRZ = re.compile(r"[^A-Z<]")
_FILLERS = re.compile(r"<+")
MAX_LEN = 80


def icao(text: str) -> str:
    """ICAO 9303 machine-readable form: ``Nguyễn Văn`` → ``NGUYEN<VAN``, ``Đặng`` → ``DANG``."""
    upper = unicodedata.normalize("NFC", text).upper()
    mapped = "".join(_ICAO_MULTI.get(c, c) for c in upper)
    folded = fold_name(mapped).upper()  # Vietnamese letters (and other accents) to ASCII
    folded = unicodedata.normalize("NFKD", folded)
    folded = folded.replace("'", "").replace("’", "")
    folded = re.sub(r"[\s\-]+", "<", folded.strip())
    out = _FILLERS.sub("<", _NOT_MRZ.sub("", folded)).strip("<")
    return out[:MAX_LEN]


def dcc_name(full_name: str) -> dict[str, str]:
    """The DCC ``nam`` object for a register name (a one-word name has only ``gn``/``gnt``)."""
    surname, middle, given = split_name(full_name)
    forenames = " ".join(p for p in (middle, given) if p)
    nam: dict[str, str] = {}
    if surname:
        nam["fn"] = surname[:MAX_LEN]
        nam["fnt"] = icao(surname)
    if forenames:
        nam["gn"] = forenames[:MAX_LEN]
        nam["gnt"] = icao(forenames)
    return nam
