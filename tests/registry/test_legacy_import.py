"""A site's old spreadsheets into the store (issue 17 point 3), on SQLite and PostgreSQL: the
files are written here by hand, each row with the outcome it must have."""

from __future__ import annotations

import codecs
import csv
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from tiemchung.core import Platform
from tiemchung.registry.imports.legacy import (
    ColumnMap,
    guess_columns,
    import_legacy_files,
    load_mapping,
)
from tiemchung.registry.imports.synonyms import product_names, vaccine_key
from tiemchung.registry.models import AuditEvent, Dose
from tiemchung.registry.scope import Actor

ACTOR = Actor.system("legacy-test")


def _workbook(path: Path) -> Path:
    """Two sheets of doses (a title and a two-row header under merged cells; a plain one in
    VNI) and a sheet of notes with no header."""
    book = openpyxl.Workbook()
    one = book.active
    assert one is not None
    one.title = "Đợt 1"
    one.append(["DANH SÁCH NGƯỜI ĐÃ TIÊM VẮC XIN COVID-19"])
    one.merge_cells("A1:H1")
    one.append(["Trạm Y tế xã An Bình"])
    one.append(["STT", "Họ và tên", "Ngày sinh", "Giới tính", "Số CCCD", "Thông tin mũi tiêm"])
    one.append([None, None, None, None, None, "Loại vắc xin", "Mũi", "Ngày tiêm"])
    for col in "ABCDE":
        one.merge_cells(f"{col}3:{col}4")
    one.merge_cells("F3:H3")
    one.append(
        [1, "NguyÔn V¨n Hïng", "05/03/1990", "Nam", "040190012345", "Sinopharm", 1, "15/08/2021"]
    )  # row 5: TCVN3 name, a synonym
    one.append(
        [
            2,
            "Trần Thị Mỹ",
            datetime(1985, 1, 2),
            "Nữ",
            1190654321,  # a CCCD Excel kept as a number: its two leading zeros lost
            "Pfizer-BioNTech",
            2,
            datetime(2021, 9, 1),
        ]
    )  # row 6: dates as Excel dates
    one.append([None] * 8)  # row 7: blank, not a record
    one.append([3, "Lê Văn Tám", "01/01/1970", "Nam", None, "Covaxin", 1, "01/10/2021"])
    one.append([4, "Phạm Thị Hoa", "01/01/1960", "Nữ", None, "Comirnaty", "một", "01/10/2021"])
    two = book.create_sheet("Đợt 2")
    two.append(["Hoï teân", "Naêm sinh", "Vaéc xin", "Muõi soá", "Ngaøy tieâm", "Maõ ñieåm tieâm"])
    two.append(["Traàn Thò Myõ", "1985", "AZ", 3, "20/12/2021", "S-B1"])  # VNI, its own site
    two.append(["Đỗ Văn Bình", "1999", "astra", 1, "2021-08-01", None])
    notes = book.create_sheet("Ghi chú")
    notes.append(["Người lập biểu: Nguyễn Thị A"])
    book.save(path)
    return path


