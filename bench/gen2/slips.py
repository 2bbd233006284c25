"""Error processes on text: keyboard slips, letter slips, OCR confusions, word order.

Each function takes the correct value and a ``random.Random`` and returns the damaged value,
or ``None`` when the process cannot apply to this value (a name with no marked letter has no
Telex slip to make). Each has an ``*_applies`` predicate so the generator can count how often a
process *could* have happened, which is what its rate is a share of.

None of this shares code with ``tiemchung.synth``: the letters are taken apart with
``unicodedata`` (NFD), not with the identity toolkit's letter tables, so a bug in either cannot
hide in both.
"""

from __future__ import annotations

import random
import unicodedata
from typing import Final

#: Tone marks (combining) -> (Telex key, VNI digit).
TONES: Final = {
    "\u0300": ("f", "2"),
    "\u0301": ("s", "1"),
    "\u0309": ("r", "3"),
    "\u0303": ("x", "4"),
    "\u0323": ("j", "5"),
}
#: Vowel modifiers (combining) -> VNI digit; the Telex key depends on the letter.
MODIFIERS: Final = {"\u0302": "6", "\u031b": "7", "\u0306": "8"}
_TELEX_MOD: Final = {
    ("a", "\u0302"): "aa",
    ("e", "\u0302"): "ee",
    ("o", "\u0302"): "oo",
    ("a", "\u0306"): "aw",
    ("o", "\u031b"): "ow",
    ("u", "\u031b"): "uw",
}
#: OCR look-alikes: what a scanned form's text recogniser reads instead (both directions).
OCR: Final = (
    ("rn", "m"),
    ("m", "rn"),
    ("l", "1"),
    ("I", "l"),
    ("l", "I"),
    ("i", "1"),
    ("O", "0"),
    ("o", "0"),
    ("S", "5"),
    ("s", "5"),
    ("đ", "d"),
    ("Đ", "D"),
    ("d", "đ"),
    ("B", "8"),
    ("g", "9"),
    ("cl", "d"),
)


def _parts(ch: str) -> tuple[str, str | None, str | None]:
    """A letter as (base letter, modifier mark, tone mark); đ is its own base."""
    if ch in "đĐ":
        return ch, None, None
    nfd = unicodedata.normalize("NFD", ch)
    base, mod, tone = nfd[0], None, None
    for mark in nfd[1:]:
        if mark in TONES:
            tone = mark
        elif mark in MODIFIERS:
            mod = mark
    return base, mod, tone


def _marked(word: str) -> bool:
    return any(_parts(c)[1] or _parts(c)[2] or c in "đĐ" for c in word)


def _toned(word: str) -> bool:
    return any(_parts(c)[2] for c in word)


def _pick_word(words: list[str], ok: list[bool], rng: random.Random) -> int | None:
    idx = [i for i, good in enumerate(ok) if good]
    return rng.choice(idx) if idx else None


def _telex_residue(word: str) -> str:
    """The keystrokes of ``word`` in Telex with the input method off: ``Trần`` -> ``Traanf``."""
    out: list[str] = []
    tone_key = ""
    for ch in word:
        base, mod, tone = _parts(ch)
        if base in "đĐ":
            out.append("Dd" if base == "Đ" else "dd")
            continue
        low = base.lower()
        keys = _TELEX_MOD.get((low, mod), low) if mod else low
        out.append(keys[0].upper() + keys[1:] if base.isupper() else keys)
        if tone:
            tone_key = TONES[tone][0]
    return "".join(out) + tone_key


def _strip(ch: str) -> str:
    base, _, _ = _parts(ch)
    return {"đ": "d", "Đ": "D"}.get(base, base)


def telex_applies(name: str) -> bool:
    return any(_marked(w) for w in name.split())


def telex_slip(name: str, rng: random.Random) -> str | None:
    """A word typed in Telex that the input method did not (fully) convert.

    Two slips, equally likely: the whole word left as keystrokes (``Traanf``), or a tone key
    pressed before the vowel, which lands as a letter while the rest converts (``Tfần``)."""
    words = name.split()
    i = _pick_word(words, [_marked(w) for w in words], rng)
    if i is None:
        return None
    w = words[i]
    if _toned(w) and len(w) > 1 and rng.random() < 0.5:
        tone = next(t for t in (_parts(c)[2] for c in w) if t)
        words[i] = w[0] + TONES[tone][0] + w[1:]
    else:
        words[i] = _telex_residue(w)
    return " ".join(words)


def vni_applies(name: str) -> bool:
    return telex_applies(name)


