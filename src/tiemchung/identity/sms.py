"""The text of an SMS: the unaccented variant of Vietnamese, its alphabet and its segments.

Brand-name SMS in Viet Nam is commonly sent without accents: one GSM-7 segment holds 160
characters, while a single accented letter forces the whole message into UCS-2, 70 characters
a segment, so an invitation of 150 characters costs one segment unaccented and three accented.
These pure functions are the one place that counts: the sender encodes with them, and a
template's editor shows the budget (:func:`budget`) so its author sees what a text will cost.

GSM 03.38: the default alphabet (one septet each) and its extension table (escape + one
septet, so two); a concatenated message loses 7 septets a segment to its header (153), UCS-2
loses 3 of its 70 (67). UCS-2 counts UTF-16 code units: a character outside the BMP is two.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Final, Literal

from .letters import FOLD_TABLE

Encoding = Literal["gsm7", "ucs2"]

#: GSM 03.38 default alphabet, in code order (0x00–0x7F); 0x1B is the escape to the extension.
GSM7_BASIC: Final[str] = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: The extension table's characters (each sent as ESC + one septet).
GSM7_EXTENDED: Final[dict[str, int]] = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}
_BASIC_CODE: Final[dict[str, int]] = {ch: i for i, ch in enumerate(GSM7_BASIC) if ch != "\x1b"}

#: (single segment, per segment of a concatenated message), in septets or UTF-16 units.
LIMITS: Final[dict[Encoding, tuple[int, int]]] = {"gsm7": (160, 153), "ucs2": (70, 67)}

# Typographic look-alikes a template pasted from a word processor brings: each has a GSM-7
# twin, and one curly quote would otherwise turn a whole unaccented message into UCS-2.
_PUNCTUATION: Final[dict[int, str]] = {
    ord("‘"): "'",
    ord("’"): "'",
    ord("“"): '"',
    ord("”"): '"',
    ord("–"): "-",
    ord("—"): "-",
    ord("…"): "...",
    ord("\u00a0"): " ",
    ord("\u2009"): " ",
}


def unaccent(text: str) -> str:
    """The unaccented variant of Vietnamese text: tones and marks dropped, đ/Đ → d/D.

    >>> unaccent("Mời ông Nguyễn Văn Đức đến tiêm mũi 2 – ngày 05/12")
    'Moi ong Nguyen Van Duc den tiem mui 2 - ngay 05/12'
    """
    nfc = unicodedata.normalize("NFC", text)
    return nfc.translate(FOLD_TABLE).translate(_PUNCTUATION)


def is_gsm7(text: str) -> bool:
    """Whether every character is in the GSM-7 alphabet or its extension."""
    return all(ch in _BASIC_CODE or ch in GSM7_EXTENDED for ch in text)


def encoding_for(text: str) -> Encoding:
    """GSM-7 when the text allows it, else UCS-2 (an accented Vietnamese text)."""
    return "gsm7" if is_gsm7(text) else "ucs2"


def units(text: str, encoding: Encoding) -> int:
    """The length that counts against the limits: septets (GSM-7, an extension character is
    two) or UTF-16 code units (UCS-2)."""
    if encoding == "gsm7":
        return sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)
    return len(text.encode("utf-16-be")) // 2


def segment_count(text: str, encoding: Encoding | None = None) -> int:
    """How many SMS the text takes (0 for an empty text).

    >>> segment_count("a" * 160), segment_count("a" * 161), segment_count("ạ" * 70)
    (1, 2, 1)
    """
    enc = encoding or encoding_for(text)
    n = units(text, enc)
    single, each = LIMITS[enc]
    if n <= single:
        return 1 if n else 0
    return -(-n // each)


@dataclass(frozen=True)
class Budget:
    """What a text costs and how much room is left in its last segment: a template's editor
    shows it (``'1 SMS, 23 characters left'``)."""

    text: str
    encoding: Encoding
    units: int
    segments: int
    left: int

    def describe(self) -> tuple[str, str]:
        """The budget in Vietnamese and English."""
        alphabet = "GSM-7" if self.encoding == "gsm7" else "UCS-2 (có dấu / accented)"
        return (
            f"{self.segments} tin nhắn, còn {self.left} ký tự; bảng mã {alphabet}",
            f"{self.segments} SMS, {self.left} characters left; alphabet {alphabet}",
        )


def prepare(text: str, *, keep_accents: bool = False) -> str:
    """The text as it will be sent: unaccented unless the installation keeps accents."""
    return unicodedata.normalize("NFC", text) if keep_accents else unaccent(text)


def budget(text: str, *, keep_accents: bool = False) -> Budget:
    """The cost of ``text`` as it will be sent (unaccented by default)."""
    sent = prepare(text, keep_accents=keep_accents)
    enc = encoding_for(sent)
    n = units(sent, enc)
    count = segment_count(sent, enc)
    single, each = LIMITS[enc]
    room = single if count <= 1 else count * each
    return Budget(sent, enc, n, count, room - n)


def encode(text: str, encoding: Encoding) -> bytes:
    """The bytes of an SMPP ``short_message``/``message_payload``: GSM-7 unpacked (one septet
    an octet, data_coding 0) or UCS-2 big-endian (data_coding 8)."""
    if encoding == "ucs2":
        return text.encode("utf-16-be")
    out = bytearray()
    for ch in text:
        if ch in GSM7_EXTENDED:
            out += bytes((0x1B, GSM7_EXTENDED[ch]))
        else:
            out.append(_BASIC_CODE[ch])
    return bytes(out)


_EXT_CHAR: Final[dict[int, str]] = {code: ch for ch, code in GSM7_EXTENDED.items()}


def decode(data: bytes, encoding: Encoding) -> str:
    """The inverse of :func:`encode` (what a handset shows)."""
    if encoding == "ucs2":
        return data.decode("utf-16-be")
    chars: list[str] = []
    escape = False
    for b in data:
        if escape:
            chars.append(_EXT_CHAR.get(b, " "))
            escape = False
        elif b == 0x1B:
            escape = True
        else:
            chars.append(GSM7_BASIC[b & 0x7F])
    return "".join(chars)
