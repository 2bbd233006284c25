"""The webhook deliverer: the change log to partners' URLs, at least once, in order.

One step: read the log's head (``max(seq)``), then claim the active subscriptions that are
behind it (or have a dead letter to replay) and not waiting for a retry, by setting a lease
(``lease_by``, ``lease_until``) in one short transaction; PostgreSQL skips rows another
deliverer is claiming (``FOR UPDATE SKIP LOCKED``) and the lease keeps the rest away until it
ends, so two server processes never POST one subscription's batch at once. A lease that ran
out is a crashed deliverer's, and is taken over.

For each claimed subscription: read at most ``batch`` changes after its cursor, up to the
head read at the start (every seq up to it is committed: ``registry/changes/log.py``), within
the client's area (central: all; a province: its province's; a commune: its ward's) and its
resource filter; POST them as one JSON batch of thin events (no personal data: the partner
re-reads the FHIR URL with its own credentials), signed the Standard Webhooks way
(``webhook-id`` = ``<first seq>..<last seq>``, ``webhook-timestamp``, ``webhook-signature``).
Only after a 2xx does the cursor move, in the transaction that releases the lease: a crash
after the POST sends the batch again (at least once; receivers dedupe by ``webhook-id`` or by
each event's ``seq``). A failed batch is retried, the same events under the same id
(``batch_end`` pins its upper seq), after an exponential backoff with jitter; after
``max_attempts`` it becomes a dead letter and the cursor moves past it (a partner that is down
for days must not stop the others, nor fill memory: the dead letters keep what it missed,
and ``replay`` sends them again); ``pause_after`` dead batches in a row pause the
subscription. Changes the area or filter skip move the cursor without a POST.
"""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
from sqlalchemy import ColumnElement, Table, and_, false, func, or_, select, true, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from tiemchung.registry.changes.webhooks import sign
from tiemchung.registry.scope import Actor
from tiemchung.registry.tables.changes import ApiClient, ChangeEntry
from tiemchung.registry.tables.webhooks import WebhookDeadLetter, WebhookSubscription
from tiemchung.store.audit import audit

log = logging.getLogger(__name__)
SUBS = cast(Table, WebhookSubscription.__table__)
BACKOFF_MAX = 600.0


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DeliveryConfig:
    """How one deliverer works; ``from_settings`` reads the ``TIEMCHUNG_WEBHOOK_*`` settings."""

    worker: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:wh")
    public_url: str = "http://localhost:8000"
    batch: int = 100
    timeout: float = 5.0
    lease: timedelta = timedelta(seconds=20)
    max_attempts: int = 8
    backoff: float = 2.0
    pause_after: int = 5
    poll: float = 0.2
    concurrency: int = 8

    @classmethod
    def from_settings(cls, settings: Any, worker: str | None = None) -> DeliveryConfig:
        extra: dict[str, Any] = {"worker": worker} if worker else {}
        return cls(
            public_url=settings.public_url,
            batch=settings.webhook_batch,
            timeout=settings.webhook_timeout_s,
            lease=timedelta(seconds=settings.webhook_lease_s),
            max_attempts=settings.webhook_max_attempts,
            backoff=settings.webhook_backoff_s,
            pause_after=settings.webhook_pause_after,
            poll=settings.webhook_poll_s,
            **extra,
        )

    def retry_delay(self, attempts: int, rng: random.Random) -> timedelta:
        """After the n-th failed attempt: backoff × 2^(n-1) (at most 10 minutes), times a
        random 0.5–1.0 so that partners failing together do not retry together."""
        base = min(self.backoff * 2 ** max(attempts - 1, 0), BACKOFF_MAX)
        return timedelta(seconds=base * rng.uniform(0.5, 1.0))


@dataclass(frozen=True)
class Claimed:
    """A subscription under our lease, with its client's area."""

    id: int
    url: str
    secret: str
    resources: list[str] | None
    cursor: int
    attempts: int
    batch_end: int | None
    dead_in_row: int
    role: str
    province_code: str | None
    ward_code: str | None


