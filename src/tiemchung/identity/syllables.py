"""Vietnamese syllable structure: is a word a possible syllable, and where does its tone go.

A syllable is *onset + rhyme + tone*. The onset is one of the consonant clusters in
:data:`ONSETS` (or none); ``qu`` and ``gi`` count as onsets when a vowel follows, so in ``quý``
and ``giữ`` the vowel nucleus is ``y`` and ``ư``. The rhyme (vần) is one of :data:`RHYMES`
(written without tone). A rhyme that ends in a stop (-c, -ch, -p, -t) only takes sắc or nặng.

Tone placement ("old style", the convention chosen for display, see ``docs/identity.md``):

1. a vowel with its own diacritic (ă â ê ô ơ ư) takes the tone; in ``ươ`` the ``ơ``;
2. otherwise, a rhyme closed by a consonant puts it on the last vowel (``hoàng``, ``huỳnh``);
3. otherwise, three vowels put it on the middle one (``ngoài``, ``khuỷu``);
4. otherwise, two vowels put it on the first one: ``hòa``, ``khỏe``, ``thủy`` (old style — the
   "new style" would write ``hoà``, ``khoẻ``, ``thuỷ``), ``mái``, ``múa``.

>>> place_tone("hoà"), place_tone("thuỷ"), place_tone("hòang"), place_tone("quý")
('hòa', 'thủy', 'hoàng', 'quý')
>>> is_syllable("nguyễn"), is_syllable("nguyeenx"), is_syllable("hóc"), is_syllable("hõc")
(True, False, True, False)
>>> is_syllable("hoà"), is_syllable("hòa"), is_syllable("hòang")
(True, True, False)
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from .letters import STRIP_TONE_TABLE, VOWEL_INFO, compose

#: Initial consonant clusters (lower case), longest first for greedy matching.
ONSETS: Final = ("ngh", "ng", "nh", "ch", "gh", "gi", "kh", "ph", "qu", "th", "tr",
                 "b", "c", "d", "đ", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "x")

_RHYME_TEXT = """
a ac ach ai am an ang anh ao ap at au ay
ăc ăm ăn ăng ăp ăt
âc âm ân âng âp ât âu ây
e ec em en eng eo ep et
ê êch êm ên ênh êp êt êu
i ia ich im in inh ip it iu iêc iêm iên iêng iêp iêt iêu
o oc oi om on ong op ot
oa oac oach oai oam oan oang oanh oao oap oat oay oăc oăm oăn oăng oăp oăt
oe oen oeo oet oong ooc
ô ôc ôi ôm ôn ông ôp ôt
ơ ơi ơm ơn ơp ơt
u uc ui um un ung up ut
ua uân uâng uât uây uê uêch uênh uơ uy uya uych uyên uyêt uynh uyt uyu uyn
uôc uôi uôm uôn uông uôp uôt
ư ưc ưi ưm ưn ưng ưt ưu ưa ươc ươi ươm ươn ương ươp ươt ươu
y yêm yên yêng yêt yêu
"""
#: Every rhyme (vần) of standard Vietnamese, without tone, lower case.
RHYMES: Final[frozenset[str]] = frozenset(_RHYME_TEXT.split())

_STOPS: Final = ("c", "ch", "p", "t")
_QU_Y: Final = frozenset({"ynh", "yt", "ych"})  # quỳnh, quýt, quých: rhymes uynh, uyt, uych
_VOWELS: Final = frozenset(VOWEL_INFO)
_MARKED: Final = frozenset("ăâêôơư")


def split_onset(word: str) -> tuple[str, str]:
    """Split a toneless lower-case word into ``(onset, rest)``; ``qu``/``gi`` need a vowel after.

    >>> split_onset("quoc"), split_onset("gi"), split_onset("nghieng")
    (('qu', 'oc'), ('g', 'i'), ('ngh', 'ieng'))
    """
    for onset in ONSETS:
        if word.startswith(onset):
            rest = word[len(onset):]
            if onset in ("qu", "gi") and (not rest or rest[0] not in _VOWELS):
                return onset[0], word[1:]
            return onset, rest
    return "", word


def _tone_of(word: str) -> tuple[str, int, int]:
    """``(toneless word, tone, number of tone marks)`` of a lower-case word."""
    tone, marks = 0, 0
    for ch in word:
        info = VOWEL_INFO.get(ch)
        if info is not None and info[1]:
            tone = info[1]
            marks += 1
    return (word.translate(STRIP_TONE_TABLE) if marks else word), tone, marks


@lru_cache(maxsize=1 << 15)
def is_syllable(word: str) -> bool:
    """Whether a lower-case word (tone marks allowed, at most one) is a Vietnamese syllable."""
    plain, tone, marks = _tone_of(word)
    if marks > 1:
        return False
    if marks and word != place_tone(word) and word != _new_style(place_tone(word)):
        return False  # the tone sits on a vowel that never carries it in this rhyme
    onset, rhyme = split_onset(plain)
    if rhyme not in RHYMES:
        # "giếng" is g + iêng; "quỳnh" is qu + (u)ynh: the glide u belongs to both spellings
        if onset == "gi" and "i" + rhyme in RHYMES:
            onset, rhyme = "g", "i" + rhyme
        elif not (onset == "qu" and rhyme in _QU_Y):
            return False
    if onset in ("gh", "ngh", "k") and rhyme[0] not in "eêiy":
        return False
    if rhyme.endswith(_STOPS) and tone not in (2, 5):  # stops take only sắc or nặng
        return False
    return not (onset == "qu" and rhyme[0] in "uưo")


def _new_style(word: str) -> str:
    """The new-style spelling of an old-style open oa/oe/uy syllable (``hòa`` -> ``hoà``)."""
    if len(word) >= 2 and word[-1] in "aey":
        info = VOWEL_INFO.get(word[-2])
        if info and info[1] and info[0] + word[-1] in ("oa", "oe", "uy") and not (
                word[-2:-1] and word[:-2].endswith("q")):
            return word[:-2] + info[0] + compose(word[-1], info[1])
    return word


def _tone_index(plain: str, onset_len: int) -> int | None:
    """Index in ``plain`` (toneless, lower case) of the vowel that carries the tone."""
    vowels = [i for i in range(onset_len, len(plain)) if plain[i] in _VOWELS]
    if not vowels or vowels[-1] - vowels[0] != len(vowels) - 1:
        return None  # no vowel, or vowels not contiguous: not a syllable, leave it alone
    marked = [i for i in vowels if plain[i] in _MARKED]
    if marked:
        return marked[-1]  # "ươ" -> ơ; "ưu" -> ư
    if vowels[-1] != len(plain) - 1:  # closed by a consonant
        return vowels[-1]
    if len(vowels) >= 3:
        return vowels[1]
    return vowels[0]


@lru_cache(maxsize=1 << 16)
def place_tone(word: str) -> str:
    """Move the tone mark of a lower-case word to its conventional vowel (old style).

    Words with no tone, more than one tone mark or no recognisable vowel group are returned
    unchanged: the function never invents a mark and never drops one.
    """
    plain, tone, marks = _tone_of(word)
    if marks != 1:
        return word
    onset, _rest = split_onset(plain)
    idx = _tone_index(plain, len(onset))
    if idx is None:
        return word
    out = plain[:idx] + compose(plain[idx], tone) + plain[idx + 1:]
    return out
