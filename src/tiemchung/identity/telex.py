"""Repair of Telex and VNI *typing residue*: text typed with the input method switched off.

With the Vietnamese keyboard off, the keystrokes land in the text as they were typed:

* Telex: ``aa aw ee oo ow uw dd`` for â ă ê ô ơ ư đ, and ``s f r x j`` for the tones sắc,
  huyền, hỏi, ngã, nặng (``Nguyeenx Vawn Hufng`` = Nguyễn Văn Hùng);
* VNI: digits after the letter, ``6`` circumflex, ``7`` horn, ``8`` breve, ``9`` đ and
  ``1 2 3 4 5`` for sắc, huyền, hỏi, ngã, nặng (``Nguye6n4`` = Nguyễn).

:func:`repair_typing` only rewrites a text when every word is already a Vietnamese syllable or
decodes into one, and at least one word needed decoding; so ``Nguyen Van A`` and foreign names
(``John Smith``) come back unchanged.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from .errors import require_text
from .letters import VOWEL_INFO, compose
from .syllables import is_syllable, place_tone

_TELEX_TONES: Final = {"f": 1, "s": 2, "r": 3, "x": 4, "j": 5, "z": 0}
_VNI_TONES: Final = {"2": 1, "1": 2, "3": 3, "4": 4, "5": 5, "0": 0}
_PAIRS: Final = (("uwow", "ươ"), ("uow", "ươ"), ("aa", "â"), ("aw", "ă"), ("ee", "ê"),
                 ("oo", "ô"), ("ow", "ơ"), ("uw", "ư"), ("dd", "đ"))
_VOWELS: Final = frozenset("aăâeêioôơuưy")
_TOKEN: Final = re.compile(r"^([^\w]*)([A-Za-z0-9]+)([^\w]*)$")


def _apply_tone(word: str, tone: int) -> str | None:
    if tone == 0:
        return word
    for i, ch in enumerate(word):
        if ch in _VOWELS:
            return place_tone(word[:i] + compose(ch, tone) + word[i + 1:])
    return None


def _horn(word: str) -> str | None:
    """Apply a free-standing ``w`` (Telex) / ``7`` (VNI) to the vowel group."""
    if "uo" in word:
        return word.replace("uo", "ươ", 1)
    for src, dst in (("o", "ơ"), ("u", "ư")):
        idx = word.rfind(src)
        if idx >= 0:
            return word[:idx] + dst + word[idx + 1:]
    return None


def _telex(low: str) -> str | None:
    tone, seen_vowel, keep = None, False, []
    for ch in low:
        if seen_vowel and ch in _TELEX_TONES:
            tone = _TELEX_TONES[ch]
            continue
        if ch in "aeiouy":
            seen_vowel = True
        keep.append(ch)
    word = "".join(keep)
    for src, dst in _PAIRS:
        word = word.replace(src, dst)
    while "w" in word:  # free w: "nguoiw" -> người, "tuw" handled above
        idx = word.index("w")
        fixed = _horn(word[:idx])
        if fixed is None:
            if idx and word[idx - 1] == "a":
                fixed = word[:idx - 1] + "ă"
            else:
                return None
        word = fixed + word[idx + 1:]
    return _apply_tone(word, tone) if tone is not None else word


def _vni(low: str) -> str | None:
    word, tone = "", None
    for ch in low:
        if ch in _VNI_TONES:
            tone = _VNI_TONES[ch]
        elif ch == "6":
            idx = max(word.rfind("a"), word.rfind("e"), word.rfind("o"))
            if idx < 0:
                return None
            word = word[:idx] + {"a": "â", "e": "ê", "o": "ô"}[word[idx]] + word[idx + 1:]
        elif ch == "7":
            fixed = _horn(word)
            if fixed is None:
                return None
            word = fixed
        elif ch == "8":
            idx = word.rfind("a")
            if idx < 0:
                return None
            word = word[:idx] + "ă" + word[idx + 1:]
        elif ch == "9":
            idx = word.find("d")
            if idx < 0:
                return None
            word = word[:idx] + "đ" + word[idx + 1:]
        else:
            word += ch
    return _apply_tone(word, tone) if tone is not None else word


def _recase(decoded: str, original: str) -> str:
    if original.isupper():
        return decoded.upper()
    if original[:1].isupper():
        return decoded[:1].upper() + decoded[1:]
    return decoded


def decode_typing(word: str) -> str | None:
    """Decode one ASCII word typed in Telex or VNI, or ``None`` if it is not such residue.

    A word that already is a syllable (``Nguyen``, ``Hoa``) is not residue.

    >>> decode_typing("Nguyeenx"), decode_typing("Nguye6n4"), decode_typing("Nguyen")
    ('Nguyễn', 'Nguyễn', None)

    Raises :class:`~tiemchung.identity.IdentityError` (``not_text``) for a non-string.
    """
    return _decode_typing(require_text(word))


@lru_cache(maxsize=1 << 14)
def _decode_typing(word: str) -> str | None:
    low = word.lower()
    if not low.isascii() or is_syllable(low):
        return None
    has_digit = any(c.isdigit() for c in low)
    if has_digit:
        if not low[0].isalpha():
            return None
        out = _vni(low)
    else:
        out = _telex(low)
    if out is None or out == low or not is_syllable(out):
        return None
    if any(ch not in VOWEL_INFO and not ch.isascii() and ch != "đ" for ch in out):
        return None
    return _recase(out, word)


def repair_typing(text: str) -> str:
    """Repair Telex/VNI typing residue in a name or short text; leave anything else alone.

    >>> repair_typing("Nguyeenx Vawn Hufng"), repair_typing("Tra62n Thi5 Lan")
    ('Nguyễn Văn Hùng', 'Trần Thị Lan')
    >>> repair_typing("Nguyen Van A"), repair_typing("John Smith")
    ('Nguyen Van A', 'John Smith')

    Raises :class:`~tiemchung.identity.IdentityError` (``not_text``) for a non-string.
    """
    text = require_text(text)
    tokens = text.split(" ")
    changed = False
    out = []
    for tok in tokens:
        m = _TOKEN.match(tok)
        if m is None:  # empty, or non-ASCII: keep if it reads as Vietnamese
            core = tok.strip(".,;:!?()\"'")
            if (core and any(c.isalpha() for c in core)
                    and not all(is_syllable(p) for p in core.lower().split("-") if p)):
                return text
            out.append(tok)
            continue
        pre, word, post = m.groups()
        if word.isdigit() or len(word) == 1 or is_syllable(word.lower()):
            out.append(tok)
            continue
        dec = _decode_typing(word)
        if dec is None:
            return text
        out.append(pre + dec + post)
        changed = True
    return " ".join(out) if changed else text
