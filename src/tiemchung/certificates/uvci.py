"""Unique vaccination certificate identifiers (UVCI) with the Luhn mod N check character.

eHealth Network, *Guidelines on verifiable vaccination certificates*, Annex 2: a UVCI is
``URN:UVCI:`` + version ``01`` + ``:`` + country + ``:`` + an opaque identifier, optionally
followed by ``#`` and a check character. The check character is Luhn mod N computed over the
whole text before ``#`` with the code-point set ``A–Z 0–9 / :`` (N = 38), as the DCC schema
repository's reference implementation (``examples/Luhn-Mod-N``) does.
"""

from __future__ import annotations

import secrets

CODE_POINTS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/:"
_N = len(CODE_POINTS)
_INDEX = {c: i for i, c in enumerate(CODE_POINTS)}
#: Crockford-like alphabet for the opaque part: no I, L, O, U (no 1/I, 0/O mix-ups on paper).
_OPAQUE = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _luhn_sum(text: str, factor: int) -> int:
    total = 0
    for ch in reversed(text):
        addend = factor * _INDEX[ch]
        factor = 1 if factor == 2 else 2
        total += addend // _N + addend % _N
    return total % _N


def check_character(text: str) -> str:
    """The Luhn mod N check character of ``text`` (raises ``KeyError`` on a character outside
    ``A–Z 0–9 / :``).

    >>> check_character("URN:UVCI:01:NL:MY/INPUT/STRING")
    'S'
    """
    return CODE_POINTS[(_N - _luhn_sum(text, 2)) % _N]


def is_valid(uvci: str) -> bool:
    """True for ``…#C`` where C is the right check character of the text before ``#``."""
    body, sep, check = uvci.rpartition("#")
    if not sep or len(check) != 1:
        return False
    try:
        return _luhn_sum(body + check, 1) == 0
    except KeyError:
        return False


def new_uvci(country: str = "VN", *, length: int = 26) -> str:
    """A fresh random UVCI: ``URN:UVCI:01:VN:<26 characters, 130 bits>#<check>``."""
    opaque = "".join(secrets.choice(_OPAQUE) for _ in range(length))
    body = f"URN:UVCI:01:{country}:{opaque}"
    return f"{body}#{check_character(body)}"
