"""`tiemchung orgs|groups|registrations` over the seeded test world (both backends): an
organisation applies, its ward approves it, its user imports a TCVN3 CSV and an XLSX with a
title row; every row is stored with its result. Expected counts written out by hand."""

from __future__ import annotations

from pathlib import Path

import openpyxl
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.factories import world
from tiemchung.cli.main import app
from tiemchung.config import Settings
from tiemchung.core import Platform
from tiemchung.identity.encodings import to_tcvn3
from tiemchung.registry.people.registration.priority import load_priority_groups
from tiemchung.registry.tables.registrations import (
    Organisation,
    Registration,
    RegistrationSource,
)

runner = CliRunner()


def _run(*args: str, code: int = 0, env: dict[str, str] | None = None) -> str:
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == code, (args, result.output)
    return result.output


def _org(settings: Settings) -> None:
    with Platform(settings) as platform, platform.sessions() as s:
        load_priority_groups(s)
        s.commit()
    ward = world().wards["a1"]
    out = _run("orgs", "add", "--name", "Chợ Giả Định", "--code", "0101234567",
               "--ward", ward, "--kind", "market", "--contact-phone", "0912000111")  # fmt: skip
    assert out.split("\t")[1:] == ["0101234567", "applied\n"]
    refused = _run("orgs", "approve", "0101234567", "--user", "ward_b1", code=2)
    assert "not_found" in refused  # another ward does not even learn it exists
    _run("orgs", "approve", "0101234567", "--user", "ward_a1")
    _run("orgs", "add-user", "0101234567", "hr-cho", "--password", "cho-gia-dinh-2021",
         "--user", "ward_a1")  # fmt: skip
    listed = _run("orgs", "list", "--user", "hr-cho")
    assert listed.split("\t")[1:3] == ["0101234567", "approved"]


def test_apply_approve_and_import_a_tcvn3_csv(env: Settings, tmp_path: Path) -> None:
    _org(env)
    csv_path = tmp_path / "list.csv"
    lines = [
        "STT,Họ và tên,Ngày sinh,Số CCCD,Nhóm ưu tiên,Bệnh nền",
        "1,Nguyễn Văn An,12/04/1985,001085123456,NQ21-07,có",
        "2,Trần Thị Bính,02/11/1990,001190654321,NQ21-07,",
        "3,Không Có Ai,01/01/1999,001099000001,NQ21-99,",
        "4,,,,,",
    ]
    csv_path.write_bytes(to_tcvn3("\n".join(lines) + "\n").encode("latin-1"))
    out = _run("registrations", "import", str(csv_path), "--org", "0101234567",
               "--user", "hr-cho")  # fmt: skip
    assert "3 rows in 1 batches" in out
    assert "mismatch 1" in out and "rejected 1" in out and "verified 1" in out
    with Platform(env) as platform, platform.sessions() as s:
        rows = s.scalars(select(RegistrationSource).order_by(RegistrationSource.id)).all()
        assert [(r.row_number, r.result) for r in rows] == [
            (2, "verified"),
            (3, "mismatch"),
            (4, "rejected"),
        ]
        assert rows[0].submitted["full_name"] == "Nguyễn Văn An"  # repaired from TCVN3
        assert rows[2].reasons[0]["field"] == "priority_group"
        reg = s.scalars(select(Registration)).one()
        assert (reg.priority_group, reg.underlying_condition) == ("NQ21-07", True)


def test_import_an_xlsx_with_a_title_and_a_map(env: Settings, tmp_path: Path) -> None:
    _org(env)
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["DANH SÁCH ĐĂNG KÝ TIÊM CHỦNG"])
    ws.append([])
    ws.append(["Họ và tên", "Ngày sinh", "Mã định danh NV", "Nhóm"])
    ws.append(["Trần Thị Bình", "1990-11-02", 1190654321, "NQ21-08"])  # zeros lost by Excel
    ws.append(["Hồ Thị Em", "2001-07-07", "040301555666", "NQ21-08"])
    path = tmp_path / "list.xlsx"
    book.save(path)
    map_path = tmp_path / "map.toml"
    map_path.write_text('[columns]\n"Mã định danh NV" = "national_id"\n"Nhóm" = "priority_group"\n')
    bad_map = tmp_path / "bad.toml"
    bad_map.write_text('[columns]\n"Nhóm" = "group"\n')
    out = _run("registrations", "import", str(path), "--org", "0101234567",
               "--map", str(bad_map), code=2)  # fmt: skip
    assert "no such column" in out
    _run("registrations", "import", str(path), "--org", "0101234567", "--map", str(map_path))
    with Platform(env) as platform, platform.sessions() as s:
        results = s.scalars(select(RegistrationSource.result).order_by(RegistrationSource.id)).all()
        assert results == ["verified", "verified"]
        assert s.scalar(select(func.count()).select_from(Registration)) == 2
        assert s.scalar(select(Organisation.status)) == "approved"


def test_groups_list_and_edit(env: Settings) -> None:
    with Platform(env) as platform, platform.sessions() as s:
        load_priority_groups(s)
        s.commit()
    assert _run("groups", "list").count("\n") == 13
    _run("groups", "edit", "NQ21-03", "--name-en", "Army")
    assert "NQ21-03\tLực lượng Quân đội\tArmy" in _run("groups", "list")
    refused = _run("groups", "edit", "NQ21-03", "--inactive", "--user", "ward_a1", code=2)
    assert "role_not_allowed" in refused