def vni_slip(name: str, rng: random.Random) -> str | None:
    """A word typed in VNI whose digits were not converted: the marks right after their vowel
    (``Tra62n``) or all at the end of the word (``Tra6n2``)."""
    words = name.split()
    i = _pick_word(words, [_marked(w) for w in words], rng)
    if i is None:
        return None
    inline = rng.random() < 0.5
    out: list[str] = []
    tail = ""
    for ch in words[i]:
        base, mod, tone = _parts(ch)
        if base in "đĐ":
            out.append(("D" if base == "Đ" else "d") + "9")
            continue
        digits = (MODIFIERS[mod] if mod else "") + (TONES[tone][1] if tone else "")
        if inline:
            out.append(base + digits)
        else:
            out.append(base)
            tail += digits
    words[i] = "".join(out) + tail
    return " ".join(words)


def _inner_ok(w: str, need: int) -> bool:
    return len(w) >= need


def letter_drop_applies(name: str) -> bool:
    return any(len(w) >= 3 for w in name.split())


def letter_drop(name: str, rng: random.Random) -> str | None:
    """One letter dropped inside a word (never the first: ``Trần`` -> ``Tần``)."""
    words = name.split()
    i = _pick_word(words, [len(w) >= 3 for w in words], rng)
    if i is None:
        return None
    w = words[i]
    k = rng.randrange(1, len(w))
    words[i] = w[:k] + w[k + 1 :]
    return " ".join(words)


def letter_double_applies(name: str) -> bool:
    return any(len(w) >= 2 for w in name.split())


def letter_double(name: str, rng: random.Random) -> str | None:
    """One letter typed twice inside a word (``Vân`` -> ``Vâân``, ``Hùng`` -> ``Hùngg``)."""
    words = name.split()
    i = _pick_word(words, [len(w) >= 2 for w in words], rng)
    if i is None:
        return None
    w = words[i]
    k = rng.randrange(1, len(w))
    words[i] = w[:k] + w[k] + w[k:]
    return " ".join(words)


def _swappable(w: str) -> list[int]:
    return [k for k in range(1, len(w) - 1) if w[k].lower() != w[k + 1].lower()]


def letter_swap_applies(name: str) -> bool:
    return any(_swappable(w) for w in name.split())


def letter_swap(name: str, rng: random.Random) -> str | None:
    """Two neighbouring letters inside a word swapped (``Thanh`` -> ``Tahnh``)."""
    words = name.split()
    i = _pick_word(words, [bool(_swappable(w)) for w in words], rng)
    if i is None:
        return None
    w = words[i]
    k = rng.choice(_swappable(w))
    words[i] = w[:k] + w[k + 1] + w[k] + w[k + 2 :]
    return " ".join(words)


def _ocr_sites(text: str) -> list[tuple[int, str, str]]:
    return [(k, a, b) for a, b in OCR for k in range(len(text)) if text.startswith(a, k)]


def ocr_applies(text: str) -> bool:
    return bool(_ocr_sites(text))


def ocr_confusion(text: str, rng: random.Random) -> str | None:
    """One look-alike read in place of another (``rn``/``m``, ``l``/``1``/``I``, ``O``/``0``,
    ``S``/``5``, ``đ``/``d``), as a recogniser reading a scanned paper form does."""
    sites = _ocr_sites(text)
    if not sites:
        return None
    k, a, b = rng.choice(sites)
    return text[:k] + b + text[k + len(a) :]


def word_order_applies(name: str) -> bool:
    words = name.split()
    return len(words) >= 2 and len(set(words)) > 1


def word_order(name: str, rng: random.Random) -> str | None:
    """The words in another order: the surname put last (``Thị Vân Trần``), or the given
    name first (``Vân Trần Thị``) as on foreign-style forms."""
    words = name.split()
    if not word_order_applies(name):
        return None
    moved = words[1:] + words[:1] if rng.random() < 0.6 else words[-1:] + words[:-1]
    return " ".join(moved) if moved != words else None


def middle_applies(name: str) -> bool:
    return len(name.split()) >= 3


def drop_middle(name: str, rng: random.Random) -> str | None:
    """Middle name(s) left out: all of them, or one when there are several."""
    words = name.split()
    if len(words) < 3:
        return None
    if len(words) == 3 or rng.random() < 0.5:
        return f"{words[0]} {words[-1]}"
    k = rng.randrange(1, len(words) - 1)
    return " ".join(words[:k] + words[k + 1 :])


def name_format(name: str, rng: random.Random) -> str:
    """Formatting that changes no fact: capitals, spacing, decomposed (NFD) letters."""
    u = rng.random()
    if u < 0.10:
        return name.upper()
    if u < 0.13:
        return name.lower()
    if u < 0.15:
        return "  ".join(name.split()) + " "
    if u < 0.17:
        return unicodedata.normalize("NFD", name)
    return name


def strip_marks(text: str) -> str:
    """Text without any Vietnamese marks (``Đức`` -> ``Duc``): addresses typed on a plain
    keyboard."""
    return "".join(_strip(c) for c in text)
