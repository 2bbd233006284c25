"""The change feed under concurrent writers on PostgreSQL (issue 19 point 3): threads record
doses in transactions of their own and through the group-commit writer, a reviewer corrects
doses meanwhile, and a reader polls with its cursor all along. The reader must end with every
committed change exactly once, in ``seq`` order: a ``seq`` handed out before another but
committed after it would be skipped by a reader that had already moved past it."""

from __future__ import annotations

import random
import threading
import time
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import review_item, submission, world
from tiemchung.auth.users import actor_for
from tiemchung.core import Platform
from tiemchung.registry.changes.feed import read_changes
from tiemchung.registry.doses.record import record_doses
from tiemchung.registry.models import Dose, User
from tiemchung.registry.review import decisions
from tiemchung.registry.scope import Actor
from tiemchung.registry.tables.changes import ChangeEntry

SYSTEM = Actor.system("concurrency-test")
TODAY = date(2022, 6, 1)
THREADS, ROUNDS = 4, 12


def _stranger(rng: random.Random) -> Any:
    """A dose of somebody not in the register, in ward a1 or b1."""
    w = world()
    nid = f"0010{rng.randrange(10**8):08d}"
    return submission(None, national_id=nid, ward_code=w.wards[rng.choice(("a1", "b1"))])


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_polling_reader_gets_every_committed_change_once_in_order(platform: Platform) -> None:
    # the reviewer's items: unverified doses of An typed with a wrong ID digit
    typo = {"full_name": "NGUYỄN VĂN AN", "national_id": "001085123457", "dob": "12/04/1985"}
    items, reviewed = [], []
    for _ in range(6):
        sub = submission(None, ward_code=world().wards["a1"], **typo)
        res = platform.writer.run(
            lambda s, sub=sub: record_doses(s, platform.catalog, SYSTEM, [sub], today=TODAY)
        )
        dose_id = int(res[0].dose["id"])  # type: ignore[index]
        reviewed.append(str(dose_id))
        items.append(
            platform.writer.run(
                lambda s, d=dose_id: review_item(
                    s, d, [("an", 0.97, {"national_id": "001085123456"})]
                )
            )
        )
    with platform.sessions() as s:
        ward = actor_for(s.scalars(select(User).where(User.username == "ward_a1")).one())
    errors: list[BaseException] = []
    done = threading.Event()

    def guarded(fn: Any) -> Any:
        def run(*args: Any) -> None:
            try:
                fn(*args)
            except BaseException as exc:  # the test fails with it below
                errors.append(exc)

        return run

    @guarded
    def own_transactions(n: int) -> None:
        rng = random.Random(n)
        for _ in range(ROUNDS):
            subs = [_stranger(rng) for _ in range(rng.randint(1, 3))]

            def job(s: Session, subs: list[Any] = subs) -> None:
                record_doses(s, platform.catalog, SYSTEM, subs, today=TODAY)
                time.sleep(rng.uniform(0, 0.004))  # commit late: the race a cursor must survive

            platform.in_transaction(job)

    @guarded
    def group_commits() -> None:
        rng = random.Random(99)
        for _ in range(ROUNDS):
            subs = [_stranger(rng) for _ in range(rng.randint(1, 4))]
            platform.writer.run(
                lambda s, subs=subs: record_doses(s, platform.catalog, SYSTEM, subs, today=TODAY)
            )

    @guarded
    def reviewer() -> None:
        for item_id in items:
            platform.in_transaction(lambda s, i=item_id: decisions.accept(s, ward, i))
            time.sleep(0.003)

    read: list[tuple[int, str, str]] = []
    polls = 0

    @guarded
    def reader() -> None:
        nonlocal polls
        cursor = 0
        while True:
            finished = done.is_set()  # read before the poll: a last full drain after it
            page = platform.in_transaction(
                lambda s, c=cursor: read_changes(s, SYSTEM, after=c, limit=7)
            )
            polls += 1
            read.extend((c.seq, c.id, c.action) for c in page.changes)
            cursor = page.next
            if finished and not page.more and not page.changes:
                return

    writers = [threading.Thread(target=own_transactions, args=(n,)) for n in range(THREADS)]
    writers += [threading.Thread(target=group_commits), threading.Thread(target=reviewer)]
    poller = threading.Thread(target=reader)
    poller.start()
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    poller.join(timeout=120)
    assert not errors, errors
    assert not poller.is_alive()
    with platform.sessions() as s:
        stored = [
            (seq, rid, action)
            for seq, rid, action in s.execute(
                select(ChangeEntry.seq, ChangeEntry.resource_id, ChangeEntry.action).order_by(
                    ChangeEntry.seq
                )
            )
        ]
        doses = s.scalar(select(func.count()).select_from(Dose))
    assert read == stored  # every committed change, once, in seq order
    assert polls > 3  # the reader really polled while the writers wrote
    created = [r for r in read if r[2] == "created"]
    assert len(created) == doses
    assert sorted(r[1] for r in read if r[2] == "corrected") == sorted(reviewed)
