"""Legacy Vietnamese encodings: TCVN3 (ABC), VNI-Windows and UTF-8 mojibake.

Before Unicode, Vietnamese text was typed in 8-bit fonts. Files from that era (and files typed
since on machines still set up that way) reach us as bytes read as Windows-1252/Latin-1 text, so
``Nguyễn`` shows up as ``NguyÔn`` (TCVN3) or ``Nguyeãn`` (VNI). A third kind of damage is UTF-8
read as Windows-1252: ``Nguyá»…n``.

Text forms here are *surface strings*: the legacy bytes decoded as Latin-1 (identical to
cp1252 for every byte these tables use). ``to_tcvn3(s).encode("latin-1")`` gives the file bytes.

Sources of the tables
---------------------
* TCVN3 is the 8-bit table VN3 of TCVN 5712:1993, the one ``.VnTime``/``.VnArial`` (ABC) fonts
  use: lower-case toned letters at 0xB5–0xFE, Ă Â Ê Ô Ơ Ư Đ at 0xA1–0xA7 and ă â ê ô ơ ư đ at
  0xA8–0xAE. VN3 has **no upper-case toned letters**: ABC users switch to the ``.VnTimeH``
  font, which draws the same bytes as capitals. So :func:`to_tcvn3` writes an upper-case toned
  letter with its lower-case byte (the ``.VnTimeH`` convention), and :func:`repair_encoding`
  gives it back in upper case when the rest of its word (or, for a one-letter word, of the text)
  is in capitals; in mixed-case text it comes back lower case (``Ánh`` -> ``ánh``).
  Cross-checked against the xvnkb and viparse tables (which agree on every VN3 byte).
* VNI-Windows writes a toned vowel as an ASCII base letter followed by one accent byte
  (e.g. ``a`` + ``ù`` = á, ``a`` + ``ê`` + ... see :data:`VNI_MARKS`), with upper-case letters
  using the upper-case accent bytes; ơ ư đ and the five toned i's are single bytes, and ỵ/Ỵ are
  the single bytes ``î``/``Î``. Cross-checked against the xvnkb ``vni.h`` table. The viparse
  package's VNI table misses ẳ/Ẳ and its TCVN3 table has no upper case, which is why this
  module carries its own tables (every one of the 134 letters round-trips; see the tests).

Detection
---------
:func:`repair_encoding` scores the text and each possible repair by counting words that are not
Vietnamese (a character outside the Vietnamese alphabet, or not a possible syllable) and only
replaces the text when a repair is strictly better. Clean Unicode Vietnamese and plain ASCII come
back unchanged (the same object). A legacy string whose every byte also reads as clean Vietnamese
(e.g. TCVN3 ``tó`` for ``tú``) carries no evidence and is left alone, and so is a (short) text
that two encodings decode equally well (``ña`` is TCVN3 ``ủa`` and VNI ``đa``).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Final

from .errors import IdentityError, require_text
from .letters import ALPHABET, VOWEL_INFO, compose
from .syllables import is_syllable

# --- TCVN3 (VN3) -------------------------------------------------------------------------------
# (letter, byte) for every lower-case letter, by base vowel row: no tone, huyền, sắc, hỏi, ngã,
# nặng. Bytes with no-tone plain ASCII are omitted.
_TCVN3_ROWS: Final = {
    "a": (None, 0xB5, 0xB8, 0xB6, 0xB7, 0xB9),
    "ă": (0xA8, 0xBB, 0xBE, 0xBC, 0xBD, 0xC6),
    "â": (0xA9, 0xC7, 0xCA, 0xC8, 0xC9, 0xCB),
    "e": (None, 0xCC, 0xD0, 0xCE, 0xCF, 0xD1),
    "ê": (0xAA, 0xD2, 0xD5, 0xD3, 0xD4, 0xD6),
    "i": (None, 0xD7, 0xDD, 0xD8, 0xDC, 0xDE),
    "o": (None, 0xDF, 0xE3, 0xE1, 0xE2, 0xE4),
    "ô": (0xAB, 0xE5, 0xE8, 0xE6, 0xE7, 0xE9),
    "ơ": (0xAC, 0xEA, 0xED, 0xEB, 0xEC, 0xEE),
    "u": (None, 0xEF, 0xF3, 0xF1, 0xF2, 0xF4),
    "ư": (0xAD, 0xF5, 0xF8, 0xF6, 0xF7, 0xF9),
    "y": (None, 0xFA, 0xFD, 0xFB, 0xFC, 0xFE),
}
_TCVN3_UPPER_BASES: Final = {"Ă": 0xA1, "Â": 0xA2, "Ê": 0xA3, "Ô": 0xA4, "Ơ": 0xA5, "Ư": 0xA6,
                             "Đ": 0xA7}


def _tcvn3_tables() -> tuple[dict[str, str], dict[int, str]]:
    enc: dict[str, str] = {"đ": chr(0xAE)}
    for base, row in _TCVN3_ROWS.items():
        for tone, byte in enumerate(row):
            if byte is not None:
                enc[compose(base, tone)] = chr(byte)
    for up, byte in _TCVN3_UPPER_BASES.items():
        enc[up] = chr(byte)
    # Upper-case toned letters: the lower-case byte (.VnTimeH convention).
    for ch, (base, tone) in VOWEL_INFO.items():
        if ch.isupper() and ch not in enc and not ch.isascii():
            enc[ch] = enc[compose(base.lower(), tone)]
    dec = {ord(v): k for k, v in enc.items() if not (k.isupper() and k not in _TCVN3_UPPER_BASES)}
    return enc, dec


_TCVN3_TABLES: Final = _tcvn3_tables()
#: Unicode letter -> TCVN3 surface character.
TCVN3_ENCODE: Final[dict[str, str]] = _TCVN3_TABLES[0]
#: TCVN3 surface character (code point) -> Unicode letter, for ``str.translate``.
TCVN3_DECODE: Final[dict[int, str]] = _TCVN3_TABLES[1]

# --- VNI-Windows -------------------------------------------------------------------------------
#: Accent byte (lower-case form) after a base vowel, by (vowel modifier, tone).
#: Modifier "" = plain vowel, "^" = circumflex, "(" = breve, "+" = horn (ơ/ư are single bytes).
VNI_MARKS: Final = {
    ("", 1): "ø", ("", 2): "ù", ("", 3): "û", ("", 4): "õ", ("", 5): "ï",
    ("^", 0): "â", ("^", 1): "à", ("^", 2): "á", ("^", 3): "å", ("^", 4): "ã", ("^", 5): "ä",
    ("(", 0): "ê", ("(", 1): "è", ("(", 2): "é", ("(", 3): "ú", ("(", 4): "ü", ("(", 5): "ë",
}
_VNI_BASE: Final = {  # base vowel -> (ASCII/VNI base written first, modifier)
    "a": ("a", ""), "ă": ("a", "("), "â": ("a", "^"), "e": ("e", ""), "ê": ("e", "^"),
    "o": ("o", ""), "ô": ("o", "^"), "ơ": ("ô", ""), "u": ("u", ""), "ư": ("ö", ""),
    "y": ("y", ""),
}
_VNI_I: Final = ("i", "ì", "í", "æ", "ó", "ò")  # i row: single bytes, by tone


def _vni_tables() -> dict[str, str]:
    enc: dict[str, str] = {"đ": "ñ", "Đ": "Ñ"}
    for ch, (base, tone) in VOWEL_INFO.items():
        low = base.lower()
        upper = base.isupper()
        if low == "i":
            s = _VNI_I[tone]
        elif low == "y" and tone == 5:
            s = "î"
        else:
            first, mod = _VNI_BASE[low]
            s = first if (mod, tone) == ("", 0) else first + VNI_MARKS[(mod, tone)]
        enc[ch] = s.upper() if upper else s
    return enc


#: Unicode letter -> VNI-Windows surface string (one or two characters).
VNI_ENCODE: Final[dict[str, str]] = _vni_tables()
_VNI_DECODE: Final[dict[str, str]] = {v: k for k, v in VNI_ENCODE.items() if not k.isascii()}
_VNI_RE: Final = re.compile("|".join(
    re.escape(k) for k in sorted(_VNI_DECODE, key=len, reverse=True)))


def _encode(text: str, table: dict[str, str], name: str) -> str:
    text = require_text(text)
    if text.isascii():
        return text
    text = unicodedata.normalize("NFC", text)
    out = []
    for ch in text:
        if ch.isascii():
            out.append(ch)
        else:
            try:
                out.append(table[ch])
            except KeyError:
                raise IdentityError("encode_char", char=ch, encoding=name) from None
    return "".join(out)


def to_tcvn3(text: str) -> str:
    """TCVN3 (ABC, ``.VnTime``) surface text of ``text``; ``.encode("latin-1")`` gives bytes.

    Upper-case toned letters use the lower-case byte (``.VnTimeH`` convention, see module doc).

    >>> to_tcvn3("Đào Văn Hùng")
    '§µo V¨n Hïng'

    Raises :class:`IdentityError`: ``not_text``, ``encode_char`` (a character outside ASCII
    and the Vietnamese alphabet).
    """
    return _encode(text, TCVN3_ENCODE, "TCVN3")


def to_vni(text: str) -> str:
    """VNI-Windows surface text of ``text``; ``.encode("latin-1")`` gives the file bytes.

    >>> to_vni("Nguyễn Thị Thủy")
    'Nguyeãn Thò Thuûy'

    Raises :class:`IdentityError`: ``not_text``, ``encode_char`` (a character outside ASCII
    and the Vietnamese alphabet).
    """
    return _encode(text, VNI_ENCODE, "VNI")


# --- decoders ----------------------------------------------------------------------------------
_TCVN3_LOWER_ONLY: Final = frozenset(
    v for k, v in TCVN3_DECODE.items() if v.islower() and v not in "ăâêôơưđ")


def decode_tcvn3(text: str) -> str:
    """Read TCVN3 surface text as Unicode, restoring capitals in all-caps words (see module).

    Raises :class:`IdentityError` (``not_text``) if ``text`` is not a string.
    """
    text = require_text(text)
    decoded = text.translate(TCVN3_DECODE)
    if decoded == text and not any(ord(c) in TCVN3_DECODE for c in text):
        return text
    # .VnTimeH: a toned letter inside an upper-case word was typed as a capital. A word gives
    # that evidence only with two or more other letters, all capitals ("NGUYÔN"); a shorter
    # word ("Mü" is "Mỹ" or "MỸ") follows the rest of the text. "Other" letters are those the
    # table did not touch (ý decodes to itself, so test the key, not a change), and the
    # capitals the table has (Đ Ă Â Ê Ô Ơ Ư: "§µ" alone is "ĐÀ", as "Mü" alone is "MỸ").
    others = [c for c in text if c.isalpha() and ord(c) not in TCVN3_DECODE]
    others += [TCVN3_DECODE[ord(c)] for c in text
               if ord(c) in TCVN3_DECODE and TCVN3_DECODE[ord(c)].isupper()]
    text_upper = bool(others) and all(c.isupper() for c in others)
    words = decoded.split(" ")
    for i, (w, s) in enumerate(zip(words, text.split(" "), strict=True)):
        if not any(c in _TCVN3_LOWER_ONLY for c in w):
            continue
        rest = [c for c in s if c.isalpha() and ord(c) not in TCVN3_DECODE]
        rest += [TCVN3_DECODE[ord(c)] for c in s
                 if ord(c) in TCVN3_DECODE and TCVN3_DECODE[ord(c)].isupper()]
        if (len(rest) >= 2 and all(c.isupper() for c in rest)) or (len(rest) < 2 and text_upper):
            words[i] = w.upper()
    return " ".join(words)


def decode_vni(text: str) -> str:
    """Read VNI-Windows surface text as Unicode.

    Raises :class:`IdentityError` (``not_text``) if ``text`` is not a string.
    """
    return _VNI_RE.sub(lambda m: _VNI_DECODE[m.group(0)], require_text(text))


# Windows-1252 characters 0x80–0x9F (the bytes Latin-1 reads as control characters).
_CP1252_HIGH: Final = {chr(b).encode("latin-1").decode("cp1252", "ignore") or chr(b): b
                       for b in range(0x80, 0xA0)}


def decode_mojibake(text: str) -> str:
    """Undo UTF-8 that was decoded as Windows-1252/Latin-1 (``Nguyá»…n`` -> ``Nguyễn``).

    Returns ``text`` unchanged unless every non-ASCII character maps back to a byte and the bytes
    are valid UTF-8 — the repair is then unambiguous (no clean Vietnamese text forms valid
    UTF-8 that way: its Latin-1 letters are all lead bytes or outside the continuation range).

    Raises :class:`IdentityError` (``not_text``) if ``text`` is not a string (bytes included:
    decode them first).
    """
    text = require_text(text)
    if text.isascii():
        return text
    buf = bytearray()
    for ch in text:
        o = ord(ch)
        if o < 0x100:
            buf.append(o)
        elif ch in _CP1252_HIGH:
            buf.append(_CP1252_HIGH[ch])
        else:
            return text
    try:
        fixed = buf.decode("utf-8")
    except UnicodeDecodeError:
        return text
    return fixed


# --- detection ---------------------------------------------------------------------------------
# Punctuation trimmed from word edges: ASCII and the General Punctuation block only, because
# Latin-1 symbols (« § ¦ ¹ µ ...) are exactly the TCVN3/VNI bytes the scoring must see.
_WORD_EDGE: Final = re.compile(r"^[\x00-\x40\x5b-\x60\x7b-\x7f\u2000-\u206f]+"
                               r"|[\x00-\x40\x5b-\x60\x7b-\x7f\u2000-\u206f]+$")


@lru_cache(maxsize=1 << 15)
def _word_class(word: str) -> int:
    """0 ASCII/no letters, 1 Vietnamese syllable, 2 Vietnamese letters but not a syllable,
    3 a letter outside the Vietnamese alphabet."""
    core = _WORD_EDGE.sub("", word)
    if not core or core.isascii():
        return 0
    if any(c not in ALPHABET for c in core):
        return 3
    return 1 if all(is_syllable(p) for p in re.split(r"[-'’]", core.lower()) if p) else 2


def _score(text: str) -> tuple[int, int, int]:
    """(badness, non-syllable words, syllables with diacritics) of a text."""
    classes = [_word_class(w) for w in text.split()]
    bad = sum(1 if c == 2 else 2 for c in classes if c >= 2)
    return bad, classes.count(2), classes.count(1)


def _latin1_only(text: str) -> bool:
    return all(ord(c) < 0x100 for c in text)


def repair_encoding(text: str) -> str:
    """Turn TCVN3, VNI-Windows or UTF-8-mojibake text back into Unicode; leave clean text alone.

    Plain ASCII and text that already reads as Vietnamese are returned unchanged. Otherwise each
    repair is tried on the whole text and the best one is kept if it reads better than the input
    (see the module doc for the scoring). The result is NFC when a repair was made.

    >>> repair_encoding("NguyÔn V¨n Hïng"), repair_encoding("Nguyeãn Vaên Huøng")
    ('Nguyễn Văn Hùng', 'Nguyễn Văn Hùng')
    >>> repair_encoding("Nguyá»…n VÄƒn HÃ¹ng"), repair_encoding("Nguyen Van A")
    ('Nguyễn Văn Hùng', 'Nguyen Van A')

    Raises :class:`IdentityError` (``not_text``) if ``text`` is not a string.
    """
    text = require_text(text)
    if text.isascii():
        return text
    base = _score(unicodedata.normalize("NFC", text))[0]
    if base == 0:
        return text
    candidates: list[str] = []
    fixed = decode_mojibake(text)
    if fixed != text:
        candidates.append(unicodedata.normalize("NFC", fixed))
    if _latin1_only(text):  # legacy 8-bit text never has code points above U+00FF
        candidates.append(decode_vni(text))
        candidates.append(decode_tcvn3(text))
    best, best_score, tied = text, base, False
    for cand in candidates:
        bad, non_syllables, syllables = _score(cand)
        # Better than the input, no foreign letters left, and mostly real syllables: a
        # decoding of foreign text ("François" -> "Franỗois") reads as gibberish instead.
        if bad == non_syllables and syllables >= max(1, non_syllables):
            if bad < best_score:
                best, best_score, tied = cand, bad, False
            elif bad == best_score and cand != best and best is not text:
                tied = True
    # Two encodings read equally well ("ña" is TCVN3 "ủa" and VNI "đa"): do not guess.
    return text if tied else best


def detect_encoding(text: str) -> str:
    """Name the damage :func:`repair_encoding` would undo: ``"unicode"`` (nothing to do),
    ``"mojibake"``, ``"vni"`` or ``"tcvn3"``.

    >>> detect_encoding("§µo Thanh"), detect_encoding("Đào Thanh")
    ('tcvn3', 'unicode')

    Raises :class:`IdentityError` (``not_text``) if ``text`` is not a string.
    """
    text = require_text(text)
    fixed = repair_encoding(text)
    if fixed is text:
        return "unicode"
    for name, fn in (("mojibake", decode_mojibake), ("vni", decode_vni),
                     ("tcvn3", decode_tcvn3)):
        if unicodedata.normalize("NFC", fn(text)) == fixed:
            return name
    return "unicode"  # pragma: no cover - repair_encoding only returns these candidates
