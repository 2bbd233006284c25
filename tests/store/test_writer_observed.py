"""What monitoring reads of the writer (issue 20 point 3): it is alive until stopped, and its
batch observer is told the size of every committed batch, which add up to the jobs done."""

from __future__ import annotations

import threading

from sqlalchemy import text
from sqlalchemy.orm import Session

from tiemchung.store.db import make_engine, make_sessionmaker
from tiemchung.store.writer import Writer


def test_batches_are_observed_and_the_thread_is_watched(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/w.db")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    writer = Writer(make_sessionmaker(engine))
    sizes: list[int] = []
    writer.on_batch = sizes.append
    assert not writer.alive() and writer.queue_depth() == 0
    entered, gate = threading.Event(), threading.Event()
    writer.start()
    assert writer.alive()

    def held(session: Session) -> None:
        entered.set()
        gate.wait(10)

    # hold the writer inside a first job, so that the next ten wait in the queue meanwhile
    first = writer.submit(held)
    assert entered.wait(10)
    jobs = [
        writer.submit(lambda s, n=n: s.execute(text("INSERT INTO t VALUES (:n)"), {"n": n}))
        for n in range(10)
    ]
    assert writer.queue_depth() == 10
    gate.set()
    for fut in [first, *jobs]:
        fut.result(10)
    writer.stop()
    assert not writer.alive()
    assert sizes == [1, 10]  # the held job's batch, then the ten committed together
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 10
    engine.dispose()


def test_a_failing_observer_does_not_fail_the_write(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/w.db")
    writer = Writer(make_sessionmaker(engine)).start()

    def broken(size: int) -> None:
        raise RuntimeError("monitoring down")

    writer.on_batch = broken
    assert writer.run(lambda s: _one(s)) == 1
    writer.stop()
    engine.dispose()


def _one(session: Session) -> int:
    return int(session.execute(text("SELECT 1")).scalar_one())
