"""`tiemchung clients add|list|disable|rotate|scopes` over a real database: the secret printed
once works, the stored hash is not it, who may administer which client, every change audited,
and bad input refused in both languages."""

from __future__ import annotations

from sqlalchemy import select
from typer.testing import CliRunner

from tests.factories import PROVINCE_A, PROVINCE_B, world
from tiemchung.auth.clients import authenticate
from tiemchung.cli.main import app
from tiemchung.config import Settings
from tiemchung.registry.models import AuditEvent
from tiemchung.registry.tables.changes import ApiClient
from tiemchung.store.db import make_engine, make_sessionmaker

runner = CliRunner()


def _printed(output: str) -> tuple[str, str]:
    lines = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    return lines["client_id"], lines["client_secret"]


def _check(settings: Settings, client_id: str, secret: str) -> bool:
    engine = make_engine(settings.resolved_database_url)
    try:
        with make_sessionmaker(engine)() as s:
            return authenticate(s, client_id, secret) is not None
    finally:
        engine.dispose()


def _rows(settings: Settings, client_id: str) -> tuple[ApiClient, list[str]]:
    engine = make_engine(settings.resolved_database_url)
    try:
        with make_sessionmaker(engine)() as s:
            client = s.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
            assert client is not None
            s.expunge(client)
            actions = s.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.entity == "client", AuditEvent.entity_id == client_id)
                .order_by(AuditEvent.id)
            ).all()
            return client, list(actions)
    finally:
        engine.dispose()


def test_add_prints_a_working_secret_once_then_rotate_and_disable(env: Settings) -> None:
    r = runner.invoke(
        app,
        [
            "clients",
            "add",
            "Sổ sức khoẻ điện tử",
            "--scopes",
            "system/Immunization.read,system/Patient.read",
            "--area",
            PROVINCE_A,
            "--rate",
            "120",
        ],
    )
    assert r.exit_code == 0, r.output
    cid, secret = _printed(r.stdout)
    assert _check(env, cid, secret)
    client, actions = _rows(env, cid)
    assert secret not in client.secret_hash and client.secret_hash.startswith("$argon2")
    assert (client.role, client.province_code, client.rate_per_minute) == ("province", "01", 120)
    assert client.scopes == ["system/Immunization.read", "system/Patient.read"]
    assert actions == ["client.create"]

    listed = runner.invoke(app, ["clients", "list"])
    assert listed.exit_code == 0
    (line,) = [x for x in listed.stdout.splitlines() if x.startswith(cid)]
    assert line.split("\t")[2:] == [
        PROVINCE_A,
        "system/Immunization.read system/Patient.read",
        "120",
        "active",
    ]
    assert secret not in listed.stdout

    rotated = runner.invoke(app, ["clients", "rotate", cid])
    assert rotated.exit_code == 0, rotated.output
    _, new_secret = _printed(rotated.stdout)
    assert new_secret != secret
    assert not _check(env, cid, secret) and _check(env, cid, new_secret)

    scoped = runner.invoke(app, ["clients", "scopes", cid, "system/*.read changes.read"])
    assert scoped.exit_code == 0, scoped.output
    assert runner.invoke(app, ["clients", "disable", cid]).exit_code == 0
    assert not _check(env, cid, new_secret)
    client, actions = _rows(env, cid)
    assert client.disabled and client.token_version == 2
    assert client.scopes == ["system/*.read", "changes.read"]
    assert actions == ["client.create", "client.rotate", "client.scopes", "client.disable"]


def test_a_province_administers_only_its_own_clients(env: Settings) -> None:
    ward_b = world().wards["b1"]
    r = runner.invoke(
        app,
        ["clients", "add", "Kho tỉnh B", "--scopes", "system/*.read", "--area", ward_b],
    )
    assert r.exit_code == 0, r.output
    b_client, _ = _printed(r.stdout)
    as_a = ["--user", "prov_a"]
    # prov_a: neither a central client, nor one of province B, nor province B's to disable
    for area in ("central", PROVINCE_B):
        refused = runner.invoke(
            app, ["clients", "add", "X", "--scopes", "system/*.read", "--area", area, *as_a]
        )
        assert refused.exit_code == 2, refused.output
    assert runner.invoke(app, ["clients", "disable", b_client, *as_a]).exit_code == 2
    listed = runner.invoke(app, ["clients", "list", *as_a])
    assert listed.exit_code == 0 and b_client not in listed.stdout
    ok = runner.invoke(
        app, ["clients", "add", "Y", "--scopes", "changes.read", "--area", PROVINCE_A, *as_a]
    )
    assert ok.exit_code == 0, ok.output
    assert runner.invoke(app, ["clients", "list", "--user", "ward_a1"]).exit_code == 2


def test_bad_scope_and_area_are_refused_in_both_languages(env: Settings) -> None:
    r = runner.invoke(
        app, ["clients", "add", "X", "--scopes", "system/Patient.write", "--area", "central"]
    )
    assert r.exit_code == 2
    said = " ".join(r.output.split())  # the console wraps long lines
    assert "Phạm vi không hợp lệ: system/Patient.write" in said
    assert "unknown scope(s): system/Patient.write" in said
    r = runner.invoke(app, ["clients", "add", "X", "--scopes", "system/*.read", "--area", "Hà Nội"])
    assert r.exit_code == 2
    said = " ".join(r.output.split())
    assert "Khu vực 'Hà Nội'" in said and "area 'Hà Nội' is not" in said
