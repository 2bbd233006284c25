"""The SMPP 3.4 PDUs both our client adapter and our SMSC simulator read and write.

smpplib knows the standard optional parameters only. Our ``message_id`` (a UUID, 36
characters) fits none of them: ``user_message_reference`` is 16 bits, the subaddresses 23
octets. SMPP 3.4 §5.3.2 reserves tags 0x1400–0x3FFF for vendor-specific optional parameters,
which an SMSC that does not know them ignores; we send ours as tag 0x1401, a C-string, with
every submit_sm. The peer that knows it (our simulator, a provider that agreed to it) drops a
repeat inside its dedupe window, which is what makes a resend after a crash harmless.

Registering the tag adds one entry to smpplib's table of optional parameter names (the table
its parser looks tags up in); the PDU classes that carry it are our subclasses, so smpplib's
own ``submit_sm`` is unchanged.
"""

from __future__ import annotations

import socket
import struct
from typing import Any, ClassVar

from smpplib import command, consts, smpp
from smpplib.client import SimpleSequenceGenerator

#: Our vendor-specific tag: the sender's message id.
MESSAGE_ID_TAG = 0x1401
MESSAGE_ID_FIELD = "tiemchung_message_id"

consts.OPTIONAL_PARAMS.setdefault(MESSAGE_ID_FIELD, MESSAGE_ID_TAG)

#: data_coding values (SMPP 3.4 §5.2.19): the SMSC's default alphabet (GSM-7), UCS-2.
DATA_CODING = {"gsm7": 0x00, "ucs2": 0x08}
#: esm_class bit for a delivery receipt in a deliver_sm (SMPP 3.4 §5.2.12)
ESM_RECEIPT = 0x04


class SubmitSMWithId(command.SubmitSM):  # type: ignore[misc]
    """submit_sm with our message id as a vendor-specific optional parameter."""

    params: ClassVar[dict[str, Any]] = {
        **command.SubmitSM.params,
        MESSAGE_ID_FIELD: command.Param(type=str, max=65),
    }
    params_order = (*command.SubmitSM.params_order, MESSAGE_ID_FIELD)


class Sequences(SimpleSequenceGenerator):  # type: ignore[misc]
    """A PDU's 'client' as smpplib's classes want one: ``sequence`` and ``next_sequence``."""


def make(name: str, seq: Sequences, **fields: Any) -> Any:
    """A PDU to send (a response gets the request's ``sequence`` passed in ``fields``: set
    after construction, as smpplib's own client does, since its constructor keeps the
    generator's number for a property it reads back)."""
    sequence = fields.pop("sequence", None)
    if name == "submit_sm":
        pdu = SubmitSMWithId(name, client=seq, **fields)
    else:
        pdu = smpp.make_pdu(name, client=seq, **fields)
    if sequence is not None:
        pdu.sequence = sequence
    return pdu


def parse(raw: bytes, seq: Sequences) -> Any:
    """A PDU read off the wire; submit_sm with our optional parameter understood, any other
    unknown optional parameter skipped (the spec's rule)."""
    code = struct.unpack(">L", raw[4:8])[0]
    if code == 0x00000004:  # submit_sm
        pdu = SubmitSMWithId("submit_sm", client=seq, allow_unknown_opt_params=True)
        pdu.parse(raw)
        return pdu
    return smpp.parse_pdu(raw, client=seq, allow_unknown_opt_params=True)


def read_raw(sock: socket.socket) -> bytes | None:
    """One whole PDU's bytes, or None when the peer closed the connection."""
    head = _exact(sock, 4)
    if head is None:
        return None
    (length,) = struct.unpack(">L", head)
    if length < 16 or length > 100_000:
        raise ConnectionError(f"bad PDU length {length}")
    rest = _exact(sock, length - 4)
    return None if rest is None else head + rest


def _exact(sock: socket.socket, n: int) -> bytes | None:
    parts: list[bytes] = []
    while n:
        try:
            part = sock.recv(n)
        except (ConnectionResetError, OSError):
            return None
        if not part:
            return None
        parts.append(part)
        n -= len(part)
    return b"".join(parts)


def text_of(value: bytes | str | None) -> str:
    """A C-string field as text (smpplib gives bytes when parsing, str when building)."""
    if value is None:
        return ""
    return value.decode("latin-1") if isinstance(value, bytes) else value
