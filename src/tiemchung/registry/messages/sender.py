"""The sender (``tiemchung worker``): the outbox to a gateway, at least once, never twice.

One step: claim a batch of due messages (``queued`` and due, or ``sending`` under a claim
older than the timeout: a crashed sender's) in one short transaction that marks them
``sending`` with our name and the time, commit; submit them; record each answer (``sent``
with the gateway's id, or back to ``queued`` after an exponential backoff, or ``failed`` at
the last attempt) in a second transaction. A crash between the two leaves messages
``sending``; they are claimed again after the timeout and submitted with the **same**
``message_id``, which the gateway's peer uses to drop the repeat (``gateway.py``).

Between steps the gateway's delivery receipts move ``sent`` to ``delivered`` or
``undelivered``, and a handset's "TC HUY" puts its number on the opt-out list. Quiet hours
(Vietnam time) hold everything but one-time codes; the gateway's rate limit paces submits.
Each step writes one audit event with its counts (a message is not an event of its own: the
invitation or reminder that queued it is).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time as _time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, and_, bindparam, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from tiemchung.identity.sms import encoding_for, prepare, segment_count
from tiemchung.registry.messages.gateway import Gateway, Inbound, Outgoing, Receipt, Submitted
from tiemchung.registry.messages.optout import is_opt_out, opt_out
from tiemchung.registry.scope import Actor
from tiemchung.registry.tables.messages import OutboxMessage, SmsOptOut
from tiemchung.store.audit import audit

MESSAGES = cast(Table, OutboxMessage.__table__)
log = logging.getLogger(__name__)
BACKOFF_MAX = 6 * 3600.0


def parse_quiet_hours(text: str) -> tuple[time, time] | None:
    """``"21:00-07:00"`` → (21:00, 07:00); empty → None. Raises ValueError naming the form."""
    if not text.strip():
        return None
    try:
        start, end = (time.fromisoformat(p.strip()) for p in text.split("-"))
    except ValueError as exc:
        raise ValueError(
            f"TIEMCHUNG_SMS_QUIET_HOURS={text!r}: 'HH:MM-HH:MM' expected (dạng 'HH:MM-HH:MM')"
        ) from exc
    return start, end


def in_quiet_hours(local: time, quiet: tuple[time, time] | None) -> bool:
    """Whether a local time of day is inside the quiet window (which may cross midnight)."""
    if quiet is None:
        return False
    start, end = quiet
    if start <= end:
        return start <= local < end
    return local >= start or local < end


@dataclass(frozen=True)
class SenderConfig:
    """How one sender works; ``from_settings`` reads the ``TIEMCHUNG_SMS_*`` settings."""

    worker: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    batch: int = 500
    claim_timeout: timedelta = timedelta(minutes=5)
    max_attempts: int = 8
    backoff: float = 30.0
    keep_accents: bool = False
    quiet: tuple[time, time] | None = (time(21), time(7))
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Ho_Chi_Minh"))

    @classmethod
    def from_settings(cls, settings: Any, worker: str | None = None) -> SenderConfig:
        extra = {"worker": worker} if worker else {}
        return cls(
            batch=settings.sms_batch,
            claim_timeout=timedelta(seconds=settings.sms_claim_timeout_s),
            max_attempts=settings.sms_max_attempts,
            backoff=settings.sms_backoff_s,
            keep_accents=settings.sms_keep_accents,
            quiet=parse_quiet_hours(settings.sms_quiet_hours),
            tz=ZoneInfo(settings.timezone),
            **extra,
        )

    def retry_delay(self, attempts: int) -> timedelta:
        """After the n-th failed attempt: backoff × 2^(n-1), at most six hours."""
        return timedelta(seconds=min(self.backoff * 2 ** max(attempts - 1, 0), BACKOFF_MAX))


@dataclass(frozen=True)
class Claimed:
    id: int
    message_id: str
    phone: str
    body: str
    kind: str
    attempts: int
    keep_accents: bool | None = None


def claim(session: Session, cfg: SenderConfig, now: datetime) -> list[Claimed]:
    """Mark up to ``cfg.batch`` due messages ``sending`` for us (the caller commits).

    PostgreSQL skips rows another sender has locked, so two senders never claim one message
    at once; SQLite has one writer at a time anyway. A number on the opt-out list is marked
    ``opted_out`` here, not sent."""
    due = or_(
        and_(
            MESSAGES.c.status == "queued",
            or_(MESSAGES.c.next_attempt_at.is_(None), MESSAGES.c.next_attempt_at <= now),
        ),
        and_(MESSAGES.c.status == "sending", MESSAGES.c.claimed_at < now - cfg.claim_timeout),
    )
    if in_quiet_hours(now.astimezone(cfg.tz).time(), cfg.quiet):
        due = and_(due, MESSAGES.c.kind == "otp")
    ids = (
        select(MESSAGES.c.id)
        .where(due)
        .order_by(MESSAGES.c.id)
        .limit(cfg.batch)
        .with_for_update(skip_locked=True)
    )
    rows = session.execute(
        update(MESSAGES)
        .where(MESSAGES.c.id.in_(ids.scalar_subquery()))
        .values(status="sending", claimed_by=cfg.worker, claimed_at=now)
        .returning(
            MESSAGES.c.id,
            MESSAGES.c.message_id,
            MESSAGES.c.phone,
            MESSAGES.c.body,
            MESSAGES.c.kind,
            MESSAGES.c.attempts,
            MESSAGES.c.keep_accents,
        )
    ).all()
    claimed = sorted((Claimed(*r) for r in rows), key=lambda c: c.id)
    if not claimed:
        return []
    phones = {c.phone for c in claimed}
    stopped = set(session.scalars(select(SmsOptOut.phone).where(SmsOptOut.phone.in_(phones))))
    if stopped:
        out = [c.id for c in claimed if c.phone in stopped and c.kind != "otp"]
        if out:
            session.execute(
                update(MESSAGES)
                .where(MESSAGES.c.id.in_(out))
                .values(status="opted_out", claimed_by=None, claimed_at=None)
            )
        claimed = [c for c in claimed if c.id not in set(out)]
    return claimed


def outgoing(claimed: Claimed, cfg: SenderConfig) -> Outgoing:
    """The text as it will be sent (unaccented unless kept) and its alphabet and segments.

    A message whose template keeps its accents says so (``keep_accents``); any other follows
    the installation's setting."""
    keep = cfg.keep_accents if claimed.keep_accents is None else claimed.keep_accents
    text = prepare(claimed.body, keep_accents=keep)
    enc = encoding_for(text)
    return Outgoing(claimed.message_id, claimed.phone, text, enc, segment_count(text, enc))


