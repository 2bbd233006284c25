"""After an unexpected error, the next request on the same keep-alive connection is answered.

Found on the demo: after a 500 the browser's next request on that connection got
"Connection reset by peer". Starlette answers an unhandled exception from its outermost
middleware and then raises it again for the server to log; uvicorn, seeing an exception after
the answer started, closes the connection. This runs a real uvicorn on a free port and reuses
one HTTP/1.1 connection, for a page (the HTML error page) and for the API (problem+json).
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi import FastAPI

from tests.web.conftest import free_port
from tiemchung.core import Platform
from tiemchung.server import create_app


@pytest.fixture
def server(platform: Platform) -> Iterator[int]:
    app: FastAPI = create_app(platform)

    def boom() -> None:
        raise RuntimeError("a server bug, on purpose")

    app.add_api_route("/boom-page", boom, include_in_schema=False)
    app.add_api_route("/api/v1/boom", boom, include_in_schema=False)
    port = free_port()
    srv = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", lifespan="on")
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield port
    srv.should_exit = True
    thread.join(10)


@pytest.mark.parametrize(
    ("path", "media"), [("/boom-page", "text/html"), ("/api/v1/boom", "application/problem+json")]
)
def test_the_connection_survives_a_500(server: int, path: str, media: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=10)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        assert r.status == 500 and r.getheader("content-type", "").startswith(media), body[:200]
        assert b"a server bug" not in body  # nothing of the exception is shown
        assert (r.getheader("connection") or "").lower() != "close"
        conn.request("GET", "/api/v1/health")  # the same connection, reused
        again = conn.getresponse()
        again.read()
        assert again.status == 200
    finally:
        conn.close()
