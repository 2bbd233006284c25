"""Shared fixtures: a real PostgreSQL server for the run, and a fresh database per test.

Tests that take the ``database_url`` fixture run twice, on SQLite and on PostgreSQL. Each
test gets its own copy of a template database that is migrated and seeded once per run
(a file copy for SQLite, ``CREATE DATABASE … TEMPLATE`` for PostgreSQL), so tests never see
each other's rows.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import build_seeded_database
from tests.pgserver import PostgresServer
from tiemchung.config import Settings
from tiemchung.core import Platform

BACKENDS = ["sqlite", "postgresql"]
_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    build_seeded_database(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template(pg_server: PostgresServer) -> str:
    build_seeded_database(pg_server.create_database("tiemchung_template"))
    return "tiemchung_template"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated and seeded database of the given backend for this test."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.db"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    server: PostgresServer = request.getfixturevalue("pg_server")
    template_name: str = request.getfixturevalue("pg_template")
    return server.create_database(f"t_{next(_counter)}", template=template_name)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    s = Settings(data_dir=tmp_path / "data", database_url=database_url)
    s.token_secret(create=True)
    return s


@pytest.fixture
def platform(settings: Settings) -> Iterator[Platform]:
    with Platform(settings) as core:
        yield core
