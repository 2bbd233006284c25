"""A partner's webhook receiver on 127.0.0.1 (a real server thread), for the tests and bench.

It verifies each request's Standard Webhooks signature with the subscription's secret (a bad
one is answered 401 and counted, never recorded), records every batch and how often each
event's ``seq`` arrived (duplicates are what at-least-once allows), can fail on purpose
(``fail_next``: that many answers 500 first) and can be down (``stop``; ``start`` again on the
same port: connections refused meanwhile).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tiemchung.registry.changes.webhooks import verify


@dataclass(frozen=True)
class Batch:
    webhook_id: str
    events: list[dict[str, Any]]
    received: float  # time.time() when it arrived


class WebhookPeer:
    """The receiver: ``batches`` (acknowledged with 204), ``seqs`` counted, ``bad`` signatures."""

    def __init__(self, secret: str = "", *, fail_next: int = 0, port: int = 0) -> None:
        self.secret = secret
        self.fail_next = fail_next
        self.batches: list[Batch] = []
        self.seqs: Counter[int] = Counter()
        self.arrival: dict[int, float] = {}
        # by resource: "Immunization/42" → times received, first arrival (the bench's key)
        self.keys: Counter[str] = Counter()
        self.key_arrival: dict[str, float] = {}
        self.requests = 0
        self.failed = 0
        self.bad = 0
        self._lock = threading.Lock()
        self.port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = peer.handle(dict(self.headers.items()), raw)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler

    def handle(self, headers: dict[str, str], raw: bytes) -> int:
        with self._lock:
            self.requests += 1
            if not verify(self.secret, headers, raw):
                self.bad += 1
                return 401
            if self.fail_next > 0:
                self.fail_next -= 1
                self.failed += 1
                return 500
            now = time.time()
            low = {k.lower(): v for k, v in headers.items()}
            events = json.loads(raw)["events"]
            self.batches.append(Batch(low["webhook-id"], events, now))
            for e in events:
                self.seqs[e["seq"]] += 1
                self.arrival.setdefault(e["seq"], now)
                key = f"{e['resource']}/{e['id']}"
                self.keys[key] += 1
                self.key_arrival.setdefault(key, now)
            return 204

    def start(self) -> None:
        """Listen (again, on the same port after ``stop``)."""
        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Down: the port refuses connections until ``start``."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def duplicates(self) -> int:
        with self._lock:
            return sum(n - 1 for n in self.seqs.values() if n > 1)

    def __enter__(self) -> WebhookPeer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
