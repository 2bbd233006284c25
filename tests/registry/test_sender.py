"""The sender (registry/messages/sender.py) against real peers on 127.0.0.1: the SMSC
simulator over SMPP, the HTTP provider and the file; on SQLite and PostgreSQL.

Each test's expectations are worked out from the simulator's own records (what reached the
"handset") and the table's rows, never from the sender's return values alone."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from tiemchung.core import Platform
from tiemchung.gateways.file import FileGateway
from tiemchung.gateways.http import HttpGateway
from tiemchung.gateways.httppeer import HttpPeer
from tiemchung.gateways.simulator import SmscSimulator
from tiemchung.gateways.smpp import SmppGateway
from tiemchung.registry.messages.outbox import enqueue
from tiemchung.registry.messages.sender import Sender, SenderConfig
from tiemchung.registry.models import AuditEvent
from tiemchung.registry.tables.messages import OutboxMessage, SmsOptOut

NOON_VN = datetime(2026, 12, 7, 5, 0, tzinfo=UTC)  # 12:00 in Vietnam
NIGHT_VN = datetime(2026, 12, 7, 15, 30, tzinfo=UTC)  # 22:30 in Vietnam


def _queue(platform: Platform, phones: list[str], kind: str = "invitation") -> list[str]:
    with platform.sessions() as s:
        ids = [
            enqueue(s, phone=p, body=f"Mời tiêm mũi {i} – Trạm Y tế", kind=kind).message.message_id
            for i, p in enumerate(phones)
        ]
        s.commit()
    return ids


def _utc(d: datetime | None) -> datetime | None:
    """SQLite gives back naive datetimes (stored in UTC)."""
    return d.replace(tzinfo=UTC) if d is not None and d.tzinfo is None else d


def _rows(platform: Platform) -> dict[str, OutboxMessage]:
    with platform.sessions() as s:
        return {m.message_id: m for m in s.scalars(select(OutboxMessage))}


def _settle(sender: Sender, sim: SmscSimulator, want: int) -> None:
    """Drain receipts until the simulator has sent ``want`` (they arrive asynchronously)."""
    for _ in range(100):
        sender.drain()
        if sim.stats()["submits"] >= want:
            time.sleep(0.05)
            sender.drain()
            return
        time.sleep(0.02)


def test_smpp_sends_each_once_and_receipts_update_status(platform: Platform) -> None:
    phones = [f"09123456{i:02d}" for i in range(30)]
    ids = _queue(platform, phones)
    bad = "84912345601"
    with SmscSimulator(undeliverable=frozenset({bad})) as sim:
        gw = SmppGateway(sim.url + "?window=7")
        sender = Sender(platform.sessions, gw, SenderConfig(worker="t"), clock=lambda: NOON_VN)
        assert sender.step() == 30
        assert sender.step() == 0
        _settle(sender, sim, 30)
        gw.close()
        assert sorted(sim.handset.texts) == sorted(ids)
        assert set(sim.handset.deliveries.values()) == {1}
        first = sim.handset.texts[ids[0]]
        assert first == ("84912345600", "Moi tiem mui 0 - Tram Y te")  # unaccented, GSM-7
    rows = _rows(platform)
    assert rows[ids[1]].status == "undelivered" and rows[ids[1]].delivered_at is None
    others = [rows[i] for i in ids if i != ids[1]]
    assert {r.status for r in others} == {"delivered"}
    assert all(r.gateway_message_id and r.attempts == 1 and r.segments == 1 for r in others)
    assert all(r.claimed_by is None for r in rows.values())
    with platform.sessions() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "messages.send")).one()
        assert event.detail is not None and event.detail["sent"] == 30


def test_one_segment_goes_in_short_message_a_longer_text_whole_in_message_payload(
    platform: Platform,
) -> None:
    one, two = "a" * 160, "Mời tiêm " + "b" * 160
    with platform.sessions() as s:
        ids = [
            enqueue(s, phone="0912345600", body=body, kind="invitation").message.message_id
            for body in (one, two)
        ]
        s.commit()
    with SmscSimulator() as sim:
        gw = SmppGateway(sim.url)
        Sender(platform.sessions, gw, SenderConfig(worker="t"), clock=lambda: NOON_VN).step()
        gw.close()
        assert sim.handset.texts[ids[0]][1] == one
        assert sim.handset.texts[ids[1]][1] == "Moi tiem " + "b" * 160
        assert sim.payload_submits == 1  # the second only
    rows = _rows(platform)
    assert (rows[ids[0]].segments, rows[ids[1]].segments) == (1, 2)


def test_a_refused_submit_backs_off_then_fails_at_the_last_attempt(platform: Platform) -> None:
    ids = _queue(platform, ["0912345600", "0912345601"])
    now = [NOON_VN]
    with SmscSimulator(throttle_first=3) as sim:
        gw = SmppGateway(sim.url)
        cfg = SenderConfig(worker="t", max_attempts=2, backoff=60)
        sender = Sender(platform.sessions, gw, cfg, clock=lambda: now[0])
        sender.step()
        rows = _rows(platform)
        assert {rows[i].status for i in ids} == {"queued"}
        assert {_utc(rows[i].next_attempt_at) for i in ids} == {NOON_VN + timedelta(seconds=60)}
        assert sender.step() == 0  # not due yet
        now[0] = NOON_VN + timedelta(seconds=61)
        sender.step()  # one more refusal (the third), one taken
        gw.close()
        assert len(sim.handset.texts) == 1
    rows = _rows(platform)
    assert sorted(r.status for r in rows.values()) == ["failed", "sent"]
    failed = next(r for r in rows.values() if r.status == "failed")
    assert failed.attempts == 2 and "0x58" in (failed.last_error or "")


def test_quiet_hours_hold_invitations_but_not_codes(platform: Platform) -> None:
    invite = _queue(platform, ["0912345600"])[0]
    code = _queue(platform, ["0912345601"], kind="otp")[0]
    with SmscSimulator() as sim:
        gw = SmppGateway(sim.url)
        sender = Sender(platform.sessions, gw, SenderConfig(worker="t"), clock=lambda: NIGHT_VN)
        assert sender.step() == 1
        gw.close()
        assert list(sim.handset.texts) == [code]
    assert _rows(platform)[invite].status == "queued"


def test_tc_huy_from_the_handset_opts_the_number_out(platform: Platform) -> None:
    ids = _queue(platform, ["0912345600", "0912345601"])
    with SmscSimulator() as sim:
        gw = SmppGateway(sim.url)
        sender = Sender(platform.sessions, gw, SenderConfig(worker="t"), clock=lambda: NIGHT_VN)
        sender.step()  # binds; nothing due at night
        assert sim.send_mo("84912345600", "tc  huỷ") == 1
        time.sleep(0.1)
        sender.drain()
        gw.close()
    with platform.sessions() as s:
        assert s.get(SmsOptOut, "0912345600") is not None
        assert s.get(OutboxMessage, 1) is not None
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "sms.opt_out")).one()
    rows = _rows(platform)
    assert rows[ids[0]].status == "opted_out" and rows[ids[1]].status == "queued"


def test_a_crashed_senders_old_claim_is_taken_back_a_fresh_one_is_not(
    platform: Platform,
) -> None:
    ids = _queue(platform, ["0912345600", "0912345601"])
    with platform.sessions() as s:
        for mid, ago in zip(ids, (10, 1), strict=True):
            s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.message_id == mid)
                .values(
                    status="sending", claimed_by="dead", claimed_at=NOON_VN - timedelta(minutes=ago)
                )
            )
        s.commit()
    with SmscSimulator() as sim:
        gw = SmppGateway(sim.url)
        cfg = SenderConfig(worker="t", claim_timeout=timedelta(minutes=5))
        sender = Sender(platform.sessions, gw, cfg, clock=lambda: NOON_VN)
        assert sender.step() == 1
        gw.close()
        assert list(sim.handset.texts) == [ids[0]]


def test_http_gateway_retries_a_503_and_the_peer_drops_a_repeat(platform: Platform) -> None:
    ids = _queue(platform, ["0912345600", "0912345601"])
    with HttpPeer(token="tok", fail_next=1) as peer:
        gw = HttpGateway(
            peer.url,
            auth_header="Authorization: Bearer tok",
            body_template='{"ref": "{message_id}", "msisdn": "{international}", "sms": "{text}"}',
        )
        now = [NOON_VN]
        sender = Sender(platform.sessions, gw, SenderConfig(worker="t", backoff=1), lambda: now[0])
        sender.step()
        now[0] += timedelta(seconds=2)
        sender.step()
        again = gw.send([sender_outgoing(platform, ids[0])])
        gw.close()
        assert again[0].accepted and peer.duplicates == 1
        assert set(peer.handset) == set(ids) and set(peer.deliveries.values()) == {1}
        assert peer.handset[ids[0]]["msisdn"] == "84912345600"
        assert peer.handset[ids[0]]["sms"].startswith("Moi tiem mui 0")
    rows = _rows(platform)
    assert {rows[i].status for i in ids} == {"sent"}
    assert sorted(rows[i].attempts for i in ids) == [1, 2]


def sender_outgoing(platform: Platform, message_id: str):  # type: ignore[no-untyped-def]
    from tiemchung.registry.messages.sender import Claimed, outgoing

    with platform.sessions() as s:
        m = s.scalars(select(OutboxMessage).where(OutboxMessage.message_id == message_id)).one()
        return outgoing(Claimed(m.id, m.message_id, m.phone, m.body, m.kind, 0), SenderConfig())


def test_file_gateway_writes_each_message_once(platform: Platform, tmp_path: Path) -> None:
    ids = _queue(platform, ["0912345600", "0912345601"])
    path = tmp_path / "sms.jsonl"
    sender = Sender(platform.sessions, FileGateway(path), SenderConfig(worker="t"), lambda: NOON_VN)
    sender.step()
    FileGateway(path).send([sender_outgoing(platform, ids[0])])  # a resend after a restart
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    assert [x["message_id"] for x in lines] == ids
    assert lines[0]["phone"] == "0912345600" and lines[0]["encoding"] == "gsm7"


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_senders_never_claim_the_same_message(platform: Platform) -> None:
    """PostgreSQL's SKIP LOCKED: two senders at once, each message submitted by one only (the
    simulator would count a second submit of an id as a duplicate)."""
    ids = _queue(platform, [f"0912{i:06d}" for i in range(1200)])
    with SmscSimulator() as sim:
        gateways = [SmppGateway(sim.url) for _ in range(2)]
        senders = [
            Sender(platform.sessions, g, SenderConfig(worker=f"w{n}", batch=50), lambda: NOON_VN)
            for n, g in enumerate(gateways)
        ]

        def drain_all(sender: Sender) -> None:
            while sender.step():
                pass

        threads = [threading.Thread(target=drain_all, args=(s,)) for s in senders]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        for g in gateways:
            g.close()
        assert sim.duplicates == 0 and sim.submits == len(ids)
        assert sorted(sim.handset.texts) == sorted(ids)
        assert all(s.totals["sent"] > 0 for s in senders)  # both took a share
