"""The Vietnamese alphabet as data: every letter, its base vowel, its tone, and fold tables.

Everything else (name normalisation, legacy encodings, Telex repair, the DuckDB macros) is
generated from these tables, so Python and SQL cannot drift apart.

Vietnamese writes a syllable with at most one *tone mark* (huyền, sắc, hỏi, ngã, nặng) on top of
one of twelve *base vowels* (a ă â e ê i o ô ơ u ư y); with đ that gives 67 lower-case letters
outside ASCII and 67 upper-case ones: :data:`VIETNAMESE_LETTERS` holds those 134.

>>> compose("ê", TONE_TILDE)
'ễ'
>>> decompose("Ự")
('Ư', 5)
>>> "Nguyễn Đức".translate(FOLD_TABLE)
'Nguyen Duc'
"""

from __future__ import annotations

import unicodedata
from functools import cache
from typing import Final

TONE_NONE: Final = 0
TONE_GRAVE: Final = 1  # huyền  (Telex f, VNI 2)
TONE_ACUTE: Final = 2  # sắc    (Telex s, VNI 1)
TONE_HOOK: Final = 3  # hỏi    (Telex r, VNI 3)
TONE_TILDE: Final = 4  # ngã    (Telex x, VNI 4)
TONE_DOT: Final = 5  # nặng   (Telex j, VNI 5)

#: Combining mark of each tone, indexed by the tone constants above.
TONE_MARKS: Final = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")

#: The twelve base vowels, lower case.
BASE_VOWELS: Final = "aăâeêioôơuưy"

#: Base vowel -> plain ASCII letter.
VOWEL_ASCII: Final = {"a": "a", "ă": "a", "â": "a", "e": "e", "ê": "e", "i": "i", "o": "o",
                      "ô": "o", "ơ": "o", "u": "u", "ư": "u", "y": "y"}


def _build() -> tuple[dict[tuple[str, int], str], dict[str, tuple[str, int]]]:
    toned: dict[tuple[str, int], str] = {}
    info: dict[str, tuple[str, int]] = {}
    for base in BASE_VOWELS:
        for case_base in (base, base.upper()):
            for tone, mark in enumerate(TONE_MARKS):
                ch = unicodedata.normalize("NFC", case_base + mark)
                assert len(ch) == 1, (case_base, tone)
                toned[(case_base, tone)] = ch
                info[ch] = (case_base, tone)
    return toned, info


_TONED, _INFO = _build()

#: Every vowel letter (both cases, all tones) -> (base vowel in the same case, tone).
VOWEL_INFO: Final[dict[str, tuple[str, int]]] = _INFO

#: The 134 Vietnamese letters outside ASCII (67 lower case then 67 upper case), NFC.
VIETNAMESE_LETTERS: Final[str] = "".join(
    [c for c in _INFO if c.islower() and not c.isascii()] + ["đ"]
    + [c for c in _INFO if c.isupper() and not c.isascii()] + ["Đ"]
)

#: Letters that may appear in Vietnamese words, ASCII included (used to spot foreign text).
ALPHABET: Final[frozenset[str]] = frozenset(
    VIETNAMESE_LETTERS + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def compose(base: str, tone: int) -> str:
    """The letter with base vowel ``base`` (either case) carrying ``tone``."""
    return _TONED[(base, tone)]


def decompose(ch: str) -> tuple[str, int]:
    """``(base vowel, tone)`` of a vowel letter; raises ``KeyError`` for anything else."""
    return _INFO[ch]


def _fold_map() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    # Vietnamese letters first: ơ/ư/đ have no ASCII base in Unicode decomposition for đ.
    for ch, (base, _tone) in _INFO.items():
        plain = VOWEL_ASCII[base.lower()]
        table[ord(ch)] = plain.upper() if base.isupper() else plain
    table[ord("đ")] = "d"
    table[ord("Đ")] = "D"
    table[ord("Ð")] = "D"  # U+00D0 ETH: a common look-alike typed for Đ
    table[ord("ð")] = "d"  # and its lower case, which normalize_name produces from it
    # Other precomposed Latin letters whose decomposition is an ASCII letter + marks.
    for cp in [*range(0x00C0, 0x0250), *range(0x1E00, 0x1F00)]:
        if cp in table:
            continue
        d = unicodedata.normalize("NFD", chr(cp))
        if (len(d) > 1 and d[0].isascii() and d[0].isalpha()
                and all(unicodedata.combining(c) for c in d[1:])):
            table[cp] = d[0]
    # Stray combining marks (decomposed input) are dropped.
    for cp in range(0x0300, 0x0370):
        table[cp] = None
    return table


#: ``str.translate`` table: any Latin letter with diacritics -> its ASCII letter (case kept),
#: đ -> d, and combining marks U+0300–U+036F deleted, so NFC and NFD input fold alike.
FOLD_TABLE: Final[dict[int, str | None]] = _fold_map()

#: Same table without the deletions (for SQL ``translate``, which deletes by position).
FOLD_PAIRS: Final[tuple[tuple[str, str], ...]] = tuple(
    (chr(k), v) for k, v in FOLD_TABLE.items() if v is not None)
#: Characters the fold deletes.
FOLD_DELETE: Final[str] = "".join(chr(k) for k, v in FOLD_TABLE.items() if v is None)


def _strip_tone_map() -> dict[int, str]:
    return {ord(ch): base for ch, (base, tone) in _INFO.items() if tone}


#: ``str.translate`` table removing the tone mark but keeping the vowel quality (ễ -> ê).
STRIP_TONE_TABLE: Final[dict[int, str]] = _strip_tone_map()


@cache
def whitespace() -> str:
    """Every character ``str.isspace`` accepts (what ``str.split()`` splits on), for SQL parity.

    Computed on first use (it scans all of Unicode once, ~0.1 s).
    """
    return "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
