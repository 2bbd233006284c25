"""The SMPP 3.4 gateway: one bound transceiver, submits pipelined in a window.

``smpp://user:pass@host:port?source=TIEMCHUNG&window=100&rate=200`` — ``source`` is the
brand name (alphanumeric sender, TON 5) or a number; ``window`` how many submit_sm may wait
for their responses at once (a round trip per message would cap us at a few hundred a second
even on 127.0.0.1); ``rate`` the provider's limit in messages a second.

Each submit_sm carries our message id (``smpp_pdu.MESSAGE_ID_TAG``) and asks for a delivery
receipt. A text longer than one segment goes whole in ``message_payload`` (SMPP 3.4 §5.3.2.32)
rather than as UDH parts, so one message is one submit, one SMSC id and one receipt. Receipts
and mobile-originated texts arriving on the same connection (between responses or while idle)
are kept for :meth:`SmppGateway.poll`.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from smpplib import consts

from tiemchung.gateways import smpp_pdu
from tiemchung.gateways.smpp_pdu import Sequences
from tiemchung.identity.sms import Encoding, decode, encode
from tiemchung.registry.messages.gateway import Inbound, Outgoing, Receipt, Submitted

#: SMSC answers worth trying again later (the rest fail the message at once)
RETRYABLE = {
    consts.SMPP_ESME_RTHROTTLED,
    consts.SMPP_ESME_RMSGQFUL,
    consts.SMPP_ESME_RSYSERR,
    consts.SMPP_ESME_RSUBMITFAIL,
}
DELIVERED_STATES = {consts.SMPP_MESSAGE_STATE_DELIVERED}
SUBMIT_SM_RESP, DELIVER_SM_RESP, ENQUIRE_LINK_RESP = 0x80000004, 0x80000005, 0x80000015


@dataclass(frozen=True)
class SubmitResp:
    """A submit_sm_resp, read without smpplib (see ``SmppGateway._parse``)."""

    command: str
    status: int
    sequence: int
    message_id: str


class SmppGateway:
    """A :class:`~tiemchung.registry.messages.gateway.Gateway` over one SMPP connection."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 2775
        self.system_id = unquote(parts.username or "")
        self.password = unquote(parts.password or "")
        self.source = query.get("source", "TIEMCHUNG")
        self.window = max(1, int(query.get("window", "100")))
        self.rate = float(query.get("rate", "0"))
        self.name = f"smpp:{self.host}:{self.port}"
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._seq = Sequences()
        self._buf = bytearray()  # received, not yet read as PDUs
        self._out = bytearray()  # answers to send with the next write
        self._receipts: list[Receipt] = []
        self._inbound: list[Inbound] = []

    # the connection -------------------------------------------------------------------

    def _connect(self) -> socket.socket:
        if self._sock is not None:
            return self._sock
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        try:
            bind = smpp_pdu.make(
                "bind_transceiver",
                self._seq,
                system_id=self.system_id,
                password=self.password,
                system_type="",
                addr_ton=0,
                addr_npi=0,
                address_range="",
            )
            sock.sendall(bind.generate())
            while True:
                resp = self._read()
                if resp.command == "bind_transceiver_resp":
                    break
            if resp.status != consts.SMPP_ESME_ROK:
                raise ConnectionError(
                    f"SMPP bind refused ({resp.status:#x}: {consts.DESCRIPTIONS.get(resp.status)})"
                )
        except BaseException:
            self._drop()
            raise
        return sock

    def _drop(self) -> None:
        self._buf.clear()
        self._out.clear()
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    def _take(self) -> bytes | None:
        """One whole PDU from what has been received, if there is one."""
        buf = self._buf
        if len(buf) < 4:
            return None
        n = int.from_bytes(buf[:4], "big")
        if n < 16 or n > 100_000:
            raise ConnectionError(f"bad PDU length {n}")
        if len(buf) < n:
            return None
        raw = bytes(buf[:n])
        del buf[:n]
        return raw

    def _recv(self) -> None:
        assert self._sock is not None
        data = self._sock.recv(1 << 18)
        if not data:
            raise ConnectionError("SMSC closed the connection")
        self._buf += data

    def _read(self) -> Any:
        while (raw := self._take()) is None:
            self._recv()
        return self._parse(raw)

    def _parse(self, raw: bytes) -> Any:
        """submit_sm_resp read directly (half of all the PDUs we read: smpplib's generic
        parser costs more than the rest of a submit); everything else through smpplib."""
        command_id, status, sequence = struct.unpack(">LLL", raw[4:16])
        if command_id == SUBMIT_SM_RESP:
            end = raw.find(b"\0", 16)
            smsc_id = raw[16:end].decode("latin-1") if end > 16 else ""
            return SubmitResp("submit_sm_resp", status, sequence, smsc_id)
        return smpp_pdu.parse(raw, self._seq)

    def _send_pdu(self, pdu: Any) -> None:
        assert self._sock is not None
        self._sock.sendall(pdu.generate())

    def _flush(self) -> None:
        """Send the answers to receipts gathered while reading (one write, not one each)."""
        if self._out and self._sock is not None:
            self._sock.sendall(self._out)
        self._out.clear()

    def _other(self, pdu: Any) -> None:
        """A PDU that is not a response we wait for: a receipt, a handset's text, a ping."""
        if pdu.command == "deliver_sm":
            self._out += struct.pack(">LLLLB", 17, DELIVER_SM_RESP, 0, pdu.sequence, 0)
            self._deliver(pdu)
        elif pdu.command == "enquire_link":
            self._out += struct.pack(">LLLL", 16, ENQUIRE_LINK_RESP, 0, pdu.sequence)

    def _deliver(self, pdu: Any) -> None:
        body: bytes = pdu.short_message or pdu.message_payload or b""
        if (pdu.esm_class or 0) & smpp_pdu.ESM_RECEIPT:
            text = body.decode("latin-1")
            fields = dict(f.split(":", 1) for f in text.split() if ":" in f)
            smsc_id = smpp_pdu.text_of(pdu.receipted_message_id) or fields.get("id", "")
            if pdu.message_state is not None:
                delivered = pdu.message_state in DELIVERED_STATES
            else:
                delivered = fields.get("stat") == "DELIVRD"
            error = None if delivered else f"smpp:{fields.get('stat', 'UNDELIV')}"
            if smsc_id:
                self._receipts.append(Receipt(smsc_id, delivered, error))
            return
        coding: Encoding = "ucs2" if pdu.data_coding == smpp_pdu.DATA_CODING["ucs2"] else "gsm7"
        self._inbound.append(Inbound(smpp_pdu.text_of(pdu.source_addr), decode(body, coding)))

    # the Gateway protocol ---------------------------------------------------------------

    def _submit_pdu(self, m: Outgoing) -> Any:
        data = encode(m.text, m.encoding)
        alpha = not self.source.isdigit()
        fields: dict[str, Any] = {
            "service_type": "",
            "source_addr_ton": 5 if alpha else 1,
            "source_addr_npi": 0 if alpha else 1,
            "source_addr": self.source,
            "dest_addr_ton": 1,
            "dest_addr_npi": 1,
            "destination_addr": m.international,
            "esm_class": 0,
            "registered_delivery": 1,
            "data_coding": smpp_pdu.DATA_CODING[m.encoding],
            smpp_pdu.MESSAGE_ID_FIELD: m.message_id,
        }
        if m.segments <= 1:  # up to 160 GSM-7 septets (one an octet, unpacked) or 70 UCS-2
            fields["short_message"] = data
        else:
            fields["message_payload"] = data
        return smpp_pdu.make("submit_sm", self._seq, **fields)

    def send(self, batch: Sequence[Outgoing]) -> list[Submitted]:
        """Submit ``batch`` in windows; a lost connection answers the rest 'try again'."""
        answers: dict[str, Submitted] = {}
        try:
            self._connect()
            for start in range(0, len(batch), self.window):
                chunk = batch[start : start + self.window]
                waiting: dict[int, str] = {}
                out = bytearray()
                for m in chunk:
                    pdu = self._submit_pdu(m)
                    waiting[pdu.sequence] = m.message_id
                    out += pdu.generate()
                assert self._sock is not None
                self._sock.sendall(out)
                while waiting:
                    pdu = self._read()
                    if pdu.command == "submit_sm_resp" and pdu.sequence in waiting:
                        mid = waiting.pop(pdu.sequence)
                        answers[mid] = self._answer(mid, pdu)
                    elif pdu.command == "generic_nack" and pdu.sequence in waiting:
                        mid = waiting.pop(pdu.sequence)
                        answers[mid] = Submitted(mid, error=f"smpp:nack:{pdu.status:#x}")
                    else:
                        self._other(pdu)
                self._flush()
        except (OSError, ConnectionError) as exc:
            self._drop()
            reason = f"smpp:connection:{exc}"[:200]
            for m in batch:
                answers.setdefault(m.message_id, Submitted(m.message_id, error=reason))
        return [answers[m.message_id] for m in batch]

    @staticmethod
    def _answer(mid: str, pdu: Any) -> Submitted:
        if pdu.status == consts.SMPP_ESME_ROK:
            return Submitted(mid, gateway_message_id=smpp_pdu.text_of(pdu.message_id))
        desc = consts.DESCRIPTIONS.get(pdu.status, "")
        return Submitted(
            mid, error=f"smpp:{pdu.status:#x}:{desc}"[:200], retry=pdu.status in RETRYABLE
        )

    def poll(self) -> tuple[list[Receipt], list[Inbound]]:
        """What has arrived: every PDU already waiting on the socket (never blocks)."""
        try:
            sock = self._connect()
            while select.select([sock], [], [], 0)[0]:
                self._recv()
            while (raw := self._take()) is not None:
                self._other(self._parse(raw))
            self._flush()
        except (OSError, ConnectionError):
            self._drop()
        receipts, self._receipts = self._receipts, []
        inbound, self._inbound = self._inbound, []
        return receipts, inbound

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._send_pdu(smpp_pdu.make("unbind", self._seq))
            self._drop()
