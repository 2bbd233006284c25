"""Liveness and readiness on real databases (issue 20 point 3): ready only when the database
answers in time, its migrations are at head, the signing keys load and the writer runs; each
failure a 503 problem document naming the check, in Vietnamese and English."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.pgserver import PostgresServer
from tests.revisions import head
from tiemchung.certificates.keys import KeyStore
from tiemchung.config import Settings
from tiemchung.core import Platform
from tiemchung.server import create_app

READY = "/api/v1/health/ready"


@pytest.fixture
def client(platform: Platform, settings: Settings) -> Iterator[TestClient]:
    """The app over a platform whose signing keys exist (what an installed server has)."""
    KeyStore.for_settings(settings).init()
    with TestClient(create_app(platform)) as c:
        yield c


def failed(r: httpx.Response) -> list[tuple[str, str]]:
    """The (field, rule) of each failed check in a 503 problem document, both languages
    present in each."""
    assert r.status_code == 503, r.text
    assert r.headers["content-type"] == "application/problem+json"
    errors = r.json()["errors"]
    for e in errors:
        assert e["message_vi"] and e["message_en"] and e["message_vi"] != e["message_en"]
    return [(e["field"], e["rule"]) for e in errors]


def test_ready_and_live_when_all_is_right(client: TestClient) -> None:
    r = client.get(READY)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ready"
    assert body["checks"] == {"database": "ok", "migrations": "ok", "keys": "ok", "writer": "ok"}
    assert body["migration"] == body["migration_head"] == head()
    live = client.get("/api/v1/health/live")
    assert live.status_code == 200 and live.json()["pid"] == os.getpid()
    assert client.get("/api/v1/health").status_code == 200


def test_not_ready_without_signing_keys(platform: Platform) -> None:
    with TestClient(create_app(platform)) as c:  # `tiemchung keys init` never run
        r = c.get(READY)
        assert failed(r) == [("keys", "signing_keys_unavailable")]
        assert "missing" in r.json()["errors"][0]["message_en"]
        # the older answer is about the database only, as before
        assert c.get("/api/v1/health").status_code == 200


def test_not_ready_with_an_unreadable_signing_key(client: TestClient, settings: Settings) -> None:
    folder = KeyStore.for_settings(settings).folder
    stem = (folder / "current").read_text(encoding="ascii").strip()
    (folder / f"{stem}-key.pem").write_bytes(b"-----BEGIN PRIVATE KEY-----\nnot a key\n")
    r = client.get(READY)
    assert failed(r) == [("keys", "signing_keys_unavailable")]
    assert "unreadable" in r.json()["errors"][0]["message_en"]


def test_not_ready_when_migrations_are_behind(client: TestClient, platform: Platform) -> None:
    # the database stamped one revision back, as after deploying new code without `init`
    with platform.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0021_register_pull'"))
    r = client.get(READY)
    assert failed(r) == [("migrations", "migrations_not_at_head")]
    assert "0021_register_pull" in r.json()["errors"][0]["message_en"]
    old = client.get("/api/v1/health")
    assert old.status_code == 503 and old.json()["status"] == "degraded"
    assert old.headers["Retry-After"].isdigit()  # as every 503: clients may come back
    assert old.json()["migration"] == "0021_register_pull"


def test_not_ready_when_the_writer_has_stopped(client: TestClient, platform: Platform) -> None:
    platform.writer.stop()
    assert failed(client.get(READY)) == [("writer", "writer_stopped")]


def test_not_ready_when_the_database_is_gone(
    client: TestClient, platform: Platform, backend: str, database_url: str
) -> None:
    assert client.get(READY).status_code == 200
    if backend == "postgresql":
        name = database_url.rsplit("/", 1)[1]
        port = database_url.split(":")[-1].split("/")[0]
        dsn = f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    else:
        platform.engine.dispose()
        Path(database_url.removeprefix("sqlite:///")).unlink()
    r = client.get(READY)
    assert ("database", "database_unavailable") in failed(r)
    assert client.get("/api/v1/health").status_code == 503
    assert client.get("/api/v1/health/live").status_code == 200


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_hung_database_answers_503_within_two_seconds(
    client: TestClient, pg_server: PostgresServer, database_url: str
) -> None:
    """A lock held on the revision table makes the probe's read wait as a hung server would;
    readiness must still answer, in time, and be ready again once the database is."""
    assert client.get(READY).status_code == 200
    name = database_url.rsplit("/", 1)[1]
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        dsn = f"host=127.0.0.1 port={pg_server.port} user=postgres dbname={name}"
        with psycopg.connect(dsn) as conn:
            conn.execute("LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE")
            locked.set()
            release.wait(30)
            conn.rollback()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(10)
        start = time.monotonic()
        r = client.get(READY)
        took = time.monotonic() - start
        assert failed(r) == [("database", "database_unavailable")]
        assert "timeout" in r.json()["errors"][0]["message_en"]
        assert took < 2.5, took
    finally:
        release.set()
        holder.join(10)
    deadline = time.monotonic() + 10
    while client.get(READY).status_code != 200:
        assert time.monotonic() < deadline, "readiness did not come back"
        time.sleep(0.1)
