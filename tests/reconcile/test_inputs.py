"""Bad inputs fail before any work with a message naming file, column and expectation;
legacy spreadsheets with Vietnamese headers work through a mapping."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook

from tiemchung.reconcile import Options, ReconcileInputError, reconcile

from .conftest import Case


def _csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[Path, Path]:
    reg = _csv(
        tmp_path / "reg.csv",
        "person_id,national_id,full_name,dob\nP1,001080012345,Nguyễn Văn Hùng,1980-03-05\n",
    )
    rec = _csv(
        tmp_path / "rec.csv",
        "record_id,national_id,full_name,dob\nR1,001080012345,Nguyen Van Hung,05/03/1980\n",
    )
    return reg, rec


def _fails(opts: Options, *needles: str) -> None:
    with pytest.raises(ReconcileInputError) as err:
        reconcile(opts)
    for n in needles:
        assert n in str(err.value), (n, str(err.value))
    assert not (opts.out / "links.csv").exists()
    assert not (opts.out / ".work").exists()  # no work started


def test_missing_file(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    reg, _ = tiny
    missing = tmp_path / "nope.csv"
    _fails(Options(missing, reg, tmp_path / "out"), str(missing), "no such file")


def test_missing_required_column(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    reg, _ = tiny
    rec = _csv(tmp_path / "r2.csv", "id,full_name\nR1,An\n")
    _fails(Options(rec, reg, tmp_path / "out"), str(rec), "'record_id'", "the file has")


_HEADER = "person_id,national_id,full_name,dob\n"
_P1 = "P1,001080012345,Nguyễn Văn Hùng,1980-03-05\n"


@pytest.mark.parametrize(
    ("rows", "needles"),
    [
        # listed twice: each of the person's records would get two links rows
        (_P1 + "P2,001080012346,Trần Thị Lan,1981-04-06\n" + _P1, ("'P1'", "rows 1 and 3", "once")),
        # no id: the row could never be linked to; refused, not skipped
        (_P1 + ",001080012346,Trần Thị Lan,1981-04-06\n", ("1 dòng", "data row 2", "'person_id'")),
    ],
    ids=["person-listed-twice", "row-without-person-id"],
)
def test_register_person_ids(
    tiny: tuple[Path, Path], tmp_path: Path, rows: str, needles: tuple[str, ...]
) -> None:
    """Every register person has one person_id of their own."""
    _, rec = tiny
    reg = _csv(tmp_path / "reg2.csv", _HEADER + rows)
    _fails(Options(rec, reg, tmp_path / "out"), str(reg), *needles)


def test_mapping_naming_no_such_column(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    reg, rec = tiny
    m = _csv(tmp_path / "map.toml", '[records.columns]\nfull_name = "Họ và tên"\n')
    _fails(Options(rec, reg, tmp_path / "out", mapping=m), str(rec), "'Họ và tên'", "full_name")


def test_shared_mapping_naming_no_column_of_either_file(
    tiny: tuple[Path, Path], tmp_path: Path
) -> None:
    reg, rec = tiny
    m = _csv(tmp_path / "map.toml", '[columns]\nphone = "Số điện thoại"\n')
    _fails(
        Options(rec, reg, tmp_path / "out", mapping=m), str(m), "'Số điện thoại'", "neither input"
    )


def test_unreadable_file(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    reg, _ = tiny
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"not a parquet file at all")
    _fails(Options(bad, reg, tmp_path / "out"), str(bad), "cannot be read")


def test_unknown_format(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    reg, _ = tiny
    odd = _csv(tmp_path / "records.json", "{}")
    _fails(Options(odd, reg, tmp_path / "out"), str(odd), "expected .csv, .parquet or .xlsx")


def test_no_identity_column(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    reg, _ = tiny
    rec = _csv(tmp_path / "r3.csv", "record_id,vaccine\nR1,AZ\n")
    _fails(Options(rec, reg, tmp_path / "out"), str(rec), "national_id, full_name, dob")


def test_bad_mapping_file(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    reg, rec = tiny
    m = _csv(tmp_path / "map.toml", "[columns\nbroken")
    _fails(Options(rec, reg, tmp_path / "out", mapping=m), str(m), "cannot read the mapping")


def test_short_csv_rows_are_kept(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    reg, _ = tiny
    rec = _csv(
        tmp_path / "short.csv",
        "record_id,national_id,full_name,dob\n"
        "R1,001080012345,Nguyen Van Hung,05/03/1980\nR2\nR3,,,\n",
    )
    out = tmp_path / "out"
    reconcile(Options(rec, reg, out))
    rows = {r["record_id"]: r for r in pq.read_table(out / "links.parquet").to_pylist()}
    assert set(rows) == {"R1", "R2", "R3"}
    assert rows["R1"]["person_id"] == "P1"
    for k in ("R2", "R3"):
        assert rows[k]["action"] == "review"
        assert rows[k]["explanation"].startswith("unparseable")


def test_legacy_xlsx_with_title_rows_and_vietnamese_headers(case: Case, tmp_path: Path) -> None:
    """A site's spreadsheet: two title rows, then Vietnamese headers, a subset of columns (no
    ward, no sex), read through a mapping; linked against the case's register."""
    wb = Workbook()
    ws = wb.active
    ws.append(["DANH SÁCH ĐỐI TƯỢNG TIÊM VẮC XIN"])
    ws.append([])
    ws.append(["STT", "Mã", "Họ và tên", "Ngày sinh", "Số CCCD/CMND", "Mũi số", "Ngày tiêm"])
    ws.append([1, "L1", "NGUYỄN VĂN HÙNG", "05/03/1980", "099080012345", 1, "01/08/2021"])
    ws.append([2, "L2", "Võ Văn Anh", "06/06/2000", 99200000012, 1, "03/08/2021"])
    ws.append([3, "L3", "Người Lạ Mặt", "01/01/1950", None, 1, "03/08/2021"])
    path = tmp_path / "site.xlsx"
    wb.save(path)
    mapping = _csv(
        tmp_path / "legacy.toml",
        """
[records.columns]
record_id = "Mã"
full_name = "Họ và tên"
dob = "Ngày sinh"
national_id = "Số CCCD/CMND"
dose_number = "Mũi số"
dose_date = "Ngày tiêm"
""",
    )
    out = tmp_path / "out"
    summary = reconcile(Options(path, case.register_file, out, mapping=mapping))
    rows = {r["record_id"]: r for r in pq.read_table(out / "links.parquet").to_pylist()}
    assert rows["L1"]["person_id"] == "T01"
    assert rows["L1"]["action"] == "verified"  # no sex/ward column: nothing to contradict
    # the ID cell was a number and lost its leading zero: a mismatch, but the right person
    assert rows["L2"]["person_id"] == "T07"
    assert rows["L3"]["action"] == "not_found"
    assert summary["pipeline"]["comparisons"] == ["national_id", "full_name", "dob"]