def test_a_workbook_is_stored_or_refused_row_by_row_and_only_once(
    platform: Platform, tmp_path: Path
) -> None:
    file = _workbook(tmp_path / "tram-an-binh.xlsx")
    rejects = tmp_path / "rejects.csv"
    with platform.sessions() as s:
        done = import_legacy_files(
            s, ACTOR, [file], site="S-A1", rejects_path=rejects, source="an-binh"
        )
    r = done.report
    assert (r.rows_read, r.rows_imported, r.rows_skipped, r.rows_rejected) == (7, 4, 0, 3)
    assert r.reasons == {
        "vaccine:unknown_product": 1,
        "dose_number:unreadable": 1,
        "sheet:no_header": 1,
    }
    assert r.unknown_vaccines == {"Covaxin": 1}
    assert [sheet for _f, sheet in done.headless] == ["Ghi chú"]
    guess = dict((sheet, toml) for _f, sheet, toml in done.guesses)
    assert '"Loại vắc xin" = "vaccine"' in guess["Đợt 1"]
    assert '"Họ tên" = "full_name"' in guess["Đợt 2"]  # read from VNI
    with rejects.open(encoding="utf-8") as fh:
        refused = [(x["sheet"], x["row"], x["full_name"], x["reason"]) for x in csv.DictReader(fh)]
    assert [(sheet, row, name) for sheet, row, name, _ in refused] == [
        ("Đợt 1", "8", "Lê Văn Tám"),
        ("Đợt 1", "9", "Phạm Thị Hoa"),
        ("Ghi chú", "1", ""),
    ]
    assert "Covaxin" in refused[0][3] and "header" in refused[2][3]
    with platform.sessions() as s:
        rows = sorted(
            (d.full_name, d.product_code, d.dose_number, d.dose_date, d.site_id, d.dob, d.sex)
            for d in s.scalars(select(Dose).where(Dose.record_id.like("fp-%")))
        )
        assert rows == [
            ("Nguyễn Văn Hùng", "VEROCELL", 1, date(2021, 8, 15), "S-A1", "1990-03-05", "M"),
            ("Trần Thị Mỹ", "AZ", 3, date(2021, 12, 20), "S-B1", "1985", None),  # no sex column
            ("Trần Thị Mỹ", "PFIZER", 2, date(2021, 9, 1), "S-A1", "1985-01-02", "F"),
            ("Đỗ Văn Bình", "AZ", 1, date(2021, 8, 1), "S-A1", "1999", None),
        ]
        assert s.scalar(
            select(Dose.national_id).where(Dose.full_name == "Trần Thị Mỹ", Dose.sex == "F")
        ) == ("001190654321")
        events = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "dose.backlog_import")
        ).all()
        assert [(e.detail["read"], e.detail["imported"], e.detail["rejected"]) for e in events] == [
            (7, 4, 3)
        ]
    # the same file again: nothing stored twice, the same rows refused again
    with platform.sessions() as s:
        again = import_legacy_files(s, ACTOR, [file], site="S-A1", rejects_path=rejects)
        assert (again.report.rows_imported, again.report.rows_skipped) == (0, 4)
        assert again.report.rows_rejected == 3
        assert len(s.scalars(select(Dose.record_id).where(Dose.record_id.like("fp-%"))).all()) == 4
    # a synonym added for this import (the map's [vaccines]) stores the refused Covaxin row
    with platform.sessions() as s:
        third = import_legacy_files(
            s,
            ACTOR,
            [file],
            site="S-A1",
            rejects_path=rejects,
            mapping=ColumnMap(vaccines={"Covaxin": "ABDALA"}),
        )
        assert (third.report.rows_imported, third.report.rows_skipped) == (1, 4)


def test_a_tcvn3_csv_with_odd_headers_goes_through_the_mapping(
    platform: Platform, tmp_path: Path
) -> None:
    file = tmp_path / "so-tiem.csv"
    lines = [
        "Sæ tiªm chñng x· B×nh An",  # a title line, TCVN3
        "Ma so,Ten benh nhan,Ngµy sinh,Vacxin,Lan tiem,Ngay,Ma diem",
        "K-1,NguyÔn ThÞ Lan,12/12/1992,Vero Cell,1,02/09/2021,S-B1",
        "K-2,NguyÔn ThÞ Lan,12/12/1992,Spikevax,2,30/09/2021,S-B1",
        "K-3,Hoµng V¨n Nam,1980,Moderna,1,02/09/2021,S-NOWHERE",
    ]
    file.write_bytes("\n".join(lines).encode("latin-1"))
    mapping_file = tmp_path / "cot.toml"
    mapping_file.write_text(
        '[columns]\n"Mã số" = "record_id"\n"Ten benh nhan" = "full_name"\n'
        '"Vacxin" = "vaccine"\n"Lan tiem" = "dose_number"\n"Ngay" = "dose_date"\n'
        '"Ma diem" = "site_id"\n',
        encoding="utf-8",
    )
    mapping = load_mapping(mapping_file)
    with platform.sessions() as s:
        done = import_legacy_files(
            s, ACTOR, [file], mapping=mapping, source="binh-an", rejects_path=tmp_path / "r.csv"
        )
    r = done.report
    assert (r.rows_read, r.rows_imported, r.rows_rejected) == (3, 2, 1)
    assert r.reasons == {"site_id:unknown_site": 1}
    with platform.sessions() as s:
        stored = sorted(
            (d.record_id, d.full_name, d.product_code, d.dob)
            for d in s.scalars(select(Dose).where(Dose.record_id.like("binh-an:%")))
        )
    assert stored == [
        ("binh-an:K-1", "Nguyễn Thị Lan", "VEROCELL", "1992-12-12"),
        ("binh-an:K-2", "Nguyễn Thị Lan", "MODERNA", "1992-12-12"),
    ]


