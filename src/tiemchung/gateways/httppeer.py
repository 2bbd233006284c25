"""A local HTTP SMS provider on 127.0.0.1 (a real server thread), for the tests and the demo.

It checks the auth header, answers ``{"id": …}``, and dedupes by the ``Idempotency-Key``
header as a provider's API would: a repeat gets the first answer and is not sent again.
``fail_next`` answers that many requests 503 first (the retry path).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class HttpPeer:
    """The provider: ``handset`` (key → the body received) and ``deliveries`` counted."""

    def __init__(self, *, token: str = "secret-token", fail_next: int = 0) -> None:
        self.token = token
        self.fail_next = fail_next
        self.handset: dict[str, dict[str, Any]] = {}
        self.deliveries: Counter[str] = Counter()
        self.requests = 0
        self.duplicates = 0
        self._ids: dict[str, str] = {}
        self._lock = threading.Lock()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                status, answer = peer.handle(
                    self.headers.get("Authorization", ""),
                    self.headers.get("Idempotency-Key", ""),
                    raw,
                )
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/sms"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def handle(self, auth: str, key: str, raw: bytes) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests += 1
            if auth != f"Bearer {self.token}":
                return 401, {"error": "unauthorized"}
            if self.fail_next > 0:
                self.fail_next -= 1
                return 503, {"error": "busy"}
            try:
                body = json.loads(raw)
            except ValueError:
                return 400, {"error": "not JSON"}
            if key and key in self._ids:
                self.duplicates += 1
                return 200, {"id": self._ids[key], "duplicate": True}
            gid = f"h{len(self._ids) + 1:08d}"
            self._ids[key or gid] = gid
            self.handset[key or gid] = body
            self.deliveries[key or gid] += 1
            return 200, {"id": gid}

    def __enter__(self) -> HttpPeer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
