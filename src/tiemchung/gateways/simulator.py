"""A small SMSC on 127.0.0.1 that speaks SMPP 3.4, for the tests, the bench and the demo.

What a real SMSC does that the sender depends on, and nothing more: bind_transceiver (and
the transmitter and receiver binds) with a system id and password, submit_sm answered by
submit_sm_resp with the SMSC's own id, then a deliver_sm delivery receipt (esm_class 0x04,
``receipted_message_id`` and ``message_state``, and the customary ``id:… stat:…`` text),
enquire_link, unbind, and mobile-originated texts (``send_mo``: "TC HUY" from a handset).

Its dedupe window is what a brand-name provider's would be: a submit_sm whose
``tiemchung_message_id`` it has seen is answered with the first id and the receipt again, and
does **not** reach the "handset" a second time. ``handset`` and ``deliveries`` count what a
person's phone would have shown, which is what the crash test and the bench check.

Run alone: ``python -m tiemchung.gateways.simulator --port 2775`` (Ctrl-C to stop).
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from smpplib import consts

from tiemchung.gateways import smpp_pdu
from tiemchung.gateways.smpp_pdu import Sequences
from tiemchung.identity.sms import Encoding, decode, encode, encoding_for

BIND_RESPONSES = {
    "bind_transceiver": "bind_transceiver_resp",
    "bind_transmitter": "bind_transmitter_resp",
    "bind_receiver": "bind_receiver_resp",
}


@dataclass
class Handset:
    """What reached phones: our message id → (number, text), and how many times each."""

    texts: dict[str, tuple[str, str]] = field(default_factory=dict)
    deliveries: Counter[str] = field(default_factory=Counter)


class _Connection:
    def __init__(self, sim: SmscSimulator, sock: socket.socket) -> None:
        self.sim = sim
        self.sock = sock
        self.seq = Sequences()
        self.lock = threading.Lock()
        self.bound: str | None = None

    def send(self, pdu: object) -> None:
        data = pdu.generate()  # type: ignore[attr-defined]
        with self.lock:
            self.sock.sendall(data)

    def serve(self) -> None:
        try:
            while True:
                raw = smpp_pdu.read_raw(self.sock)
                if raw is None:
                    return
                pdu = smpp_pdu.parse(raw, self.seq)
                if not self.handle(pdu):
                    return
        except OSError:
            return
        finally:
            self.sim._forget(self)
            self.sock.close()

    def handle(self, pdu: object) -> bool:
        name = pdu.command  # type: ignore[attr-defined]
        seq = pdu.sequence  # type: ignore[attr-defined]
        if name in BIND_RESPONSES:
            ok = (
                smpp_pdu.text_of(pdu.system_id) == self.sim.system_id  # type: ignore[attr-defined]
                and smpp_pdu.text_of(pdu.password) == self.sim.password  # type: ignore[attr-defined]
            )
            status = consts.SMPP_ESME_ROK if ok else consts.SMPP_ESME_RINVPASWD
            if ok:  # bound before the answer: the client may be sent to as soon as it reads it
                self.bound = name
            self.send(
                smpp_pdu.make(
                    BIND_RESPONSES[name], self.seq, sequence=seq, status=status, system_id="SIM"
                )
            )
            return ok
        if name == "submit_sm":
            self.submit(pdu)
        elif name == "enquire_link":
            self.send(smpp_pdu.make("enquire_link_resp", self.seq, sequence=seq))
        elif name == "unbind":
            self.send(smpp_pdu.make("unbind_resp", self.seq, sequence=seq))
            return False
        elif name in ("deliver_sm_resp", "enquire_link_resp"):
            pass
        else:
            self.send(
                smpp_pdu.make(
                    "generic_nack", self.seq, sequence=seq, status=consts.SMPP_ESME_RINVCMDID
                )
            )
        return True

    def submit(self, pdu: object) -> None:
        p = pdu  # the parsed SubmitSMWithId
        seq = p.sequence  # type: ignore[attr-defined]
        if self.bound is None or self.bound == "bind_receiver":
            self.send(
                smpp_pdu.make(
                    "submit_sm_resp", self.seq, sequence=seq, status=consts.SMPP_ESME_RINVBNDSTS
                )
            )
            return
        ours = smpp_pdu.text_of(getattr(p, smpp_pdu.MESSAGE_ID_FIELD, None))
        dest = smpp_pdu.text_of(p.destination_addr)  # type: ignore[attr-defined]
        payload = p.short_message or p.message_payload or b""  # type: ignore[attr-defined]
        if not p.short_message and p.message_payload:  # type: ignore[attr-defined]
            self.sim.payload_submits += 1
        coding: Encoding = "ucs2" if p.data_coding == smpp_pdu.DATA_CODING["ucs2"] else "gsm7"  # type: ignore[attr-defined]
        status, smsc_id, _first = self.sim._accept(ours, dest, decode(payload, coding))
        self.send(
            smpp_pdu.make(
                "submit_sm_resp", self.seq, sequence=seq, status=status, message_id=smsc_id or ""
            )
        )
        if status == consts.SMPP_ESME_ROK and (p.registered_delivery or 0) & 1:  # type: ignore[attr-defined]
            self.receipt(smsc_id, dest, dest not in self.sim.undeliverable)

    def receipt(self, smsc_id: str, dest: str, delivered: bool) -> None:
        stat = "DELIVRD" if delivered else "UNDELIV"
        stamp = time.strftime("%y%m%d%H%M")
        text = (
            f"id:{smsc_id} sub:001 dlvrd:{'001' if delivered else '000'} submit date:{stamp} "
            f"done date:{stamp} stat:{stat} err:{'000' if delivered else '001'} text:"
        )
        state = (
            consts.SMPP_MESSAGE_STATE_DELIVERED
            if delivered
            else consts.SMPP_MESSAGE_STATE_UNDELIVERABLE
        )
        self.send(
            smpp_pdu.make(
                "deliver_sm",
                self.seq,
                source_addr=dest,
                source_addr_ton=1,
                source_addr_npi=1,
                destination_addr=self.sim.system_id,
                esm_class=smpp_pdu.ESM_RECEIPT,
                short_message=text.encode("ascii"),
                receipted_message_id=smsc_id,
                message_state=state,
            )
        )


class SmscSimulator:
    """The SMSC: a listening socket and one thread per bound connection."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        system_id: str = "tiemchung",
        password: str = "secret",
        throttle_first: int = 0,
        undeliverable: frozenset[str] = frozenset(),
    ) -> None:
        self.system_id = system_id
        self.password = password
        # refuse this many first submits with ESME_RTHROTTLED (a busy SMSC: the retry path)
        self.throttle_left = throttle_first
        # international numbers whose receipt says UNDELIV
        self.undeliverable = undeliverable
        self.handset = Handset()
        self.submits = 0
        self.duplicates = 0
        self.throttled = 0
        self.payload_submits = 0  # texts that came whole in message_payload (over a segment)
        self._ids: dict[str, str] = {}
        self._next = 1
        self._lock = threading.Lock()
        self._conns: set[_Connection] = set()
        self._listener = socket.create_server((host, port))
        self.host, self.port = self._listener.getsockname()[:2]
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def url(self) -> str:
        """The ``TIEMCHUNG_SMS_GATEWAY`` value that reaches this simulator."""
        return f"smpp://{self.system_id}:{self.password}@{self.host}:{self.port}"

    def start(self) -> SmscSimulator:
        self._thread = threading.Thread(target=self._accept_loop, name="smsc-sim", daemon=True)
        self._thread.start()
        return self

    def __enter__(self) -> SmscSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._closed = True
        try:
            self._listener.close()
        finally:
            with self._lock:
                conns = list(self._conns)
            for c in conns:
                with contextlib.suppress(OSError):
                    c.sock.shutdown(socket.SHUT_RDWR)

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _Connection(self, sock)
            with self._lock:
                self._conns.add(conn)
            threading.Thread(target=conn.serve, name="smsc-conn", daemon=True).start()

    def _forget(self, conn: _Connection) -> None:
        with self._lock:
            self._conns.discard(conn)

    def _accept(self, ours: str, dest: str, text: str) -> tuple[int, str, bool]:
        """(status, SMSC id, first time) for one submit; the dedupe window is forever here."""
        with self._lock:
            self.submits += 1
            if self.throttle_left > 0:
                self.throttle_left -= 1
                self.throttled += 1
                return consts.SMPP_ESME_RTHROTTLED, "", False
            if ours and ours in self._ids:
                self.duplicates += 1
                return consts.SMPP_ESME_ROK, self._ids[ours], False
            smsc_id = f"{self._next:010x}"
            self._next += 1
            key = ours or f"anon-{smsc_id}"
            self._ids[key] = smsc_id
            self.handset.texts[key] = (dest, text)
            self.handset.deliveries[key] += 1
            return consts.SMPP_ESME_ROK, smsc_id, True

    def send_mo(self, phone: str, text: str) -> int:
        """A text from a handset (``phone`` international) to every bound receiver; how many
        connections it went to."""
        with self._lock:
            conns = [c for c in self._conns if c.bound in ("bind_transceiver", "bind_receiver")]
        for c in conns:
            c.send(
                smpp_pdu.make(
                    "deliver_sm",
                    c.seq,
                    source_addr=phone,
                    source_addr_ton=1,
                    source_addr_npi=1,
                    destination_addr=self.system_id,
                    esm_class=0,
                    data_coding=smpp_pdu.DATA_CODING[encoding_for(text)],
                    short_message=encode(text, encoding_for(text)),
                )
            )
        return len(conns)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "submits": self.submits,
                "duplicates_dropped": self.duplicates,
                "throttled": self.throttled,
                "handset_messages": len(self.handset.texts),
                "handset_deliveries": sum(self.handset.deliveries.values()),
                "bound_connections": len(self._conns),
            }


def main() -> None:
    parser = argparse.ArgumentParser(description="A local SMSC simulator (SMPP 3.4)")
    parser.add_argument("--port", type=int, default=2775)
    parser.add_argument("--system-id", default="tiemchung")
    parser.add_argument("--password", default="secret")
    args = parser.parse_args()
    sim = SmscSimulator(port=args.port, system_id=args.system_id, password=args.password)
    sim.start()
    print(f"SMSC simulator on {sim.url}", flush=True)
    try:
        while True:
            time.sleep(5)
            print(sim.stats(), flush=True)
    except KeyboardInterrupt:
        sim.stop()


if __name__ == "__main__":
    main()
