"""The group-commit writer: grouping, per-item failure, and no answer before the commit."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from tiemchung.config import Settings
from tiemchung.core import GC_THRESHOLDS, Platform
from tiemchung.store.db import make_engine, make_sessionmaker
from tiemchung.store.writer import Writer


@pytest.fixture
def writer(tmp_path: Path) -> Any:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (v INTEGER UNIQUE)"))
    w = Writer(make_sessionmaker(engine), max_batch=100)
    yield w, engine
    w.stop()
    engine.dispose()


def _values(engine: Any) -> list[int]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT v FROM t ORDER BY v"))]


def test_queued_items_of_one_handler_run_in_one_call(writer: Any) -> None:
    w, engine = writer
    calls: list[list[int]] = []

    def handler(session: Session, items: list[int]) -> list[int]:
        calls.append(list(items))
        for v in items:
            session.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": v})
        return [v * 10 for v in items]

    futures = [w.submit_item(handler, v) for v in range(5)]  # queued before the thread starts
    w.start()
    assert [f.result(10) for f in futures] == [0, 10, 20, 30, 40]
    assert calls == [[0, 1, 2, 3, 4]]
    assert w.batches == 1
    assert _values(engine) == [0, 1, 2, 3, 4]


def test_a_failing_group_is_retried_item_by_item(writer: Any) -> None:
    w, engine = writer

    def handler(session: Session, items: list[int]) -> list[None]:
        for v in items:
            if v < 0:
                raise ValueError(f"bad item {v}")
            session.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": v})
        return [None] * len(items)

    futures = [w.submit_item(handler, v) for v in (1, 2, -3, 4)]
    w.start()
    assert [f.exception(10) is None for f in futures] == [True, True, False, True]
    assert "bad item -3" in str(futures[2].exception())
    assert _values(engine) == [1, 2, 4]  # the partial work of the failed group was rolled back


def test_a_failing_job_rolls_back_alone(writer: Any) -> None:
    w, engine = writer

    def insert(v: int) -> Any:
        return lambda s: s.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": v}).rowcount

    futures = [w.submit(insert(1)), w.submit(insert(1)), w.submit(insert(2))]  # duplicate
    w.start()
    assert futures[0].result(10) == 1 and futures[2].result(10) == 1
    assert futures[1].exception(10) is not None
    assert _values(engine) == [1, 2]


def test_a_write_that_cannot_reach_the_database_gets_an_error_not_a_result(writer: Any) -> None:
    """With the database locked by another process, the caller hears an error, and nothing
    is stored."""
    w, engine = writer
    w.start()
    blocker = engine.raw_connection()
    blocker.execute("PRAGMA busy_timeout=0")
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        original = w._sessions

        def impatient() -> Session:
            s = original()
            s.connection().exec_driver_sql("PRAGMA busy_timeout=50")
            return s

        w._sessions = impatient
        fut = w.submit(lambda s: s.execute(text("INSERT INTO t (v) VALUES (7)")).rowcount)
        assert fut.exception(10) is not None
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert _values(engine) == []


def test_postgresql_writer_transactions_take_the_lock_and_plan_without_jit(
    platform: Platform,
) -> None:
    """Every writer transaction takes the advisory lock and turns JIT off for itself only
    (the dose path's keyed probes were JIT-compiled when statistics lagged: 400 ms a batch)."""
    if platform.engine.dialect.name != "postgresql":
        pytest.skip("the advisory lock and JIT are PostgreSQL's")
    advisory = text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
    )
    jit, locks = platform.writer.run(
        lambda s: (s.execute(text("SHOW jit")).scalar(), s.execute(advisory).scalar())
    )
    assert (jit, locks) == ("off", 1)
    with platform.sessions() as s:  # set_config(..., true): this transaction only
        assert (s.execute(text("SHOW jit")).scalar(), s.execute(advisory).scalar()) == ("on", 0)


def test_a_started_platform_collects_cycles_less_often(settings: Settings) -> None:
    """Full collections walking the whole heap took 27 of the server's 62 µs per batched
    dose, with the default thresholds (700, 10, 10): a writing process raises them."""
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        with Platform(settings):
            assert gc.get_threshold() == GC_THRESHOLDS
            assert gc.isenabled()  # cycles are still collected, only less often
    finally:
        gc.set_threshold(*before)
