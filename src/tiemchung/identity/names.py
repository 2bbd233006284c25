"""Personal names: display form, matching key, and surname / middle / given split.

* :func:`normalize_name` gives the *display* form: NFC, single spaces, each syllable
  capitalised, tone marks in one place (old style: ``Hòa``, ``Thủy``, ``Khỏe``).
* :func:`fold_name` gives the *matching key*: no diacritics, đ → d, lower case, single spaces.
  ``fold_name(normalize_name(x)) == fold_name(x)`` for every text.
* :func:`split_name` splits a name into surname, middle name(s) and given name.

Names repeat a lot in population data (a few thousand syllables cover nearly every name), so the
syllable-level work is cached and a name costs one split, a few dictionary hits and one join.

Encoding repair is a separate step (:func:`tiemchung.identity.repair_encoding`), because it
needs to see the whole field and is only worth running on text from legacy sources.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Final

from .errors import IdentityError, require_text
from .letters import FOLD_TABLE
from .syllables import place_tone

_SEPARATORS: Final = re.compile(r"([-'’])")

#: Two-syllable surnames kept together by :func:`split_name` (royal and Sino-Vietnamese
#: double surnames). Matched on the folded form.
COMPOUND_SURNAMES: Final[frozenset[str]] = frozenset({
    "ton that", "ton nu", "nguyen phuc", "nguyen phuoc", "au duong", "hoang phu", "tu ma",
    "thuong quan", "cong tang ton nu", "cong huyen ton nu",
})


def _cap(part: str) -> str:
    if not part:
        return part
    first = part[0].upper()
    # Keep letters whose capital does not lower back to them ("ß" -> "SS", "µ" -> "Μ" -> "μ"):
    # capitalising must never change the matching key.
    if len(first) != 1 or first.lower() != part[0]:
        return part
    return first + part[1:]


@lru_cache(maxsize=1 << 16)
def _normalize_token(token: str) -> str:
    low = token.lower()
    if len(low) != len(token):  # e.g. "İ" lowers to two code points: leave the token alone
        low = "".join(c.lower() if len(c.lower()) == 1 else c for c in token)
    if "-" in low or "'" in low or "’" in low:
        parts = _SEPARATORS.split(low)
        return "".join(p if i % 2 else _cap(place_tone(p)) for i, p in enumerate(parts))
    return _cap(place_tone(low))


def normalize_name(text: str) -> str:
    """Display form of a personal name.

    Unicode NFC, runs of whitespace collapsed to one space and trimmed, every syllable in
    lower case with a capital first letter (``Đ`` included; after ``-`` and ``'`` too, as in
    ``H'Hen``), and the tone mark moved to the conventional vowel (old style, see
    :mod:`tiemchung.identity.syllables`) so that ``Hoà``/``Hòa`` and ``Thuỷ``/``Thủy`` become
    the same string. Non-letters are kept. Legacy encodings are *not* repaired here: run
    :func:`~tiemchung.identity.repair_encoding` first on text from legacy sources.

    >>> normalize_name("  nguyễn   THỊ  thuỷ ")
    'Nguyễn Thị Thủy'
    >>> normalize_name("LÊ HOÀ")
    'Lê Hòa'

    Raises :class:`IdentityError` (``not_text``) if ``text`` is not a string.
    """
    text = require_text(text)
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return " ".join([_normalize_token(t) for t in text.split()])


def fold_name(text: str) -> str:
    """Matching key of a name: diacritics removed, đ → d, lower case, single spaces.

    Works the same on NFC and decomposed (NFD) input; other accented Latin letters fold to
    their ASCII letter too.

    >>> fold_name("Nguyễn  Đức Thuỷ")
    'nguyen duc thuy'

    Raises :class:`IdentityError` (``not_text``) if ``text`` is not a string.
    """
    text = require_text(text)
    if text.isascii():
        return " ".join(text.lower().split())
    if not unicodedata.is_normalized("NFC", text):  # same canonical form as normalize_name
        text = unicodedata.normalize("NFC", text)
    return " ".join(text.translate(FOLD_TABLE).lower().split())


def split_name(text: str) -> tuple[str, str, str]:
    """Split a name into ``(surname, middle, given)``, each in display form.

    Vietnamese order is surname first and given name last; everything between is the middle
    name (possibly several words, possibly empty). A few two-syllable surnames
    (:data:`COMPOUND_SURNAMES`, e.g. ``Tôn Thất``, ``Âu Dương``) stay together. A one-word
    name is taken as a given name only.

    >>> split_name("nguyễn thị minh khai")
    ('Nguyễn', 'Thị Minh', 'Khai')
    >>> split_name("Tôn Thất Thuyết")
    ('Tôn Thất', '', 'Thuyết')

    Raises :class:`IdentityError`: ``not_text``, ``name_empty`` (nothing but spaces).
    """
    words = normalize_name(text).split(" ")
    if words == [""]:
        raise IdentityError("name_empty")
    if len(words) == 1:
        return "", "", words[0]
    folded = [fold_name(w) for w in words]
    cut = 1
    for size in (4, 2):  # longest compound first
        if len(words) > size and " ".join(folded[:size]) in COMPOUND_SURNAMES:
            cut = size
            break
    return " ".join(words[:cut]), " ".join(words[cut:-1]), words[-1]