def record(
    session: Session,
    cfg: SenderConfig,
    gateway_name: str,
    sent: Sequence[tuple[Claimed, Outgoing, Submitted]],
    now: datetime,
) -> dict[str, int]:
    """Store each gateway answer (only on rows still claimed by us); the counts, audited."""
    rows: list[dict[str, Any]] = []
    counts = {"sent": 0, "retry": 0, "failed": 0}
    for c, out, answer in sent:
        attempts = c.attempts + 1
        row: dict[str, Any] = {
            "b_id": c.id,
            "b_attempts": attempts,
            "b_segments": out.segments,
            "b_gateway": gateway_name,
            "b_gid": answer.gateway_message_id,
            "b_error": answer.error,
            "b_sent_at": None,
            "b_next": None,
        }
        if answer.accepted:
            row["b_status"], row["b_sent_at"] = "sent", now
            counts["sent"] += 1
        elif answer.retry and attempts < cfg.max_attempts:
            row["b_status"], row["b_next"] = "queued", now + cfg.retry_delay(attempts)
            counts["retry"] += 1
        else:
            row["b_status"] = "failed"
            counts["failed"] += 1
        rows.append(row)
    if rows:
        session.execute(
            update(MESSAGES)
            .where(
                MESSAGES.c.id == bindparam("b_id"),
                MESSAGES.c.status == "sending",
                MESSAGES.c.claimed_by == cfg.worker,
            )
            .values(
                status=bindparam("b_status"),
                attempts=bindparam("b_attempts"),
                segments=bindparam("b_segments"),
                gateway=bindparam("b_gateway"),
                gateway_message_id=bindparam("b_gid"),
                last_error=bindparam("b_error"),
                sent_at=bindparam("b_sent_at"),
                next_attempt_at=bindparam("b_next"),
                claimed_by=None,
                claimed_at=None,
            ),
            rows,
        )
        detail = {**counts, "first_id": rows[0]["b_id"], "last_id": rows[-1]["b_id"]}
        audit(session, Actor.system(cfg.worker[:80]), "messages.send", "message", None, detail)
    return counts


