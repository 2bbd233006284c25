"""The command line over a real database: init, users, register import, doctor, demo."""

from __future__ import annotations

import csv
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.factories import world
from tiemchung.cli.main import app
from tiemchung.config import Settings, get_settings
from tiemchung.registry.models import AdminUnit, Person, User
from tiemchung.store.db import make_engine, make_sessionmaker

runner = CliRunner()



def _count(settings: Settings, model: type) -> int:
    engine = make_engine(settings.resolved_database_url)
    try:
        with make_sessionmaker(engine)() as s:
            return int(s.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        engine.dispose()


def test_init_creates_a_private_key_and_doctor_agrees(env: Settings) -> None:
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 1 and "token key missing" in result.output
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    mode = stat.S_IMODE(os.stat(env.secret_key_path).st_mode)
    assert mode == 0o600
    assert _count(env, AdminUnit) > 10_000  # 63 provinces' districts and wards, both schemes
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    assert "migrations current" in result.output
    os.chmod(env.secret_key_path, 0o644)
    assert runner.invoke(app, ["doctor"]).exit_code == 1


def test_users_add_checks_the_scope(env: Settings) -> None:
    runner.invoke(app, ["init"])
    ward = world().wards["a1"]
    ok = runner.invoke(app, ["users", "add", "nurse1", "--role", "commune", "--ward", ward,
                             "--password", "long-enough-pw"])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(app, ["users", "add", "nurse2", "--role", "commune", "--ward", "00000",
                              "--password", "long-enough-pw"])
    assert bad.exit_code == 2 and "ward_code" in bad.output
    role = runner.invoke(app, ["users", "add", "x", "--role", "king", "--password", "12345678"])
    assert role.exit_code == 2 and "--role" in role.output
    engine = make_engine(env.resolved_database_url)
    with make_sessionmaker(engine)() as s:
        user = s.scalar(select(User).where(User.username == "nurse1"))
        assert user is not None and user.ward_code == ward and user.password_hash.startswith(
            "$argon2")
    engine.dispose()


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def test_register_import_keeps_rejected_rows_with_reasons(env: Settings, tmp_path: Path) -> None:
    runner.invoke(app, ["init"])
    ward = world().wards["b1"]
    f = tmp_path / "register.csv"
    _write_csv(f, ["Mã", "Số CCCD", "Họ và tên", "Ngày sinh", "Giới tính", "Mã xã"], [
        ["N1", "040 195 000 111", "nguyễn  thị hoa", "05/03/1995", "Nữ", ward],
        ["N2", "040085000222", "TRẦN VĂN HẢI", "1985", "Nam", ward],
        ["N3", "12AB", "Lê Văn Sai", "1990-01-01", "Nam", ward],  # not an ID number
        ["N4", "040090000333", "Phạm Thị Lỗi", "31/02/1990", "Nữ", ward],  # impossible date
        ["N5", "040090000444", "Vũ Văn Xa", "1990", "Nam", "99999"],  # no such ward
        ["", "040090000555", "Không Mã", "1990", "Nam", ward],  # no person id
    ])
    m = tmp_path / "map.toml"
    m.write_text('[columns]\nperson_id = "Mã"\nnational_id = "Số CCCD"\nfull_name = "Họ và tên"'
                 '\ndob = "Ngày sinh"\nsex = "Giới tính"\nward_code = "Mã xã"\n',
                 encoding="utf-8")
    result = runner.invoke(app, ["register", "import", str(f), "--map", str(m)])
    assert result.exit_code == 0, result.output
    assert _count(env, Person) == 5 + 2  # the world's five plus two good rows
    rejects = list(csv.DictReader((tmp_path / "register.csv.rejects.csv").open(
        encoding="utf-8")))
    assert [r["Mã"] for r in rejects] == ["N3", "N4", "N5", ""]
    assert "national_id" in rejects[0]["reason"] and "dob" in rejects[1]["reason"]
    assert "ward_code" in rejects[2]["reason"] and "person_id" in rejects[3]["reason"]
    assert rejects[1]["row"] == "5"  # the line of the file, header being line 1
    engine = make_engine(env.resolved_database_url)
    with make_sessionmaker(engine)() as s:
        hoa = s.scalar(select(Person).where(Person.person_id == "N1"))
        assert hoa is not None
        assert (hoa.full_name, hoa.national_id, hoa.dob, hoa.sex) == (
            "Nguyễn Thị Hoa", "040195000111", "1995-03-05", "F")
    engine.dispose()


def test_register_import_refuses_a_bad_file_before_any_work(env: Settings,
                                                             tmp_path: Path) -> None:
    runner.invoke(app, ["init"])
    f = tmp_path / "r.csv"
    _write_csv(f, ["id", "name"], [["1", "A"]])
    result = runner.invoke(app, ["register", "import", str(f)])
    assert result.exit_code == 2
    assert "r.csv" in result.output and "person_id" in result.output
    m = tmp_path / "m.toml"
    m.write_text('[columns]\nperson_id = "id"\nfull_name = "ten"\n', encoding="utf-8")
    result = runner.invoke(app, ["register", "import", str(f), "--map", str(m)])
    assert result.exit_code == 2 and "'ten'" in result.output
    assert runner.invoke(app, ["register", "import", str(tmp_path / "none.csv")]).exit_code == 2
    assert _count(env, Person) == 5


def test_register_import_parquet_updates_existing_people(env: Settings,
                                                         tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    runner.invoke(app, ["init"])
    table = pa.table({"person_id": ["P-AN"], "full_name": ["Nguyễn Văn An"],
                      "national_id": ["001085123456"], "phone": ["+84 912 000 999"]})
    pq.write_table(table, tmp_path / "r.parquet")
    result = runner.invoke(app, ["register", "import", str(tmp_path / "r.parquet")])
    assert result.exit_code == 0, result.output
    engine = make_engine(env.resolved_database_url)
    with make_sessionmaker(engine)() as s:
        an = s.scalar(select(Person).where(Person.person_id == "P-AN"))
        assert an is not None and an.phone == "0912000999"
    engine.dispose()
    assert _count(env, Person) == 5


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_demo_builds_a_province_with_logins(tmp_path: Path, backend: str) -> None:
    from tiemchung.registry.models import Dose, Site, VaccinationSession

    result = runner.invoke(app, ["demo", "--dir", str(tmp_path / "demo"), "--no-serve"])
    assert result.exit_code == 0, result.output
    for login in ("trunguong", "tinh40", "congdan"):
        assert login in result.output
    printed = {
        key.strip(): int(value.replace(",", ""))
        for key, value in (
            line.split(":", 1) for line in result.output.splitlines()
            if line.startswith("  ") and ":" in line and line.split(":", 1)[1].strip()
            .replace(",", "").isdigit()
        )
    }
    settings = Settings(data_dir=tmp_path / "demo",
                        database_url=f"sqlite:///{tmp_path / 'demo' / 'tiemchung.db'}")
    # what the summary says is what is in the database
    assert printed["persons"] == _count(settings, Person) > 40_000  # the synthetic province
    assert printed["sites"] == _count(settings, Site)
    assert printed["sessions"] == _count(settings, VaccinationSession)
    assert printed["doses"] == _count(settings, Dose) > printed["persons"]
    assert (tmp_path / "demo" / "synth" / "truth.parquet").is_file()
    # `make demo` again on the same folder reuses it: same counts, same logins, no error
    again = runner.invoke(app, ["demo", "--dir", str(tmp_path / "demo"), "--no-serve"])
    assert again.exit_code == 0, again.output
    assert "reused" in again.output and "congdan" in again.output
    assert _count(settings, Person) == printed["persons"]
    get_settings.cache_clear()
