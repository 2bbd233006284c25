"""A fake national population register: a real HTTP server speaking docs/register-remote.md.

``tiemchung register fake-server --from register.parquet`` serves it for the demo; the tests
start it in a thread (:class:`FakeRegisterServer`) on 127.0.0.1. The snapshot is read with
DuckDB into memory (the name key computed by the identity toolkit's DuckDB macro, the same
fold as ``identity.fold_name``), so a million persons answer an ID in milliseconds.

Faults to test against: ``latency_ms`` before every answer, ``error_rate`` (that share of
answers a 503), ``rate_limit`` (requests a second; over it a 429 with ``Retry-After: 1``),
``token`` (a bearer every request must carry) or ``basic`` (``user:password``); TLS and
mTLS through :class:`FakeRegisterServer`'s options. Changes: ``POST /_admin/persons`` upserts
corrected or new persons, each bumping the change cursor; ``--changes FILE`` loads a file of
them at start; ``POST /_admin/fail`` makes the next N answers fail with a given status (and
``Retry-After``); ``GET /_admin/stats`` counts the requests answered.
"""

from __future__ import annotations

import asyncio
import base64
import random
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tiemchung.columns import REGISTER_COLUMNS
from tiemchung.identity.bulk import macro_sql

_COLS = ", ".join(REGISTER_COLUMNS)
_SELECT = ", ".join(f"CAST({c} AS VARCHAR) AS {c}" for c in REGISTER_COLUMNS)


def _problem(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"type": "about:blank", "title": detail, "status": status, "detail": detail}
    return JSONResponse(body, status, headers=headers, media_type="application/problem+json")


