"""`tiemchung backlog import` over the seeded test world (both backends): it prints the
mapping it guessed, the unknown vaccine names with counts, and read = stored + already stored
+ rejected; a second run stores nothing."""

from __future__ import annotations

import csv
from pathlib import Path

from typer.testing import CliRunner

from tiemchung.cli.main import app
from tiemchung.config import Settings

runner = CliRunner()


def test_backlog_import_prints_the_guess_the_unknown_names_and_the_sum(
    env: Settings, tmp_path: Path
) -> None:
    file = tmp_path / "tiem.csv"
    file.write_text(
        "Họ và tên,Ngày sinh,Loại vắc xin,Mũi,Ngày tiêm\n"
        "Nguyễn Văn An,01/02/1990,Sinopharm,1,01/09/2021\n"
        "Nguyễn Văn An,01/02/1990,Sinopharm,2,22/09/2021\n"
        "Trần Thị Bé,03/04/1991,Covaxin,1,01/09/2021\n"
        "Lê Văn Cường,05/06/1992,Covaxin,1,02/09/2021\n",
        encoding="utf-8",
    )
    rejects = tmp_path / "r.csv"
    args = ["backlog", "import", str(file), "--site", "S-A1", "--rejects", str(rejects)]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    said = " ".join(first.output.split())  # the console wraps long lines
    assert '"Họ và tên" = "full_name"' in said
    assert '"Ngày tiêm" = "dose_date"' in said
    assert "'Covaxin': 2 rows" in said
    assert (
        "read / đã đọc 4 = stored / đã lưu 2 + already stored / đã có 0 + rejected / bị từ chối 2"
        in said
    )
    with rejects.open(encoding="utf-8") as fh:
        kept = [(r["row"], r["full_name"], r["vaccine"]) for r in csv.DictReader(fh)]
    assert kept == [("4", "Trần Thị Bé", "Covaxin"), ("5", "Lê Văn Cường", "Covaxin")]
    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert "stored / đã lưu 0 + already stored / đã có 2 +" in " ".join(second.output.split())


def test_backlog_import_refuses_a_missing_file_and_a_bad_mapping(
    env: Settings, tmp_path: Path
) -> None:
    missing = runner.invoke(app, ["backlog", "import", str(tmp_path / "none.xlsx")])
    assert missing.exit_code == 2 and "no such file" in " ".join(missing.output.split())
    bad = tmp_path / "m.toml"
    bad.write_text('[vaccines]\n"Covaxin" = "COVAXIN"\n', encoding="utf-8")
    file = tmp_path / "t.csv"
    file.write_text("Họ và tên,Loại vắc xin,Mũi\n", encoding="utf-8")
    refused = runner.invoke(app, ["backlog", "import", str(file), "--map", str(bad)])
    said = " ".join(refused.output.split())
    assert refused.exit_code == 2 and "'COVAXIN'" in said and "no such product" in said


def test_backlog_help_is_in_both_languages() -> None:
    out = " ".join(runner.invoke(app, ["backlog", "import", "--help"]).output.split())
    assert "Import old dose records" in out and "Nhập hồ sơ tiêm" in out
    assert "[columns] header = column" in out  # not eaten as console markup
