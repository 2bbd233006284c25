"""`tiemchung users disable|reset-password|list` (and `add --user`) over a real database."""

from __future__ import annotations

from sqlalchemy import select
from typer.testing import CliRunner

from tests.factories import PASSWORD
from tiemchung.auth.users import authenticate
from tiemchung.cli.main import app
from tiemchung.config import Settings
from tiemchung.registry.models import AuditEvent, User
from tiemchung.store.db import make_engine, make_sessionmaker

runner = CliRunner()
NEW = "Hoa-sen-no-7-giua-dam"


def _user(settings: Settings, username: str) -> User:
    engine = make_engine(settings.resolved_database_url)
    try:
        with make_sessionmaker(engine)() as s:
            user = s.scalar(select(User).where(User.username == username))
            assert user is not None
            s.expunge(user)
            return user
    finally:
        engine.dispose()


def _signs_in(settings: Settings, username: str, password: str) -> bool:
    engine = make_engine(settings.resolved_database_url)
    try:
        with make_sessionmaker(engine)() as s:
            return authenticate(s, username, password) is not None
    finally:
        engine.dispose()


def test_disable_enable_and_reset(env: Settings) -> None:
    r = runner.invoke(app, ["users", "disable", "site_a1"])
    assert r.exit_code == 0, r.output
    assert not _user(env, "site_a1").active and not _signs_in(env, "site_a1", PASSWORD)
    r = runner.invoke(app, ["users", "disable", "site_a1", "--enable"])
    assert r.exit_code == 0 and _user(env, "site_a1").active
    r = runner.invoke(app, ["users", "reset-password", "ward_a1", "--password", "qwertyuiop"])
    assert r.exit_code == 2 and "too_common" in r.output and "phổ biến" in r.output
    before = _user(env, "ward_a1").token_version
    r = runner.invoke(app, ["users", "reset-password", "ward_a1", "--password", NEW])
    assert r.exit_code == 0, r.output
    after = _user(env, "ward_a1")
    assert after.must_change_password and after.token_version == before + 1
    assert _signs_in(env, "ward_a1", NEW) and not _signs_in(env, "ward_a1", PASSWORD)
    r = runner.invoke(app, ["users", "disable", "nobody"])
    assert r.exit_code == 2 and "not found" in r.output


def test_acting_as_a_province_keeps_to_its_area(env: Settings) -> None:
    r = runner.invoke(app, ["users", "list", "--user", "prov_a"])
    assert r.exit_code == 0, r.output
    names = {line.split("\t")[1] for line in r.stdout.splitlines()}
    assert names == {"prov_a", "ward_a1", "site_a1", "citizen_an"}
    r = runner.invoke(app, ["users", "disable", "site_b1", "--user", "prov_a"])
    assert r.exit_code == 2 and _user(env, "site_b1").active
    r = runner.invoke(
        app, ["users", "add", "boss2", "--role", "central", "--password", NEW, "--user", "prov_a"]
    )
    assert r.exit_code == 2 and "grant_out_of_area" in r.output
    r = runner.invoke(
        app,
        [
            "users",
            "add",
            "prov_a2",
            "--role",
            "province",
            "--province",
            "01",
            "--password",
            NEW,
            "--user",
            "prov_a",
            "--must-change",
        ],
    )
    assert r.exit_code == 0, r.output
    assert _user(env, "prov_a2").must_change_password
    r = runner.invoke(app, ["users", "list", "--role", "site"])
    assert r.exit_code == 0
    assert [line.split("\t")[1] for line in r.stdout.splitlines()] == ["site_a1", "site_b1"]
    engine = make_engine(env.resolved_database_url)
    try:
        with make_sessionmaker(engine)() as s:
            made = s.scalar(
                select(AuditEvent.username).where(
                    AuditEvent.action == "user.create",
                    AuditEvent.entity_id == str(_user(env, "prov_a2").id),
                )
            )
    finally:
        engine.dispose()
    assert made == "prov_a"
