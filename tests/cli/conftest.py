"""The CLI tests' settings: a data folder of the test's own and the test's database (SQLite,
or the PostgreSQL server the run started), read afresh by every command."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tiemchung.config import Settings, get_settings


@pytest.fixture
def env(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("TIEMCHUNG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TIEMCHUNG_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()
