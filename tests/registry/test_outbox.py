"""The outbox (registry/messages/outbox.py) over SQLite and PostgreSQL: a message exists
exactly when the transaction that queued it commits, a key queues once, and a number that
cannot be texted is kept and listed rather than sent."""

from __future__ import annotations

from sqlalchemy import func, select

from tiemchung.core import Platform
from tiemchung.registry.messages.outbox import enqueue
from tiemchung.registry.tables.messages import OutboxMessage, SmsOptOut


def _count(platform: Platform) -> int:
    with platform.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(OutboxMessage)) or 0)


def test_a_message_lives_and_dies_with_its_transaction(platform: Platform) -> None:
    with platform.sessions() as s:
        enqueue(s, phone="0912 345 678", body="Moi tiem", kind="invitation")
        s.rollback()
    assert _count(platform) == 0
    with platform.sessions() as s:
        q = enqueue(s, phone="+84 912.345.678", body="Moi tiem", kind="invitation")
        s.commit()
        assert q.created and q.status == "queued"
    with platform.sessions() as s:
        row = s.scalars(select(OutboxMessage)).one()
        assert row.phone == "0912345678"  # the national form
        assert len(row.message_id) == 36 and row.attempts == 0


def test_the_same_key_queues_once(platform: Platform) -> None:
    with platform.sessions() as s:
        first = enqueue(s, phone="0912345678", body="a", kind="reminder", dedupe_key="r:1")
        again = enqueue(s, phone="0912345678", body="b", kind="reminder", dedupe_key="r:1")
        other = enqueue(s, phone="0912345678", body="c", kind="reminder", dedupe_key="r:2")
        s.commit()
        assert first.created and not again.created
        assert again.message.id == first.message.id and again.message.body == "a"
        assert other.message.id != first.message.id
    assert _count(platform) == 2


def test_numbers_that_cannot_be_texted_are_kept_not_sent(platform: Platform) -> None:
    with platform.sessions() as s:
        s.add(SmsOptOut(phone="0987654321", source="keyword"))
        s.flush()
        bad = enqueue(s, phone="12345", body="x", kind="other")
        fixed = enqueue(s, phone="024 3825 1234", body="x", kind="other")
        out = enqueue(s, phone="0987 654 321", body="x", kind="other")
        old = enqueue(s, phone="0168 234 5678", body="x", kind="other")
        s.commit()
        assert (bad.status, fixed.status, out.status) == ("invalid", "invalid", "opted_out")
        assert bad.message.last_error and bad.message.last_error.startswith("phone:")
        assert fixed.message.last_error == "phone_fixed_line"
        assert old.status == "queued" and old.message.phone == "0382345678"  # 2018 prefixes


def test_an_unknown_kind_is_a_programming_error(platform: Platform) -> None:
    with platform.sessions() as s:
        try:
            enqueue(s, phone="0912345678", body="x", kind="advert")
        except ValueError as exc:
            assert "advert" in str(exc)
        else:
            raise AssertionError("an unknown kind was queued")
