"""The outbox (registry/messages/outbox.py) over SQLite and PostgreSQL: a message exists
exactly when the transaction that queued it commits, a key queues once, and a number that
cannot be texted is kept and listed rather than sent."""

from __future__ import annotations

import pytest
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


def test_many_at_once_follow_the_same_rules(platform: Platform) -> None:
    from tiemchung.registry.messages.outbox import Text, enqueue_many

    with platform.sessions() as s:
        s.add(SmsOptOut(phone="0987654321", source="keyword"))
        first = enqueue(s, phone="0912345678", body="old", kind="reminder", dedupe_key="r:1")
        s.commit()
        old_id = first.message.message_id
    texts = [
        Text(phone="0912 345 678", body="again", kind="reminder", dedupe_key="r:1"),
        Text(phone="+84 903 000 111", body="a", kind="invitation", dedupe_key="r:2"),
        Text(phone="0903000111", body="twice in one call", kind="invitation", dedupe_key="r:2"),
        Text(phone="0987 654 321", body="b", kind="invitation"),
        Text(phone="12345", body="c", kind="invitation", ref_type="invitation", ref_id=7),
        Text(phone="0168 234 5678", body="d", kind="invitation"),
    ]
    with platform.sessions() as s:
        out = enqueue_many(s, texts)
        s.commit()
    assert [(q.status, q.created) for q in out] == [
        ("queued", False),
        ("queued", True),
        ("queued", False),
        ("opted_out", True),
        ("invalid", True),
        ("queued", True),
    ]
    assert out[0].message_id == old_id and out[2].message_id == out[1].message_id
    with platform.sessions() as s:
        rows = {m.body: m for m in s.scalars(select(OutboxMessage))}
    assert set(rows) == {"old", "a", "b", "c", "d"}  # 1 before + 4 new, none twice
    assert rows["a"].phone == "0903000111" and rows["d"].phone == "0382345678"
    assert rows["c"].ref_id == "7" and rows["c"].last_error.startswith("phone:")
    with platform.sessions() as s, pytest.raises(ValueError, match="advert"):
        enqueue_many(s, [Text(phone="0912345678", body="x", kind="advert")])