class FakeRegister:
    """The register's data and the contract's handlers (an ASGI app: :attr:`app`)."""

    def __init__(
        self,
        source: Path | None = None,
        *,
        changes: Path | None = None,
        latency_ms: float = 0.0,
        error_rate: float = 0.0,
        rate_limit: float = 0.0,
        token: str = "",
        basic: str = "",
        seed: int | None = None,
    ) -> None:
        self.db = duckdb.connect()
        for stmt in macro_sql(normalize=False):
            self.db.execute(stmt)
        cols = ", ".join(f"{c} VARCHAR" for c in REGISTER_COLUMNS)
        self.db.execute(f"CREATE TABLE persons ({cols}, name_key VARCHAR, seq BIGINT)")
        if source is not None:
            self._load(source, bump=False)
        self.seq = 0
        if changes is not None:
            self._load(changes, bump=True)
        self.latency_s = latency_ms / 1000
        self.error_rate = error_rate
        self.rate_limit = rate_limit
        self.token = token
        self.basic = "Basic " + base64.b64encode(basic.encode()).decode() if basic else ""
        self.requests = 0
        self._random = random.Random(seed)
        self._fail: list[tuple[int, str | None]] = []
        self._bucket = (rate_limit, time.monotonic())
        self.app = Starlette(
            routes=[
                Route("/persons", self.persons),
                Route("/changes", self.changes),
                Route("/_admin/persons", self.admin_persons, methods=["POST"]),
                Route("/_admin/fail", self.admin_fail, methods=["POST"]),
                Route("/_admin/stats", self.admin_stats),
            ]
        )

    # -- data ---------------------------------------------------------------------------------

    def _load(self, file: Path, *, bump: bool) -> None:
        reader = "read_parquet" if file.suffix.lower() == ".parquet" else "read_csv_auto"
        rel = f"SELECT {_SELECT} FROM {reader}(?)"
        if not bump:
            self.db.execute(
                f"INSERT INTO persons SELECT *, tc_fold_name(full_name), 0 FROM ({rel})",
                [str(file)],
            )
            return
        rows = self.db.execute(rel, [str(file)]).fetchall()
        self.upsert([dict(zip(REGISTER_COLUMNS, r, strict=True)) for r in rows])

    def upsert(self, persons: list[dict[str, Any]]) -> int:
        """Store corrected or new persons, each with the next change number; the cursor."""
        for p in persons:
            self.seq += 1
            values = [None if p.get(c) is None else str(p[c]) for c in REGISTER_COLUMNS]
            self.db.execute("DELETE FROM persons WHERE person_id = ?", [values[0]])
            marks = ", ".join("?" for _ in REGISTER_COLUMNS)
            self.db.execute(
                f"INSERT INTO persons ({_COLS}, name_key, seq) "
                f"VALUES ({marks}, tc_fold_name(?), ?)",
                [*values, p.get("full_name") or "", self.seq],
            )
        return self.seq

    def _rows(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        cur = self.db.execute(f"SELECT {_COLS}, seq FROM persons WHERE {sql}", params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    # -- the contract -------------------------------------------------------------------------

    async def _gate(self, request: Request) -> JSONResponse | None:
        """Auth, injected faults, the rate limit and the latency, in that order."""
        self.requests += 1
        if not self._authorised(request):
            return _problem(401, "valid credentials are required")
        if self._fail:
            status, after = self._fail.pop(0)
            return _problem(status, "injected failure", {"Retry-After": after} if after else None)
        if self.rate_limit > 0:
            tokens, at = self._bucket
            now = time.monotonic()
            tokens = min(self.rate_limit, tokens + (now - at) * self.rate_limit)
            if tokens < 1:
                self._bucket = (tokens, now)
                return _problem(429, "rate limit", {"Retry-After": "1"})
            self._bucket = (tokens - 1, now)
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        if self.error_rate and self._random.random() < self.error_rate:
            return _problem(503, "injected error")
        return None

    async def persons(self, request: Request) -> JSONResponse:
        refused = await self._gate(request)
        if refused is not None:
            return refused
        q = request.query_params
        if q.get("id"):
            rows = self._rows(
                "national_id = ? OR old_id = ? ORDER BY person_id LIMIT 21", [q["id"]] * 2
            )
        elif q.get("name") and q.get("dob"):
            dob = q["dob"]
            rows = self._rows(
                "name_key = tc_fold_name(?) AND (dob = ? OR starts_with(?, dob) "
                "OR starts_with(dob, ?)) ORDER BY person_id LIMIT 21",
                [q["name"], dob, dob, dob],
            )
        else:
            return _problem(400, "id, or name and dob, are required (cần id, hoặc name và dob)")
        return JSONResponse({"persons": [_wire(r) for r in rows]})

    async def changes(self, request: Request) -> JSONResponse:
        refused = await self._gate(request)
        if refused is not None:
            return refused
        q = request.query_params
        since_text = q.get("since") or "0"
        limit_text = q.get("limit") or "1000"
        if not since_text.isdigit() or not limit_text.isdigit() or int(limit_text) < 1:
            return _problem(400, "since: a cursor this server gave; limit: 1 or more")
        since, limit = int(since_text), min(int(limit_text), 10_000)
        rows = self._rows("seq > ? ORDER BY seq LIMIT ?", [since, limit + 1])
        more = len(rows) > limit
        rows = rows[:limit]
        cursor = str(rows[-1]["seq"]) if rows else str(since)
        return JSONResponse({"persons": [_wire(r) for r in rows], "cursor": cursor, "more": more})

    def _authorised(self, request: Request) -> bool:
        """The bearer token, or the basic credentials, the server was started with."""
        given = request.headers.get("authorization")
        if self.token and given != f"Bearer {self.token}":
            return False
        return not (self.basic and given != self.basic)

    async def admin_persons(self, request: Request) -> JSONResponse:
        if not self._authorised(request):
            return _problem(401, "valid credentials are required")
        body = await request.json()
        return JSONResponse({"cursor": str(self.upsert(list(body.get("persons") or [])))})

    async def admin_fail(self, request: Request) -> JSONResponse:
        body = await request.json()
        after = body.get("retry_after")
        for _ in range(int(body.get("count", 1))):
            self._fail.append((int(body.get("status", 503)), None if after is None else str(after)))
        return JSONResponse({"queued": len(self._fail)})

    async def admin_stats(self, request: Request) -> JSONResponse:
        return JSONResponse({"requests": self.requests, "cursor": str(self.seq)})


def _wire(row: dict[str, Any]) -> dict[str, Any]:
    return {c: row[c] for c in REGISTER_COLUMNS}


class FakeRegisterServer:
    """:class:`FakeRegister` served by uvicorn in a thread on ``host`` (port 0: any free
    one; :attr:`url` says which). A context manager; ``stop`` ends it (the port refuses)."""

    def __init__(
        self, register: FakeRegister, host: str = "127.0.0.1", port: int = 0, **tls: Any
    ) -> None:
        """``tls``: uvicorn's ``ssl_certfile``, ``ssl_keyfile``, ``ssl_ca_certs`` and
        ``ssl_cert_reqs`` (``ssl.CERT_REQUIRED``: a client certificate, i.e. mTLS)."""
        self.register = register
        self._scheme = "https" if tls.get("ssl_certfile") else "http"
        config = uvicorn.Config(register.app, host=host, port=port, log_level="warning", **tls)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="fake-register", daemon=True)
        self.url = ""

    def start(self) -> FakeRegisterServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake register did not start")
            time.sleep(0.01)
        host, port = self._server.servers[0].sockets[0].getsockname()[:2]
        self.url = f"{self._scheme}://{host}:{port}"
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> FakeRegisterServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