def test_headers_and_vaccine_names_are_guessed_as_people_write_them() -> None:
    headers = [
        "STT",
        "HỌ VÀ TÊN",
        "Ngày  sinh",
        "Số CCCD",
        "Loại vắc-xin",
        "Mũi",
        "Ngày tiêm",
        "Lô",
        None,
    ]
    assert guess_columns(headers) == {
        1: "full_name",
        2: "dob",
        3: "national_id",
        4: "vaccine",
        5: "dose_number",
        6: "dose_date",
    }
    names = product_names(
        [("AZ", "AstraZeneca (Vaxzevria)"), ("VEROCELL", "Sinopharm (Vero Cell)")]
    )
    assert names[vaccine_key("ASTRA")] == "AZ"
    assert names[vaccine_key("Vero-cell")] == "VEROCELL"
    assert names[vaccine_key("sinopharm")] == "VEROCELL"
    assert vaccine_key("Pfizer") not in names  # not in this catalogue: refused, not guessed


def test_a_mapping_naming_no_column_is_refused_by_name(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[columns]\n"Tên" = "ten"\n', encoding="utf-8")
    try:
        load_mapping(bad)
    except Exception as exc:
        assert "'ten'" in str(exc) and "no such column" in str(exc) and "không có" in str(exc)
    else:
        raise AssertionError("a mapping to no column was accepted")


def test_a_parquet_file_with_vietnamese_columns_is_read_through_the_guess(
    platform: Platform, tmp_path: Path
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    file = tmp_path / "tiem.parquet"
    pq.write_table(
        pa.table(
            {
                "Họ và tên": ["Vò Thị Xuân", "Ngô Văn Đạt"],
                "Ngày sinh": ["07/07/1977", "08/08/1988"],
                "Loại vắc xin": ["Spikevax", "Sputnik"],
                "Mũi": [1, 1],
                "Ngày tiêm": ["03/11/2021", "04/11/2021"],
            }
        ),
        file,
    )
    with platform.sessions() as s:
        done = import_legacy_files(s, ACTOR, [file], site="S-B2", rejects_path=tmp_path / "r.csv")
        assert (done.report.rows_read, done.report.rows_imported) == (2, 2)
        stored = sorted(
            (d.full_name, d.product_code, d.dose_date, d.site_id)
            for d in s.scalars(select(Dose).where(Dose.site_id == "S-B2"))
            if d.record_id and d.record_id.startswith("fp-")
        )
    assert stored == [
        ("Ngô Văn Đạt", "SPUTNIKV", date(2021, 11, 4), "S-B2"),
        ("Vò Thị Xuân", "MODERNA", date(2021, 11, 3), "S-B2"),
    ]


def test_a_csv_mixing_unicode_headers_and_tcvn3_rows_keeps_both(
    platform: Platform, tmp_path: Path
) -> None:
    """Headers retyped in Unicode over rows still typed in TCVN3 (bytes, not characters), and
    one row in Unicode: read line by line, every name comes out in Unicode."""
    file = tmp_path / "tram-hung-dung.csv"
    header = "STT,Họ và tên,Ngày sinh,Loại vắc xin,Mũi,Ngày tiêm,Mã điểm tiêm\n".encode()
    tcvn3 = ("1,NguyÔn V¨n Hïng,05/03/1990,Vero Cell,1,15/08/2021,S-B1\n").encode("latin-1")
    unicode_row = "2,Trần Thị Mỹ,02/01/1985,Pfizer,1,01/09/2021,S-B1\n".encode()
    file.write_bytes(codecs.BOM_UTF8 + header + tcvn3 + unicode_row)
    with pytest.raises(UnicodeDecodeError):
        file.read_bytes().decode("utf-8")  # the file as a whole is not UTF-8
    with platform.sessions() as s:
        done = import_legacy_files(
            s, ACTOR, [file], source="hung-dung", rejects_path=tmp_path / "r.csv"
        )
    assert (done.report.rows_read, done.report.rows_imported) == (2, 2)
    with platform.sessions() as s:
        names = sorted(d.full_name for d in s.scalars(select(Dose).where(Dose.site_id == "S-B1")))
    assert names == ["Nguyễn Văn Hùng", "Trần Thị Mỹ"]
