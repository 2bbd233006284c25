"""Backlog import of legacy dose records into `doses`, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import func, select

from tests.factories import world
from tiemchung.core import Platform
from tiemchung.registry.imports.backlog import client_uuid_for, import_dose_records
from tiemchung.registry.models import AuditEvent, Dose
from tiemchung.registry.scope import Actor


def _rows() -> list[dict[str, Any]]:
    w = world()
    base = {
        "national_id": "040 190 012 345",
        "full_name": "NGUYEN THI  hoa",
        "dob": "05/03/1990",
        "sex": "Nữ",
        "phone": "0168 234 5678",
        "ward_code": w.wards["b1"].lstrip("0"),
        "address": "Xóm 3",
        "vaccine": "AZ",
        "dose_number": "1",
        "dose_date": "15/08/2021",
        "site_id": w.sites["b1"],
    }
    return [
        dict(base, record_id="R1"),
        dict(
            base,
            record_id="R2",
            vaccine="Vero Cell",
            dose_number="2",
            dose_date="2021-09-20",
            national_id="184123456",
        ),
        dict(base, record_id="R3", site_id="NO-SUCH-SITE"),
        dict(base, record_id="R4", vaccine="Covaxin"),
        dict(base, record_id="R5", dose_date="31/02/2021"),
        dict(base, record_id="R6", dose_number="một"),
        dict(base, record_id="", dose_number="1"),
    ]


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    cols = list(rows[0])
    pq.write_table(pa.table({c: [r[c] for r in rows] for c in cols}), path)
    return path


def test_backlog_is_stored_as_entered_with_rejects_and_idempotent(
    platform: Platform, tmp_path: Path
) -> None:
    file = _write(tmp_path / "records.parquet", _rows())
    actor = Actor.system("backlog-test")
    with platform.sessions() as s:
        report = import_dose_records(s, actor, file)
    assert (report.rows_read, report.rows_imported, report.rows_rejected) == (7, 2, 5)
    assert report.reasons == {
        "site_id:unknown_site": 1,
        "vaccine:unknown_product": 1,
        "dose_date:unreadable": 1,
        "dose_number:unreadable": 1,
        "record_id:required": 1,
    }
    with Path(report.rejects_file or "").open(encoding="utf-8") as fh:
        rejects = list(csv.DictReader(fh))
    assert [r["record_id"] for r in rejects] == ["R3", "R4", "R5", "R6", ""]
    assert "site" in rejects[0]["reason"] and rejects[0]["row"] == "4"
    with platform.sessions() as s:
        doses = {d.record_id: d for d in s.scalars(select(Dose)) if d.record_id in ("R1", "R2")}
        one, two = doses["R1"], doses["R2"]
        assert one.client_uuid == client_uuid_for("R1")
        assert (one.status, one.person_pk, one.lot_id) == ("unverified", None, None)
        # cleaned of formatting only: the missing diacritics stay (a wrong field to reconcile)
        assert (one.full_name, one.national_id, one.dob, one.sex, one.phone) == (
            "Nguyen Thi Hoa",
            "040190012345",
            "1990-03-05",
            "F",
            "0382345678",
        )
        assert one.ward_code == world().wards["b1"] and one.area_province_code == "40"
        assert (two.product_code, two.dose_number, two.dose_date) == (
            "VEROCELL",
            2,
            date(2021, 9, 20),
        )
        assert two.national_id == "184123456"  # the old CMND, kept as typed
        events = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "dose.backlog_import")
        ).all()
        assert len(events) == 1 and events[0].detail["imported"] == 2
    # the same file again stores nothing twice
    with platform.sessions() as s:
        again = import_dose_records(s, actor, file)
        assert (again.rows_imported, again.rows_skipped, again.rows_rejected) == (0, 2, 5)
        assert (
            s.scalar(select(func.count()).select_from(Dose).where(Dose.record_id.in_(["R1", "R2"])))
            == 2
        )
    # the same record_id with other content is a conflict, not an overwrite
    changed = [dict(_rows()[0], full_name="Trần Văn Khác")]
    with platform.sessions() as s:
        conflict = import_dose_records(s, actor, changed, rejects_path=tmp_path / "c.csv")
        assert conflict.reasons == {"record_id:conflict": 1}
        assert s.scalar(select(Dose.full_name).where(Dose.record_id == "R1")) == "Nguyen Thi Hoa"