def area_filter(role: str, province: str | None, ward: str | None) -> ColumnElement[bool]:
    """The client's area over ``changes``: the SQL form of ``Actor.covers_area`` for a
    partner client (central: every row; a province: its province's; a commune: its ward's;
    anything else: nothing)."""
    if role == "central":
        return true()
    if role == "province" and province:
        return ChangeEntry.province_code == province
    if role in ("commune", "ward") and ward:
        return ChangeEntry.ward_code == ward
    return false()


def head(session: Session) -> int:
    """The log's last seq (0 when empty)."""
    return int(session.scalar(select(func.max(ChangeEntry.seq))) or 0)


def claim(session: Session, cfg: DeliveryConfig, now: datetime, top: int) -> list[Claimed]:
    """Lease the subscriptions with work (the caller commits)."""
    replay_wanted = (
        select(WebhookDeadLetter.id)
        .where(
            WebhookDeadLetter.subscription_id == SUBS.c.id,
            WebhookDeadLetter.status == "replay",
        )
        .exists()
    )
    live_clients = select(ApiClient.id).where(ApiClient.disabled.is_(False))
    due = and_(
        SUBS.c.status == "active",
        SUBS.c.client_id.in_(live_clients),
        or_(SUBS.c.lease_until.is_(None), SUBS.c.lease_until < now),
        or_(SUBS.c.next_attempt_at.is_(None), SUBS.c.next_attempt_at <= now),
        or_(SUBS.c.cursor < top, replay_wanted),
    )
    ids = (
        select(SUBS.c.id).where(due).order_by(SUBS.c.id).limit(64).with_for_update(skip_locked=True)
    )
    got = (
        session.execute(
            update(SUBS)
            .where(SUBS.c.id.in_(ids.scalar_subquery()))
            .values(lease_by=cfg.worker, lease_until=now + cfg.lease)
            .returning(SUBS.c.id)
        )
        .scalars()
        .all()
    )
    if not got:
        return []
    rows = session.execute(
        select(WebhookSubscription, ApiClient)
        .join(ApiClient, ApiClient.id == WebhookSubscription.client_id)
        .where(WebhookSubscription.id.in_(list(got)))
        .order_by(WebhookSubscription.id)
    ).all()
    return [
        Claimed(
            s.id,
            s.url,
            s.secret,
            s.resources,
            s.cursor,
            s.attempts,
            s.batch_end,
            s.dead_in_row,
            c.role,
            c.province_code,
            c.ward_code,
        )
        for s, c in rows
    ]


def read_batch(
    session: Session, sub: Claimed, top: int, batch: int, public_url: str
) -> tuple[list[dict[str, Any]], int]:
    """The events to send after the cursor and the cursor after them: the last event's seq
    for a full batch, else the upper bound read (so skipped rows are passed once)."""
    # never below the cursor: a subscription claimed only for a replay may be at the head
    upper = max(sub.batch_end if sub.batch_end is not None else top, sub.cursor)
    q = select(ChangeEntry).where(
        ChangeEntry.seq > sub.cursor,
        ChangeEntry.seq <= upper,
        area_filter(sub.role, sub.province_code, sub.ward_code),
    )
    if sub.resources:
        q = q.where(ChangeEntry.resource.in_(sub.resources))
    rows = session.scalars(q.order_by(ChangeEntry.seq).limit(batch)).all()
    base = public_url.rstrip("/")
    events = [
        {
            "seq": r.seq,
            "resource": r.resource,
            "id": r.resource_id,
            "action": r.action,
            "at": _iso(r.at),
            "url": f"{base}/fhir/R4/{r.resource}/{r.resource_id}",
        }
        for r in rows
    ]
    end = rows[-1].seq if len(rows) == batch else upper
    return events, end


def _iso(at: datetime) -> str:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).isoformat()


def body_of(events: list[dict[str, Any]]) -> bytes:
    return json.dumps({"type": "tiemchung.changes", "events": events}).encode()


