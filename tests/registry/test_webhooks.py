"""Webhooks (registry/changes/webhooks.py, delivery.py) against a real receiver on 127.0.0.1
(gateways/webhookpeer.py) that checks each signature; on SQLite and PostgreSQL.

What is asserted comes from what the receiver recorded and the tables' rows; the signature is
recomputed here with ``hmac`` from the spec's recipe, not with the code under test."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from tiemchung.core import Platform
from tiemchung.gateways.webhookpeer import WebhookPeer
from tiemchung.registry.changes import webhooks
from tiemchung.registry.changes.delivery import Deliverer, DeliveryConfig
from tiemchung.registry.changes.log import Change, append
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.models import AuditEvent
from tiemchung.registry.scope import Actor, Role
from tiemchung.registry.tables.changes import ApiClient
from tiemchung.registry.tables.webhooks import WebhookDeadLetter, WebhookSubscription

CENTRAL = Actor.system("test")
T0 = datetime(2026, 12, 7, 5, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves, so backoff waits pass without sleeping."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def _client(
    platform: Platform,
    cid: str,
    role: str = "central",
    prov: str | None = None,
    ward: str | None = None,
) -> None:
    with platform.sessions() as s:
        s.add(
            ApiClient(
                client_id=cid,
                name=cid,
                secret_hash="x",
                scopes=[],
                role=role,
                province_code=prov,
                ward_code=ward,
            )
        )
        s.commit()


def _changes(
    platform: Platform,
    n: int,
    *,
    prov: str = "01",
    ward: str = "00004",
    resource: str = "Immunization",
    start: int = 1,
) -> None:
    with platform.sessions() as s:
        append(
            s.connection(),  # log.lock reads the dialect off a Connection
            [
                Change(resource, str(start + i), "created", "api", None, ward, prov)
                for i in range(n)
            ],
        )
        s.commit()


def _subscribe(
    platform: Platform,
    cid: str,
    url: str,
    resources: list[str] | None = None,
    actor: Actor = CENTRAL,
) -> webhooks.Added:
    with platform.sessions() as s:
        added = webhooks.add_subscription(s, actor, cid, url, resources)
        s.commit()
    return added


def _sub(platform: Platform, sub_id: int) -> WebhookSubscription:
    with platform.sessions() as s:
        row = s.get(WebhookSubscription, sub_id)
        assert row is not None
        return row


def _cfg(**kw: object) -> DeliveryConfig:
    base: dict[str, object] = {
        "worker": "w1",
        "public_url": "https://tc.example.vn",
        "backoff": 1.0,
        "max_attempts": 3,
        "pause_after": 2,
    }
    base.update(kw)
    return DeliveryConfig(**base)  # type: ignore[arg-type]


def _drain(d: Deliverer, clock: Clock, rounds: int = 40) -> None:
    """Steps, moving the clock past any backoff, until a step has nothing to do twice."""
    idle = 0
    for _ in range(rounds):
        if d.step() == 0:
            idle += 1
            if idle >= 2:
                return
            clock.advance(5)
        else:
            idle = 0


def test_batches_signed_thin_and_the_cursor_moves(platform: Platform) -> None:
    _client(platform, "app")
    _changes(platform, 5)
    with WebhookPeer() as peer:
        added = _subscribe(platform, "app", peer.url)
        peer.secret = added.secret
        assert added.secret.startswith("whsec_")
        clock = Clock()
        d = Deliverer(platform.sessions, _cfg(batch=2), clock)
        try:
            _drain(d, clock)
        finally:
            d.close()
        assert peer.bad == 0
        assert sorted(peer.seqs) == [1, 2, 3, 4, 5]
        assert [b.webhook_id for b in peer.batches] == ["1..2", "3..4", "5..5"]
        ev = peer.batches[0].events[0]
        assert set(ev) == {"seq", "resource", "id", "action", "at", "url"}
        assert ev["url"] == "https://tc.example.vn/fhir/R4/Immunization/1"
        assert ev["action"] == "created"
    sub = _sub(platform, added.subscription.id)
    assert sub.cursor == 5 and sub.delivered_events == 5 and sub.lease_by is None
    with platform.sessions() as s:
        n = len(s.scalars(select(AuditEvent).where(AuditEvent.action == "webhook.deliver")).all())
    assert n == 3
    # the secret is never listed again
    with platform.sessions() as s:
        listed = webhooks.list_subscriptions(s, CENTRAL)
    assert "secret" not in vars(listed[0]) and listed[0].cursor == 5


def test_signature_matches_the_spec_recipe() -> None:
    secret = webhooks.new_secret()
    body = b'{"events": []}'
    key = base64.b64decode(secret.removeprefix("whsec_"))
    want = base64.b64encode(hmac.new(key, b"7..9.1700000000." + body, hashlib.sha256).digest())
    assert webhooks.sign(secret, "7..9", 1700000000, body) == "v1," + want.decode()
    now = int(time.time())
    good = {
        "webhook-id": "a",
        "webhook-timestamp": str(now),
        "webhook-signature": webhooks.sign(secret, "a", now, body),
    }
    assert webhooks.verify(secret, good, body)
    assert not webhooks.verify(secret, good, body + b" ")
    assert not webhooks.verify(webhooks.new_secret(), good, body)
    old = {
        **good,
        "webhook-timestamp": str(now - 600),
        "webhook-signature": webhooks.sign(secret, "a", now - 600, body),
    }
    assert not webhooks.verify(secret, old, body)


def test_wrong_secret_is_refused_and_retried(platform: Platform) -> None:
    _client(platform, "app")
    _changes(platform, 1)
    with WebhookPeer("whsec_" + base64.b64encode(b"k" * 32).decode()) as peer:
        added = _subscribe(platform, "app", peer.url)
        clock = Clock()
        d = Deliverer(platform.sessions, _cfg(), clock)
        try:
            d.step()
        finally:
            d.close()
        assert peer.bad == 1 and not peer.batches
    sub = _sub(platform, added.subscription.id)
    assert sub.cursor == 0 and sub.attempts == 1 and "401" in (sub.last_error or "")


def test_area_and_resource_filter(platform: Platform) -> None:
    _client(platform, "hn", role="province", prov="01")
    _client(platform, "ward", role="commune", prov="79", ward="26734")
    _changes(platform, 2, prov="01", ward="00004", start=1)  # seq 1, 2
    _changes(platform, 2, prov="79", ward="26734", start=3)  # seq 3, 4
    _changes(platform, 1, prov="79", ward="26737", start=5)  # seq 5
    _changes(platform, 1, prov="01", ward="00004", resource="Patient", start=6)  # seq 6
    with WebhookPeer() as p1, WebhookPeer() as p2:
        a1 = _subscribe(platform, "hn", p1.url, ["Immunization"])
        a2 = _subscribe(platform, "ward", p2.url)
        p1.secret, p2.secret = a1.secret, a2.secret
        clock = Clock()
        d = Deliverer(platform.sessions, _cfg(), clock)
        try:
            _drain(d, clock)
        finally:
            d.close()
        assert sorted(p1.seqs) == [1, 2]
        assert sorted(p2.seqs) == [3, 4]
    # the skipped rows moved both cursors to the head
    assert _sub(platform, a1.subscription.id).cursor == 6
    assert _sub(platform, a2.subscription.id).cursor == 6


def test_retries_keep_the_batch_and_its_id(platform: Platform) -> None:
    _client(platform, "app")
    _changes(platform, 3)
    with WebhookPeer(fail_next=2) as peer:
        added = _subscribe(platform, "app", peer.url)
        peer.secret = added.secret
        clock = Clock()
        d = Deliverer(platform.sessions, _cfg(max_attempts=5), clock)
        try:
            d.step()
            sub = _sub(platform, added.subscription.id)
            assert sub.attempts == 1 and sub.batch_end == 3
            # exponential backoff with jitter: 0.5-1.0 × 1 s after the first failure
            wait = sub.next_attempt_at
            assert wait is not None
            wait = wait if wait.tzinfo else wait.replace(tzinfo=UTC)
            assert 0.5 <= (wait - clock.now).total_seconds() <= 1.0
            _changes(platform, 2, start=4)  # arrive meanwhile: not part of the retried batch
            assert d.step() == 0  # not due yet
            clock.advance(1.0)
            d.step()  # fails again
            sub = _sub(platform, added.subscription.id)
            wait = sub.next_attempt_at
            assert wait is not None
            wait = wait if wait.tzinfo else wait.replace(tzinfo=UTC)
            assert 1.0 <= (wait - clock.now).total_seconds() <= 2.0
            clock.advance(2.0)
            _drain(d, clock)
        finally:
            d.close()
        assert peer.failed == 2
        assert [b.webhook_id for b in peer.batches] == ["1..3", "4..5"]
    sub = _sub(platform, added.subscription.id)
    assert sub.cursor == 5 and sub.attempts == 0 and sub.last_error is None


def test_dead_letters_pause_and_replay(platform: Platform) -> None:
    _client(platform, "app")
    _changes(platform, 2)
    with WebhookPeer() as peer:
        added = _subscribe(platform, "app", peer.url)
        peer.secret = added.secret
        sub_id = added.subscription.id
        peer.stop()  # the partner is down
        clock = Clock()
        d = Deliverer(platform.sessions, _cfg(batch=1, max_attempts=3, pause_after=2), clock)
        try:
            _drain(d, clock)
            sub = _sub(platform, sub_id)
            # two batches given up after 3 attempts each, then paused
            assert sub.status == "paused" and sub.cursor == 2 and sub.dead_total == 2
            with platform.sessions() as s:
                dead = webhooks.list_dead(s, CENTRAL, sub_id)
            assert [(x.first_seq, x.attempts, x.status) for x in dead] == [
                (2, 3, "dead"),
                (1, 3, "dead"),
            ]
            assert "ConnectError" in (dead[0].last_error or "")
            peer.start()
            _changes(platform, 1, start=3)
            _drain(d, clock)
            assert not peer.batches  # paused: nothing goes
            with platform.sessions() as s:
                webhooks.replay(s, CENTRAL, dead[1].id)
                webhooks.set_status(s, CENTRAL, sub_id, "active")
                s.commit()
            _drain(d, clock)
        finally:
            d.close()
        assert [b.webhook_id for b in peer.batches] == ["1..1", "3..3"]
    with platform.sessions() as s:
        rows = {r.first_seq: r.status for r in s.scalars(select(WebhookDeadLetter))}
        with pytest.raises(ServiceError) as again:
            webhooks.replay(s, CENTRAL, dead[1].id)
    assert rows == {1: "replayed", 2: "dead"}
    assert again.value.status == 409


def test_lease_keeps_a_second_deliverer_out_and_a_crash_resends(platform: Platform) -> None:
    _client(platform, "app")
    _changes(platform, 2)
    with WebhookPeer() as peer:
        added = _subscribe(platform, "app", peer.url)
        peer.secret = added.secret
        clock = Clock()
        cfg1 = _cfg(worker="w1")
        from tiemchung.registry.changes import delivery

        # w1 claims and POSTs, then "dies" before recording the answer
        with platform.sessions() as s:
            top = delivery.head(s)
            claimed = delivery.claim(s, cfg1, clock(), top)
            s.commit()
        assert [c.id for c in claimed] == [added.subscription.id]
        with platform.sessions() as s:
            events, _ = delivery.read_batch(s, claimed[0], top, 100, cfg1.public_url)
        with httpx.Client() as http:
            assert delivery.post(http, peer.url, added.secret, events, clock()) is None
        d2 = Deliverer(platform.sessions, _cfg(worker="w2"), clock)
        try:
            assert d2.step() == 0  # w1's lease still holds
            clock.advance(cfg1.lease.total_seconds() + 1)
            _drain(d2, clock)
        finally:
            d2.close()
        assert [b.webhook_id for b in peer.batches] == ["1..2", "1..2"]
        assert peer.duplicates() == 2
    assert _sub(platform, added.subscription.id).cursor == 2


def test_run_loop_delivers_within_two_seconds(platform: Platform) -> None:
    _client(platform, "app")
    with WebhookPeer() as peer:
        added = _subscribe(platform, "app", peer.url)
        peer.secret = added.secret
        d = Deliverer(platform.sessions, _cfg())
        stop = threading.Event()
        t = threading.Thread(target=d.run, args=(stop,))
        t.start()
        try:
            time.sleep(0.3)
            t0 = time.time()
            _changes(platform, 1)
            while not peer.batches and time.time() - t0 < 5:
                time.sleep(0.02)
        finally:
            stop.set()
            t.join(5)
        assert peer.batches and peer.batches[0].received - t0 < 2.0


def test_who_manages_and_bad_input(platform: Platform) -> None:
    _client(platform, "hn", role="province", prov="01")
    _client(platform, "hcm", role="province", prov="79")
    hn = Actor(user_id=None, username="hn", role=Role.PROVINCE, province_code="01")
    site = Actor(user_id=None, username="s", role=Role.SITE, province_code="01", site_id="S1")
    with platform.sessions() as s:
        webhooks.add_subscription(s, hn, "hn", "https://hn.example.vn/hook")
        with pytest.raises(ServiceError) as other:
            webhooks.add_subscription(s, hn, "hcm", "https://x.example.vn/hook")
        with pytest.raises(ServiceError) as role:
            webhooks.list_subscriptions(s, site)
        with pytest.raises(ServiceError) as url:
            webhooks.add_subscription(s, hn, "hn", "ftp://x")
        with pytest.raises(ServiceError) as res:
            webhooks.add_subscription(s, hn, "hn", "https://h/x", ["Observation"])
        s.commit()
        listed = webhooks.list_subscriptions(s, hn)
    assert other.value.status == 404 and role.value.status == 403
    assert url.value.problems[0].field == "url" and "URL" in url.value.problems[0].message_vi
    assert res.value.problems[0].field == "resources"
    assert "Observation" in res.value.problems[0].message_en
    assert [x.client_id for x in listed] == ["hn"]


def test_two_deliverers_at_once_send_each_change_once(platform: Platform) -> None:
    """Two deliverers (two server processes' threads) polling together over three
    subscriptions: without a crash, every event reaches each receiver exactly once."""
    for c in ("a", "b", "c"):
        _client(platform, c)
    peers = [WebhookPeer() for _ in range(3)]
    try:
        for c, p in zip(("a", "b", "c"), peers, strict=True):
            p.secret = _subscribe(platform, c, p.url).secret
        stop = threading.Event()
        ds = [
            Deliverer(platform.sessions, _cfg(worker=f"w{i}", batch=7, poll=0.01)) for i in range(2)
        ]
        threads = [threading.Thread(target=d.run, args=(stop,)) for d in ds]
        for t in threads:
            t.start()
        try:
            for k in range(20):
                _changes(platform, 10, start=k * 10 + 1)
                time.sleep(0.02)
            deadline = time.time() + 30
            while time.time() < deadline and any(len(p.seqs) < 200 for p in peers):
                time.sleep(0.05)
        finally:
            stop.set()
            for t in threads:
                t.join(10)
        for p in peers:
            assert sorted(p.seqs) == list(range(1, 201))
            assert p.duplicates() == 0 and p.bad == 0
    finally:
        for p in peers:
            p.stop()


def test_a_replay_past_the_head_leaves_the_cursor_where_it_is(platform: Platform) -> None:
    _client(platform, "app")
    _changes(platform, 3)
    with WebhookPeer() as peer:
        added = _subscribe(platform, "app", peer.url)
        peer.secret = added.secret
        sub_id = added.subscription.id
        with platform.sessions() as s:
            s.add(
                WebhookDeadLetter(
                    subscription_id=sub_id,
                    first_seq=1,
                    last_seq=1,
                    events=[
                        {
                            "seq": 1,
                            "resource": "Immunization",
                            "id": "1",
                            "action": "created",
                            "at": "",
                            "url": "",
                        }
                    ],
                    attempts=3,
                    last_error="HTTP 500",
                    status="replay",
                )
            )
            row = s.get(WebhookSubscription, sub_id)
            assert row is not None
            row.cursor = 10  # past the head (a --from-seq ahead): claimed only for the replay
            s.commit()
        clock = Clock()
        d = Deliverer(platform.sessions, _cfg(), clock)
        try:
            _drain(d, clock)
        finally:
            d.close()
        assert [b.webhook_id for b in peer.batches] == ["1..1"]
    assert _sub(platform, sub_id).cursor == 10
