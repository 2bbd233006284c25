"""The invitation's short link: ``<public_url>/i/<id>.<signature>``, no sign-in.

A text must stay within one SMS, so the link carries no JWT: the token is the invitation's id
and the first 20 hex digits (80 bits) of ``tokens.sign_blob`` over it for the purpose
``invitation``, with the platform's key. Whoever holds the link may answer that one
invitation (confirm, decline, another slot) and nothing else; a token for another id, or
signed with another key or for another purpose, is refused. It never expires by itself: the
invitation stops being answerable when its session is past (``registry/invitations/answer``).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from tiemchung.auth.tokens import sign_blob

PURPOSE = "invitation"
#: hex digits of the signature kept in the link
SIGNATURE_DIGITS = 20
#: the page's path prefix (``web/routes/invite.py``)
PATH = "/i/"


def _signature(secret: bytes, invitation_id: int) -> str:
    return sign_blob(secret, PURPOSE, str(invitation_id))[:SIGNATURE_DIGITS]


def token(secret: bytes, invitation_id: int) -> str:
    """The token of one invitation: ``<id>.<signature>``."""
    return f"{invitation_id}.{_signature(secret, invitation_id)}"


def read(secret: bytes, text: str) -> int | None:
    """The invitation id a token stands for, or None when it is not one of ours."""
    ident, _, signature = text.strip().partition(".")
    if not ident.isdigit() or len(ident) > 18 or not signature.isascii():
        return None
    invitation_id = int(ident)
    if not hmac.compare_digest(_signature(secret, invitation_id), signature.lower()):
        return None
    return invitation_id


def link_maker(secret: bytes, public_url: str) -> Callable[[int], str]:
    """``invitation id → its link``, for the services that write the texts."""
    base = public_url.rstrip("/") + PATH
    return lambda invitation_id: base + token(secret, invitation_id)
