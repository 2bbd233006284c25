"""A number's wish not to be texted: the "TC HUY" keyword from the handset, or the link.

One function for both ways in, so the list and its audit event are the same whichever way
the request came. The messages still queued for the number become ``opted_out`` at once
(one-time codes excepted: a person who asks for a code wants it), and ``enqueue`` and the
sender never text it again.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from tiemchung.identity.errors import IdentityError
from tiemchung.identity.phones import normalize_phone
from tiemchung.identity.sms import unaccent
from tiemchung.registry.scope import Actor
from tiemchung.registry.tables.messages import OutboxMessage, SmsOptOut
from tiemchung.store.audit import audit

#: What a handset may text to stop (compared unaccented, upper case, spaces squeezed).
KEYWORDS = frozenset({"TC HUY", "TCHUY", "HUY TC", "TC TU CHOI", "STOP"})


def is_opt_out(text: str) -> bool:
    """Whether an inbound text asks to stop (``"tc  huỷ"`` does)."""
    return " ".join(unaccent(text).upper().split()) in KEYWORDS


def opt_out(session: Session, phone: str, *, source: str, actor: Actor) -> bool:
    """Put ``phone`` on the opt-out list (flushed, the caller commits); False if it already
    was or is not a Vietnamese number."""
    try:
        number = normalize_phone(phone)
    except IdentityError:
        return False
    if session.get(SmsOptOut, number) is not None:
        return False
    session.add(SmsOptOut(phone=number, source=source))
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.phone == number,
            OutboxMessage.status == "queued",
            OutboxMessage.kind != "otp",
        )
        .values(status="opted_out")
        .execution_options(synchronize_session=False)
    )
    audit(session, actor, "sms.opt_out", "phone", number[:-3] + "***", {"source": source})
    session.flush()
    return True
