"""`with Platform(settings) as platform:` — the one way the CLI, the demo, the tests and the
benchmarks open the core: it starts the writer, and whatever happens in the block, it drains
the writer's queue, stops it and disposes of the engine on the way out."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, event, func, select

from tests.factories import submission
from tiemchung.certificates.keys import KeyStore
from tiemchung.config import Settings
from tiemchung.core import Platform
from tiemchung.registry.doses.record import DoseResult, record_doses
from tiemchung.registry.models import Dose
from tiemchung.registry.scope import Actor
from tiemchung.store.db import make_engine, make_sessionmaker

SYSTEM = Actor.system("tests")


def _doses(url: str) -> int:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            return int(s.scalar(select(func.count()).select_from(Dose)) or 0)
    finally:
        engine.dispose()


def test_a_raising_block_still_stores_its_dose_and_closes(settings: Settings) -> None:
    disposed: list[Engine] = []
    before = _doses(settings.resolved_database_url)
    with pytest.raises(RuntimeError, match="the body failed"), Platform(settings) as platform:
        event.listen(platform.engine, "engine_disposed", disposed.append)
        assert platform.writer._thread.is_alive()  # entering started the writer
        sub = submission("an")
        queued = platform.writer.submit(
            lambda s: record_doses(s, platform.catalog, SYSTEM, [sub], today=date(2022, 6, 1))
        )
        raise RuntimeError("the body failed")  # before anyone waited for the dose
    assert not platform.writer._thread.is_alive()  # the writer thread ended ...
    assert disposed == [platform.engine]  # ... and the engine was disposed of
    assert queued.done()
    stored: list[DoseResult] = queued.result()
    assert stored[0].error is None and stored[0].dose is not None
    assert _doses(settings.resolved_database_url) == before + 1  # committed, not dropped


def test_a_normal_exit_closes_too_and_closing_again_is_harmless(settings: Settings) -> None:
    waited: list[str] = []
    with Platform(settings) as platform:
        platform.on_close(lambda: waited.append("stats"))
        assert waited == []
    assert waited == ["stats"] and not platform.writer._thread.is_alive()
    platform.close()  # a second close neither fails nor runs the closers again
    assert waited == ["stats"]


def test_a_failing_closer_still_stops_the_writer_and_the_engine(settings: Settings) -> None:
    disposed: list[Engine] = []

    def broken() -> None:
        raise OSError("the statistics refresh could not be awaited")

    with pytest.raises(OSError, match="could not be awaited"), Platform(settings) as platform:
        event.listen(platform.engine, "engine_disposed", disposed.append)
        platform.on_close(broken)
    assert not platform.writer._thread.is_alive() and disposed == [platform.engine]


def test_the_platform_signs_with_the_keys_of_its_data_folder(settings: Settings) -> None:
    with Platform(settings) as platform:
        assert platform.keys.folder == KeyStore.for_data_dir(settings.data_dir).folder
        assert not platform.keys.exists()
        KeyStore.for_settings(settings).init()  # `tiemchung keys init` beside a live server
        assert platform.keys.exists()
        first = platform.keys.signer.kid
        KeyStore.for_settings(settings).rotate()  # ... and `tiemchung keys rotate`
        assert platform.keys.signer.kid != first  # read anew: the new signer signs