def post(
    client: httpx.Client, url: str, secret: str, events: list[dict[str, Any]], now: datetime
) -> str | None:
    """POST one signed batch; None on a 2xx, else the error in a line."""
    body = body_of(events)
    msg_id = f"{events[0]['seq']}..{events[-1]['seq']}"
    ts = int(now.timestamp())
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(secret, msg_id, ts, body),
    }
    try:
        answer = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= answer.status_code < 300:
        return None
    return f"HTTP {answer.status_code}: {answer.text[:200]}"


def _ours(sub_id: int, cfg: DeliveryConfig) -> ColumnElement[bool]:
    return and_(SUBS.c.id == sub_id, SUBS.c.lease_by == cfg.worker)


class Deliverer:
    """One deliverer loop (``tiemchung worker``, or a thread of ``serve``)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        cfg: DeliveryConfig,
        clock: Callable[[], datetime] = utcnow,
        transport: httpx.BaseTransport | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.sessions = sessions
        self.cfg = cfg
        self.clock = clock
        self.rng = rng or random.Random()
        self.http = httpx.Client(timeout=cfg.timeout, transport=transport)
        self.actor = Actor.system(cfg.worker[:80])
        self.pool = ThreadPoolExecutor(max(1, cfg.concurrency), thread_name_prefix="webhook")
        self.totals = {"delivered": 0, "events": 0, "retry": 0, "dead": 0, "replayed": 0}
        self._lock = threading.Lock()

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.http.close()

    def step(self) -> int:
        """One claim and the claimed subscriptions' batches; how many events were sent
        (acknowledged or not): 0 means there was nothing to do."""
        with self.sessions() as s:
            top = head(s)
        # a transaction of its own: on SQLite a read transaction that then writes fails
        # at once ("database is locked") when another writer committed in between
        with self.sessions() as s:
            claimed = claim(s, self.cfg, self.clock(), top)
            s.commit()
        if not claimed:
            return 0
        return sum(self.pool.map(lambda c: self._deliver(c, top), claimed))

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.totals[key] += n

    def _deliver(self, sub: Claimed, top: int) -> int:
        try:
            sent = self._replay(sub)
            with self.sessions() as s:
                events, end = read_batch(s, sub, top, self.cfg.batch, self.cfg.public_url)
                if not events:
                    s.execute(
                        update(SUBS)
                        .where(_ours(sub.id, self.cfg))
                        .values(cursor=end, batch_end=None, lease_by=None, lease_until=None)
                    )
                    s.commit()
                    return sent
            error = post(self.http, sub.url, sub.secret, events, self.clock())
            with self.sessions() as s:
                if error is None:
                    self._delivered(s, sub, events, end)
                else:
                    self._failed(s, sub, events, end, error)
                s.commit()
            return sent + len(events)
        except Exception:
            log.exception("webhook %s: delivery step failed", sub.id)
            with self.sessions() as s:
                s.execute(
                    update(SUBS)
                    .where(_ours(sub.id, self.cfg))
                    .values(lease_by=None, lease_until=None)
                )
                s.commit()
            return 0

    def _delivered(self, s: Session, sub: Claimed, events: list[dict[str, Any]], end: int) -> None:
        now = self.clock()
        done = s.execute(
            update(SUBS)
            .where(_ours(sub.id, self.cfg))
            .values(
                cursor=end,
                attempts=0,
                batch_end=None,
                next_attempt_at=None,
                last_error=None,
                dead_in_row=0,
                delivered_events=SUBS.c.delivered_events + len(events),
                last_delivered_at=now,
                lease_by=None,
                lease_until=None,
            )
        )
        if done.rowcount:  # type: ignore[attr-defined]
            audit(
                s,
                self.actor,
                "webhook.deliver",
                "webhook",
                sub.id,
                {"first_seq": events[0]["seq"], "last_seq": events[-1]["seq"], "n": len(events)},
            )
        self._count("delivered")
        self._count("events", len(events))

    def _failed(
        self, s: Session, sub: Claimed, events: list[dict[str, Any]], end: int, error: str
    ) -> None:
        now = self.clock()
        attempts = sub.attempts + 1
        if attempts < self.cfg.max_attempts:
            s.execute(
                update(SUBS)
                .where(_ours(sub.id, self.cfg))
                .values(
                    attempts=attempts,
                    batch_end=end,
                    next_attempt_at=now + self.cfg.retry_delay(attempts, self.rng),
                    last_error=error,
                    lease_by=None,
                    lease_until=None,
                )
            )
            self._count("retry")
            log.warning("webhook %s: attempt %d failed: %s", sub.id, attempts, error)
            return
        dead_in_row = sub.dead_in_row + 1
        pause = dead_in_row >= self.cfg.pause_after
        done = s.execute(
            update(SUBS)
            .where(_ours(sub.id, self.cfg))
            .values(
                cursor=end,
                attempts=0,
                batch_end=None,
                next_attempt_at=None,
                last_error=error,
                dead_in_row=dead_in_row,
                dead_total=SUBS.c.dead_total + 1,
                status="paused" if pause else "active",
                paused_reason=(
                    f"{dead_in_row} dead batches in a row / {dead_in_row} lô hỏng liên tiếp"
                    if pause
                    else None
                ),
                lease_by=None,
                lease_until=None,
            )
        )
        if not done.rowcount:  # type: ignore[attr-defined]
            return  # our lease was taken over: the new holder decides
        dead = WebhookDeadLetter(
            subscription_id=sub.id,
            first_seq=events[0]["seq"],
            last_seq=events[-1]["seq"],
            events=events,
            attempts=attempts,
            last_error=error,
            status="dead",
        )
        s.add(dead)
        s.flush()
        detail = {
            "dead_letter": dead.id,
            "first_seq": dead.first_seq,
            "last_seq": dead.last_seq,
            "attempts": attempts,
            "error": error,
            "paused": pause,
        }
        audit(s, self.actor, "webhook.dead", "webhook", sub.id, detail)
        self._count("dead")
        log.warning(
            "webhook %s: batch %s..%s given up: %s", sub.id, dead.first_seq, dead.last_seq, error
        )

    def _replay(self, sub: Claimed) -> int:
        """Send the subscription's dead letters asked for again, oldest first; stop at the
        first that fails (it goes back to ``dead`` with the error)."""
        with self.sessions() as s:
            wanted = s.scalars(
                select(WebhookDeadLetter)
                .where(
                    WebhookDeadLetter.subscription_id == sub.id,
                    WebhookDeadLetter.status == "replay",
                )
                .order_by(WebhookDeadLetter.id)
                .limit(20)
            ).all()
            s.expunge_all()
        sent = 0
        for dead in wanted:
            error = post(self.http, sub.url, sub.secret, list(dead.events), self.clock())
            with self.sessions() as s:
                row = s.get(WebhookDeadLetter, dead.id)
                assert row is not None
                row.attempts += 1
                if error is None:
                    row.status, row.replayed_at = "replayed", self.clock()
                else:
                    row.status, row.last_error = "dead", error
                audit(
                    s,
                    self.actor,
                    "webhook.replayed" if error is None else "webhook.replay_failed",
                    "webhook_dead_letter",
                    dead.id,
                    {"subscription_id": sub.id, "error": error},
                )
                s.commit()
            sent += len(dead.events)
            if error is not None:
                break
            self._count("replayed")
        return sent

    def run(self, stop: threading.Event) -> None:
        """Steps until ``stop`` is set; waits ``poll`` seconds when nothing was to do."""
        try:
            while not stop.is_set():
                try:
                    busy = self.step()
                except OperationalError as exc:  # SQLite busy, a dropped connection: next poll
                    log.warning("webhook deliverer: %s", str(exc).splitlines()[0])
                    busy = 0
                except Exception:
                    log.exception("webhook deliverer step failed")
                    busy = 0
                if busy == 0:
                    stop.wait(self.cfg.poll)
        finally:
            self.close()
