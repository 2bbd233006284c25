"""How people typed a vaccine's name in their spreadsheets, and the catalogue product it means.

The one home of the vaccine synonyms (issue 17 point 3): a site wrote "Sinopharm", "Vero Cell",
"AZ", "Astra", "Pfizer-BioNTech", "Comirnaty", "Spikevax", "Sputnik"... for the products of
``tiemchung.vaccines``. A name is compared by its :func:`vaccine_key` (no case, no diacritics,
no spaces or punctuation), so "Vero-cell", "VERO CELL" and "vêrô cell" are one synonym. To add a
synonym, add its line to :data:`VACCINE_SYNONYMS` (or, for one import, a ``[vaccines]`` table in
the ``--map`` file) and import the file again: rows already stored are skipped, the refused
ones are stored this time.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

#: typed name (any case, spacing, diacritics) -> product code of ``tiemchung.vaccines``
VACCINE_SYNONYMS: dict[str, str] = {
    "AstraZeneca": "AZ",
    "Astra": "AZ",
    "Astra Zeneca": "AZ",
    "AZD1222": "AZ",
    "Vaxzevria": "AZ",
    "Covishield": "AZ",
    "Pfizer": "PFIZER",
    "Pfizer-BioNTech": "PFIZER",
    "BioNTech": "PFIZER",
    "Comirnaty": "PFIZER",
    "Moderna": "MODERNA",
    "Spikevax": "MODERNA",
    "Sinopharm": "VEROCELL",
    "Vero Cell": "VEROCELL",
    "Sinopharm Vero Cell": "VEROCELL",
    "BBIBP-CorV": "VEROCELL",
    "Sputnik": "SPUTNIKV",
    "Sputnik V": "SPUTNIKV",
    "Gam-COVID-Vac": "SPUTNIKV",
    "Abdala": "ABDALA",
    "Hayat-Vax": "HAYATVAX",
    "Hayat": "HAYATVAX",
}

_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def vaccine_key(name: str) -> str:
    """The comparable form of a typed name: ``"Pfizer - BioNTech"`` -> ``"pfizerbiontech"``."""
    text = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return _NOT_ALNUM.sub("", text)


def product_names(
    catalogue: Iterable[tuple[str, str]], extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Every key a row's vaccine may have -> product code: the catalogue's codes and names
    (``(code, name)`` pairs, as stored), then the synonyms of products the catalogue holds,
    then ``extra`` (one import's own). A synonym of a product not in the catalogue is left
    out: the row is refused as an unknown product rather than stored against nothing."""
    codes: dict[str, str] = {}
    for code, name in catalogue:
        codes[vaccine_key(code)] = code
        codes.setdefault(vaccine_key(name), code)
    known = set(codes.values())
    for typed, code in [*VACCINE_SYNONYMS.items(), *(extra or {}).items()]:
        if code in known:
            codes[vaccine_key(typed)] = code
    return codes