def apply_receipts(
    session: Session, gateway_name: str, receipts: Sequence[Receipt], now: datetime
) -> None:
    """Delivered or undelivered, by the gateway's id of each message: one UPDATE per
    outcome (nearly all receipts say the same thing), not one per receipt."""
    groups: dict[tuple[bool, str | None], list[str]] = {}
    for r in receipts:
        groups.setdefault((r.delivered, r.error), []).append(r.gateway_message_id)
    for (delivered, error), gids in groups.items():
        for start in range(0, len(gids), 5000):
            session.execute(
                update(MESSAGES)
                .where(
                    MESSAGES.c.gateway == gateway_name,
                    MESSAGES.c.gateway_message_id.in_(gids[start : start + 5000]),
                    MESSAGES.c.status.in_(("sent", "delivered", "undelivered")),
                )
                .values(
                    status="delivered" if delivered else "undelivered",
                    delivered_at=now if delivered else None,
                    last_error=error,
                )
            )


def apply_inbound(session: Session, inbound: Sequence[Inbound], worker: str) -> int:
    """A handset's "TC HUY" puts its number on the opt-out list; how many were added."""
    actor = Actor.system(worker[:80])
    return sum(
        opt_out(session, m.phone, source="keyword", actor=actor)
        for m in inbound
        if is_opt_out(m.text)
    )


class RateLimit:
    """At most ``rate`` messages a second over time (0: none); ``wait(n)`` before n go."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._next = 0.0

    def wait(self, n: int) -> None:
        if self.rate <= 0:
            return
        now = _time.monotonic()
        start = max(now, self._next)
        self._next = start + n / self.rate
        if start > now:
            _time.sleep(start - now)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Sender:
    """One sender loop over one gateway (``tiemchung worker``, or a thread of ``serve``)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        gateway: Gateway,
        cfg: SenderConfig,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.gateway = gateway
        self.cfg = cfg
        self.clock = clock
        self.limit = RateLimit(gateway.rate)
        # submit in chunks the rate allows in about a second, so a claim is not held long
        self.chunk = max(1, int(gateway.rate)) if gateway.rate > 0 else cfg.batch
        self.totals = {"sent": 0, "retry": 0, "failed": 0, "opted_out": 0}

    def drain(self) -> None:
        """Apply whatever receipts and inbound texts the gateway holds."""
        receipts, inbound = self.gateway.poll()
        if not receipts and not inbound:
            return
        with self.sessions() as s:
            apply_receipts(s, self.gateway.name, receipts, self.clock())
            self.totals["opted_out"] += apply_inbound(s, inbound, self.cfg.worker)
            s.commit()

    def step(self) -> int:
        """One claim, submit and record; how many messages it claimed."""
        self.drain()
        with self.sessions() as s:
            claimed = claim(s, self.cfg, self.clock())
            s.commit()
        if not claimed:
            return 0
        for start in range(0, len(claimed), self.chunk):
            part = claimed[start : start + self.chunk]
            outs = [outgoing(c, self.cfg) for c in part]
            self.limit.wait(len(outs))
            answers = self.gateway.send(outs)
            with self.sessions() as s:
                counts = record(
                    s,
                    self.cfg,
                    self.gateway.name,
                    list(zip(part, outs, answers, strict=True)),
                    self.clock(),
                )
                s.commit()
            for k, v in counts.items():
                self.totals[k] += v
            if counts["retry"] or counts["failed"]:
                refused = next(a for a in answers if not a.accepted)
                log.warning("sms %s: %s (e.g. %s)", self.gateway.name, counts, refused.error)
            else:
                log.info("sms %s: %s", self.gateway.name, counts)
        return len(claimed)

    def run(self, stop: threading.Event, *, idle: float = 0.5) -> None:
        """Steps until ``stop`` is set; waits ``idle`` seconds when nothing is due."""
        while not stop.is_set():
            if self.step() == 0:
                stop.wait(idle)
        self.drain()
