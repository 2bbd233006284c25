"""`tiemchung export fhir` writes the same NDJSON files as ``$export`` (every line valid),
narrowed by ``--ward`` and ``--type``, and refuses a bad type or instant in both languages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fhir.resources.R4B.immunization import Immunization
from fhir.resources.R4B.patient import Patient
from typer.testing import CliRunner

from tests.factories import submission, world
from tiemchung.cli.main import app
from tiemchung.config import Settings, get_settings
from tiemchung.core import Platform
from tiemchung.registry.doses.record import record_doses
from tiemchung.registry.models import AuditEvent
from tiemchung.registry.scope import Actor

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("TIEMCHUNG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TIEMCHUNG_DATABASE_URL", database_url)
    get_settings.cache_clear()
    settings = get_settings()
    settings.token_secret(create=True)
    with Platform(settings) as platform:
        # An at a1 (ward a1), Dũng at b1 (ward b1)
        subs = [submission("an"), submission("dung", site_id=world().sites["b1"])]
        done = platform.writer.run(
            lambda s: record_doses(
                s, platform.catalog, Actor.system("tests"), subs, today=date(2022, 6, 1)
            )
        )
        assert [r.error for r in done] == [None, None]
    yield settings
    get_settings.cache_clear()


def read(path: Path, model: type) -> list[dict]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    for line in lines:
        model.model_validate(line)
    return lines


def test_export_fhir_writes_valid_ndjson(env: Settings, tmp_path: Path) -> None:
    out = tmp_path / "all"
    result = runner.invoke(app, ["export", "fhir", "--out", str(out)])
    assert result.exit_code == 0, result.output
    patients = read(out / "Patient.ndjson", Patient)
    assert sorted(p["id"] for p in patients) == ["P-AN", "P-BINH", "P-CUONG", "P-DUNG", "P-EM"]
    doses = read(out / "Immunization.ndjson", Immunization)
    assert sorted(d["patient"]["reference"] for d in doses) == ["Patient/P-AN", "Patient/P-DUNG"]
    with Platform(env) as platform, platform.sessions() as s:
        events = s.query(AuditEvent).filter(AuditEvent.action == "export.run").all()
    assert len(events) == 1 and events[0].detail["Patient"] == 5


def test_export_fhir_one_ward_one_type(env: Settings, tmp_path: Path) -> None:
    out = tmp_path / "b1"
    ward = world().wards["b1"]
    result = runner.invoke(
        app, ["export", "fhir", "--out", str(out), "--ward", ward, "--type", "Immunization"]
    )
    assert result.exit_code == 0, result.output
    assert not (out / "Patient.ndjson").exists()
    doses = read(out / "Immunization.ndjson", Immunization)
    assert [d["patient"]["reference"] for d in doses] == ["Patient/P-DUNG"]


def test_export_fhir_refuses_bad_input(env: Settings, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["export", "fhir", "--out", str(tmp_path / "x"), "--type", "Observation"]
    )
    assert result.exit_code == 2
    assert "_type" in result.output and "Observation" in result.output
    assert "không được hỗ trợ" in result.output
    result = runner.invoke(
        app, ["export", "fhir", "--out", str(tmp_path / "x"), "--since", "2024-01-01"]
    )
    assert result.exit_code == 2 and "_since" in result.output
    result = runner.invoke(app, ["export", "fhir", "--out", str(tmp_path / "x"), "--ward", "99999"])
    assert result.exit_code == 2 and "99999" in result.output
