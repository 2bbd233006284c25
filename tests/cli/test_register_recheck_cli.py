"""`tiemchung register recheck --person-ids FILE | --since TIME` (both backends): the persons
the register changed are re-checked by the same service a pull calls, the report printed and
written as JSON; an unknown person id or a bad time exits 2 naming it, in both languages,
and re-checks nothing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update
from typer.testing import CliRunner

from tests.factories import submission
from tiemchung.cli.main import app
from tiemchung.config import Settings
from tiemchung.core import Platform
from tiemchung.registry.doses.record import record_doses
from tiemchung.registry.models import Dose, Person, ReviewItem
from tiemchung.registry.scope import Actor

runner = CliRunner()


def _dose_of_an_then_dob_fixed(settings: Settings) -> int:
    with Platform(settings) as platform, platform.sessions() as s:
        (r,) = record_doses(
            s, platform.catalog, Actor.system("tests"), [submission("an")], today=date(2022, 6, 1)
        )
        assert r.dose is not None
        s.execute(update(Person).where(Person.person_id == "P-AN").values(dob="1985-04-21"))
        s.commit()
        return int(r.dose["id"])


def test_recheck_by_person_ids_flags_the_dose(env: Settings, tmp_path: Path) -> None:
    dose_id = _dose_of_an_then_dob_fixed(env)
    ids = tmp_path / "ids.txt"
    ids.write_text("P-AN\n", encoding="utf-8")
    result = runner.invoke(app, ["register", "recheck", "--person-ids", str(ids)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert (report["persons"], report["flagged"], report["changes"]) == (1, 1, 1)
    assert "now disagree, item opened" in result.output
    with Platform(env) as platform, platform.sessions() as s:
        assert s.get(Dose, dose_id).status == "unverified"  # type: ignore[union-attr]
        (item,) = s.scalars(select(ReviewItem).where(ReviewItem.dose_id == dose_id))
        assert item.mismatches == "dob"


def test_recheck_since_takes_the_persons_updated_since(env: Settings) -> None:
    _dose_of_an_then_dob_fixed(env)
    since = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S")
    result = runner.invoke(app, ["register", "recheck", "--since", since])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["flagged"] == 1 and report["persons"] >= 1
    later = (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S")
    result = runner.invoke(app, ["register", "recheck", "--since", later])
    assert json.loads(result.stdout.strip().splitlines()[-1])["persons"] == 0


def test_bad_input_exits_2_and_rechecks_nothing(env: Settings, tmp_path: Path) -> None:
    dose_id = _dose_of_an_then_dob_fixed(env)
    ids = tmp_path / "ids.txt"
    ids.write_text("P-AN\nP-NOBODY\n", encoding="utf-8")
    result = runner.invoke(app, ["register", "recheck", "--person-ids", str(ids)])
    said = " ".join(result.output.split())  # the console wraps long lines
    assert result.exit_code == 2
    assert "person_ids[2]" in said and "no person 'P-NOBODY'" in said
    assert "không có người" in said
    result = runner.invoke(app, ["register", "recheck", "--since", "hôm qua"])
    assert result.exit_code == 2 and "not a valid time" in " ".join(result.output.split())
    result = runner.invoke(app, ["register", "recheck"])
    assert result.exit_code == 2 and "exactly one" in " ".join(result.output.split())
    with Platform(env) as platform, platform.sessions() as s:
        assert s.get(Dose, dose_id).status == "verified"  # type: ignore[union-attr]
