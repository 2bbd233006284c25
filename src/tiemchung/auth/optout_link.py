"""The signed link in a text that lets its recipient stop further texts (issue 18).

``/tc-huy/<phone>/<signature>``: the signature is :func:`tokens.sign_blob`'s for the number,
cut to 16 hex digits (64 bits) because the link must fit in a 160-character SMS beside the
message. What it protects is small (one number's opt-out, which only stops texts) and it
cannot be tried offline: 2^64 guesses at the server are not a practical attack.
"""

from __future__ import annotations

import hmac

from tiemchung.auth.tokens import sign_blob

PURPOSE = "sms-opt-out"
LENGTH = 16


def signature(secret: bytes, phone: str) -> str:
    return sign_blob(secret, PURPOSE, phone)[:LENGTH]


def path(secret: bytes, phone: str) -> str:
    """The link's path for ``phone`` (national form), to append to the site's address."""
    return f"/tc-huy/{phone}/{signature(secret, phone)}"


def valid(secret: bytes, phone: str, sig: str) -> bool:
    """Whether ``sig`` is this number's (constant time)."""
    return hmac.compare_digest(signature(secret, phone).encode(), sig.encode()[:64])
