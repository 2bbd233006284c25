"""From an old spreadsheet to applied corrections with no hand-made file (issue 17 point 3):
`backlog import`, `reconcile --from-store OUT`, `reconcile apply OUT`, over the register of
the seeded test world (``tests.factories``)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
from sqlalchemy import select
from typer.testing import CliRunner

from tiemchung.cli.main import app
from tiemchung.config import Settings
from tiemchung.core import Platform
from tiemchung.registry.models import Dose, Person

runner = CliRunner()


def _said(args: list[str], code: int = 0) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == code, (args, result.output)
    return " ".join(result.output.split())


def test_an_imported_file_is_linked_and_applied_without_a_hand_made_file(
    env: Settings, tmp_path: Path
) -> None:
    file = tmp_path / "so-tiem.csv"
    file.write_text(
        "Mã hồ sơ,Họ và tên,Ngày sinh,Giới tính,Số CCCD,Loại vắc xin,Mũi,Ngày tiêm,Mã điểm tiêm\n"
        # An as the register has him
        "1,Nguyễn Văn An,12/04/1985,Nam,001085123456,AZ,1,15/08/2021,S-A1\n"
        # Bình with her day and month swapped: the register's date is the correction
        "2,Trần Thị Bình,11/02/1990,Nữ,001190654321,Pfizer,1,20/08/2021,S-A1\n"
        # Dũng as registered
        "3,Phạm Văn Dũng,30/01/1965,Nam,040065333444,Sinopharm,1,01/09/2021,S-B1\n",
        encoding="utf-8",
    )
    said = _said(["backlog", "import", str(file), "--source", "xa-a1"])
    assert "stored / đã lưu 3" in said
    out = tmp_path / "run"
    said = _said(["reconcile", "--from-store", str(out)])
    assert "3 doses, 5 persons" in said
    records = pq.read_table(out / "inputs" / "records.parquet").to_pylist()
    assert sorted(r["record_id"] for r in records) == ["xa-a1:1", "xa-a1:2", "xa-a1:3"]
    assert (out / "links.parquet").exists()
    _said(["reconcile", "apply", str(out)])
    with Platform() as platform, platform.sessions() as s:
        linked = {
            d.record_id: (d.status, s.get(Person, d.person_pk).person_id if d.person_pk else None)
            for d in s.scalars(select(Dose).where(Dose.record_id.like("xa-a1:%")))
        }
        bình = s.scalar(select(Dose).where(Dose.record_id == "xa-a1:2"))
        assert bình is not None
        bình_dob = bình.dob
    assert linked == {
        "xa-a1:1": ("verified", "P-AN"),
        "xa-a1:2": ("verified", "P-BINH"),
        "xa-a1:3": ("verified", "P-DUNG"),
    }
    assert bình_dob == "1990-11-02"  # corrected from the register


def test_from_store_with_nothing_stored_says_so(env: Settings, tmp_path: Path) -> None:
    said = _said(["reconcile", "--from-store", str(tmp_path / "run")], code=2)
    assert "0 backlog doses" in said and "nothing to link" in said
