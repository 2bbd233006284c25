"""Importing the sites' hand tallies: stored, re-import idempotent, bad rows kept with reasons."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from tests.factories import PROVINCE_B, world
from tiemchung.core import Platform
from tiemchung.registry.imports.tallies import TallyFileError, import_tallies
from tiemchung.registry.models import AuditEvent, Tally
from tiemchung.registry.scope import Actor, Role

SYSTEM = Actor.system("tests")


def write_csv(path: Path, rows: list[list[str]], header: list[str] | None = None) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header or ["site_id", "report_date", "vaccine", "reported"])
        w.writerows(rows)
    return path


def stored(platform: Platform) -> dict[tuple[str, date, str, int | None], int]:
    with platform.sessions() as s:
        return {
            (t.site_id, t.report_date, t.product_code, t.dose_number): t.reported
            for t in s.scalars(select(Tally))
        }


def test_import_reimport_and_rejects(platform: Platform, tmp_path: Path) -> None:
    w = world()
    a1, b1 = w.sites["a1"], w.sites["b1"]
    f = write_csv(
        tmp_path / "tallies.csv",
        [
            [a1, "2021-10-01", "PFIZER", "120"],
            [a1, "02/10/2021", "AstraZeneca", "80"],  # day-first date, product by its name
            [b1, "2021-10-01", "PFIZER", "40"],
            [a1, "2021-10-01", "PFIZER", "120"],  # repeated with the same count: skipped
            [a1, "2021-10-01", "PFIZER", "121"],  # repeated with another count: rejected
            ["S-NOPE", "2021-10-01", "PFIZER", "5"],  # unknown site
            [a1, "2021-10-03", "VACCINE-X", "5"],  # unknown product
            [a1, "31/02/2021", "PFIZER", "5"],  # no such day
            [a1, "2021-10-04", "PFIZER", "-3"],  # negative count
            [a1, "2021-10-05", "PFIZER", "nhiều"],  # not a number
        ],
    )
    with platform.sessions() as s:
        rep = import_tallies(s, SYSTEM, f)
    assert (rep.rows_read, rep.rows_imported, rep.rows_skipped, rep.rows_rejected) == (10, 3, 1, 6)
    assert rep.reasons == {
        "reported:conflict": 1,
        "site_id:unknown": 1,
        "vaccine:unknown": 1,
        "report_date:unreadable": 1,
        "reported:range": 1,
        "reported:unreadable": 1,
    }
    assert stored(platform) == {
        (a1, date(2021, 10, 1), "PFIZER", None): 120,
        (a1, date(2021, 10, 2), "AZ", None): 80,
        (b1, date(2021, 10, 1), "PFIZER", None): 40,
    }
    assert rep.rejects_file is not None
    with open(rep.rejects_file, encoding="utf-8") as fh:
        kept = list(csv.DictReader(fh))
    assert [r["row"] for r in kept] == ["6", "7", "8", "9", "10", "11"]
    assert kept[1]["site_id"] == "S-NOPE" and "S-NOPE" in kept[1]["reason"]
    with platform.sessions() as s:
        again = import_tallies(s, SYSTEM, f)
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "tally.import")).all()
    assert (again.rows_imported, again.rows_skipped) == (0, 4)
    assert len(events) == 2 and events[0].detail["imported"] == 3


def test_area_dose_numbers_and_xlsx(platform: Platform, tmp_path: Path) -> None:
    w = world()
    a1, b1 = w.sites["a1"], w.sites["b1"]
    wb = Workbook()
    ws = wb.active
    ws.append(["site_id", "report_date", "product_code", "dose_number", "reported"])
    ws.append([b1, date(2021, 11, 1), "PFIZER", 1, 30])
    ws.append([b1, date(2021, 11, 1), "PFIZER", 2, 12])
    ws.append([b1, date(2021, 11, 1), "PFIZER", None, 42])  # whole day mixed with per dose
    ws.append([a1, date(2021, 11, 1), "PFIZER", 1, 7])  # outside province B
    path = tmp_path / "t.xlsx"
    wb.save(path)
    prov_b = Actor(9, "prov_b", Role.PROVINCE, province_code=PROVINCE_B)
    with platform.sessions() as s:
        rep = import_tallies(s, prov_b, path)
    assert rep.rows_imported == 2
    assert rep.reasons == {"dose_number:mixed": 1, "site_id:out_of_area": 1}
    assert stored(platform) == {
        (b1, date(2021, 11, 1), "PFIZER", 1): 30,
        (b1, date(2021, 11, 1), "PFIZER", 2): 12,
    }


def test_file_errors(platform: Platform, tmp_path: Path) -> None:
    with platform.sessions() as s:
        with pytest.raises(TallyFileError, match="no such file"):
            import_tallies(s, SYSTEM, tmp_path / "none.csv")
        bad = write_csv(tmp_path / "bad.csv", [["x", "y"]], header=["site", "day"])
        with pytest.raises(TallyFileError, match=r"required column\(s\)"):
            import_tallies(s, SYSTEM, bad)
        with pytest.raises(TallyFileError, match="unsupported format"):
            import_tallies(s, SYSTEM, write_csv(tmp_path / "t.json", []))


def test_synth_tallies_load(platform: Platform, tmp_path: Path) -> None:
    """What `tiemchung synth` writes loads as it is (the demo relies on it)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    w = world()
    pq.write_table(
        pa.table(
            {
                "site_id": [w.sites["a1"], w.sites["a2"]],
                "report_date": pa.array([date(2021, 9, 1), date(2021, 9, 2)], pa.date32()),
                "vaccine": ["AZ", "VEROCELL"],
                "reported": pa.array([11, 12], pa.int32()),
            }
        ),
        tmp_path / "tallies.parquet",
    )
    with platform.sessions() as s:
        rep = import_tallies(s, SYSTEM, tmp_path / "tallies.parquet")
    assert (rep.rows_imported, rep.rows_rejected, rep.rejects_file) == (2, 0, None)
    assert sum(stored(platform).values()) == 23
