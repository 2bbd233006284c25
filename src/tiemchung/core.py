"""The one core object that the CLI, the HTTP API and the tests all build and share.

It owns the engine, the reference-data cache and the single group-commit writer, so every
entry point writes through the same path with the same guarantees. Use it as a context
manager, ``with Platform(settings) as platform:``: the writer starts on entry and, however the
block ends, drains its queue, stops and the engine is disposed on exit.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from datetime import date, datetime
from functools import cached_property
from types import TracebackType
from typing import TypeVar, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from tiemchung.auth.users import UserState, load_user_state
from tiemchung.certificates.keys import KeyStore
from tiemchung.config import Settings, get_settings
from tiemchung.gateways import build_gateway
from tiemchung.gateways.register_http import build_register
from tiemchung.registry.catalog.products import Catalog
from tiemchung.registry.doses.record import DoseResult, DoseSubmission, record_submissions
from tiemchung.registry.messages.gateway import Gateway
from tiemchung.registry.models import AuditEvent
from tiemchung.registry.people.register_source import RegisterSource, SnapshotRegister
from tiemchung.registry.scope import Actor
from tiemchung.store.db import make_engine, make_sessionmaker
from tiemchung.store.writer import Writer

T = TypeVar("T")

#: Cyclic-GC thresholds for a process that writes (see :func:`tune_gc`).
GC_THRESHOLDS = (50_000, 20, 100)


def tune_gc() -> None:
    """Collect cycles less often than CPython's default (700, 10, 10).

    The dose path allocates some thirty objects per dose (cleaned rows, answers, person
    rows) that live for the whole batch and hold no cycles. With the default thresholds they
    were promoted to the oldest generation and set off a full collection every half second
    under batched ingest, each walking the whole heap for 90-150 ms while holding the GIL —
    stalling the writer thread that every write waits for, and collecting nothing: 27 µs of
    the server's 62 µs per batched dose on PostgreSQL (bench/ingest.py). Cycles are still
    collected, after 50,000 allocations instead of 700.
    """
    gc.set_threshold(*GC_THRESHOLDS)


class Platform:
    """Engine, sessions, catalog and writer for one database."""

    def __init__(self, settings: Settings | None = None, *, database_url: str | None = None):
        self.settings = settings or get_settings()
        self.database_url = database_url or self.settings.resolved_database_url
        self.engine = make_engine(self.database_url)
        self.sessions = make_sessionmaker(self.engine)
        self.catalog = Catalog(self.sessions)
        self.writer = Writer(self.sessions, max_batch=self.settings.writer_max_batch)
        # what services made on first use must finish before the engine goes (see on_close)
        self._closers: list[Callable[[], None]] = []
        self.tz = ZoneInfo(self.settings.timezone)
        self._user_states: dict[int, tuple[float, UserState]] = {}
        # Stored once: the writer groups queued items by handler identity.
        self._dose_handler = self._record_items
        self._audit_handler = self._audit_items

    @cached_property
    def token_secret(self) -> bytes:
        """The token-signing key, read once (``tiemchung init`` creates it)."""
        return self.settings.token_secret()

    @property
    def keys(self) -> KeyStore:
        """The certificate signing keys of this deployment (``tiemchung keys init`` makes them).

        A new store on each call, as before: a store reads its signer once, and a
        ``tiemchung keys rotate`` run beside a live server must be signed with from then on."""
        return KeyStore.for_settings(self.settings)

    def start(self) -> Platform:
        """Start the writer thread; prefer ``with Platform(...)``, which also closes."""
        tune_gc()
        self.writer.start()
        return self

    def __enter__(self) -> Platform:
        try:
            return self.start()
        except BaseException:
            self.close()  # __exit__ does not run when __enter__ raises
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def on_close(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` first when the platform closes: a service started on first use (the
        statistics refresh thread) registers its own wait, so the core imports none of them."""
        self._closers.append(fn)

    def close(self) -> None:
        """Wait for the services' closers, drain and stop the writer, dispose of the engine;
        each step runs even when an earlier one raises, and closing twice is harmless."""
        closers, self._closers = self._closers, []
        try:
            for fn in closers:
                fn()
        finally:
            try:
                self.writer.stop()
            finally:
                self.engine.dispose()

    def today(self) -> date:
        """Vietnam's date now: a dose given today in Hà Nội is not 'in the future'."""
        return datetime.now(self.tz).date()

    async def write(self, job: Callable[[Session], T]) -> T:
        """Run ``job`` on the writer; returns once its group commit is durable."""
        return await asyncio.wrap_future(self.writer.submit(job))

    def in_transaction(self, job: Callable[[Session], T]) -> T:
        """Run ``job`` in a transaction of its own on the calling thread and commit it: for
        the rare writes that hash a password (argon2 is deliberately slow) or read a long
        log, which must not hold up the group-commit writer's doses. Call it from a worker
        thread (``run_in_threadpool``) in a server.

        On SQLite the transaction begins IMMEDIATE: one that read first and wrote later would
        fail at once ("database is locked") when another connection (the group-commit
        writer, an upload's job) committed in between; IMMEDIATE waits for the lock instead."""
        with self.sessions() as session:
            session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
            result = job(session)
            session.commit()
            return result

    async def record_dose(self, actor: Actor, sub: DoseSubmission) -> DoseResult:
        """Record one dose; concurrent calls are checked and inserted together."""
        fut = self.writer.submit_item(self._dose_handler, (actor, sub))
        return await asyncio.wrap_future(fut)  # type: ignore[no-any-return]

    async def audit_read(self, actor: Actor, action: str, entity: str, ids: list[str]) -> None:
        """Append read events; concurrent reads share one insert and one commit."""
        if ids:
            await asyncio.wrap_future(
                self.writer.submit_item(self._audit_handler, (actor, action, entity, ids))
            )

    def _record_items(
        self, session: Session, items: list[tuple[Actor, DoseSubmission]]
    ) -> list[DoseResult]:
        return record_submissions(session, self.catalog, items, today=self.today())

    @staticmethod
    def _audit_items(
        session: Session, items: list[tuple[Actor, str, str, list[str]]]
    ) -> list[None]:
        rows = [
            {
                "user_id": a.user_id,
                "username": a.username,
                "action": action,
                "entity": entity,
                "entity_id": eid,
                "detail": None,
            }
            for a, action, entity, ids in items
            for eid in ids
        ]
        session.execute(insert(cast(Table, AuditEvent.__table__)), rows)
        return [None] * len(items)

    def user_active(self, user_id: int, ttl: float = 30.0) -> bool:
        """Whether a token's user is still active (cached briefly: checked on every request)."""
        return self.user_state(user_id, ttl).active

    def user_state(self, user_id: int, ttl: float = 30.0) -> UserState:
        """A token's user as every request checks it (active, forced password change, token
        version), cached briefly. A change made in this process (the users page and API) is
        seen at once through :meth:`forget_user`; one made by another process (the CLI)
        within ``ttl`` seconds."""
        now = time.monotonic()
        hit = self._user_states.get(user_id)
        if hit is not None and now - hit[0] < ttl:
            return hit[1]
        with self.sessions() as s:
            state = load_user_state(s, user_id)
        self._user_states[user_id] = (now, state)
        return state

    def sms_gateway(self) -> Gateway:
        """The SMS gateway ``TIEMCHUNG_SMS_GATEWAY`` names (a new connection each call: the
        caller, one sender, owns and closes it)."""
        return build_gateway(self.settings)

    @cached_property
    def register_remote(self) -> RegisterSource | None:
        """The remote register ``TIEMCHUNG_REGISTER_URL`` names (one client for the process:
        its breaker and cache are shared by every desk), ``None`` for the snapshot only."""
        remote = build_register(self.settings)
        if remote is not None:
            self.on_close(remote.close)
        return remote

    @property
    def register_snapshot(self) -> RegisterSource:
        """The local snapshot (``persons``) as a register source."""
        return SnapshotRegister(self.sessions)

    def forget_user(self, user_id: int) -> None:
        """Drop a user's cached state after changing it (disabled, reset, new role)."""
        self._user_states.pop(user_id, None)
