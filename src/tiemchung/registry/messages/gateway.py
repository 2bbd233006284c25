"""The one small interface every SMS gateway speaks to the sender (SMPP, HTTP, file).

The sender (``registry/messages/sender.py``) knows only this :class:`Gateway` protocol; the
adapters live in ``gateways/`` (the shared layer), which ``core.Platform`` builds from the
``TIEMCHUNG_SMS_GATEWAY`` setting. Keeping the contract here, beside the outbox, lets the
sender be tested with any adapter and keeps the capability free of sockets and HTTP.

The contract that makes a crash harmless: every :class:`Outgoing` carries our
``message_id``, and an adapter hands it to its peer (an SMPP optional parameter, an HTTP
idempotency key, a line's key in the file) so that the peer drops a second copy. A message
the sender claimed and never recorded is therefore sent again, with the same id, after a
crash: at least once from us, exactly once at the handset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from tiemchung.identity.sms import Encoding


@dataclass(frozen=True)
class Outgoing:
    """One text ready for a gateway: already unaccented (or kept) and counted."""

    message_id: str
    phone: str  # national form, 0 + 9 digits
    text: str
    encoding: Encoding
    segments: int

    @property
    def international(self) -> str:
        """The number as SMSCs want it (``84`` + 9 digits, TON 1 / NPI 1)."""
        return "84" + self.phone[1:] if self.phone.startswith("0") else self.phone


@dataclass(frozen=True)
class Submitted:
    """What a gateway answered for one message: taken (its id for the receipts) or refused,
    and then whether a later try may succeed (a throttle, a lost connection) or not."""

    message_id: str
    gateway_message_id: str | None = None
    error: str | None = None
    retry: bool = True

    @property
    def accepted(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Receipt:
    """A delivery report: the gateway's id of a message and whether the handset got it."""

    gateway_message_id: str
    delivered: bool
    error: str | None = None


@dataclass(frozen=True)
class Inbound:
    """A text from a handset to us (an SMPP mobile-originated deliver_sm): "TC HUY"."""

    phone: str
    text: str


class Gateway(Protocol):
    """A way out to the phone network. ``send`` may block; ``poll`` never waits long."""

    #: stored on each message (``messages.gateway``) and used to match receipts
    name: str
    #: at most this many messages a second (0: no limit of ours)
    rate: float

    def send(self, batch: Sequence[Outgoing]) -> list[Submitted]:
        """Submit each message once; one answer per message, in order."""
        ...

    def poll(self) -> tuple[list[Receipt], list[Inbound]]:
        """The receipts and inbound texts that arrived since the last call."""
        ...

    def close(self) -> None: ...
