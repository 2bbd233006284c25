"""The backlog import at speed (issue 17's million rows): set-based per chunk and per burst,
with the same outcome for every row as one row at a time. Chunks and bursts are made tiny
here so that a record id repeats across a chunk boundary and a burst is in flight while
later chunks are read; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import hashlib
import json
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from tests.factories import world
from tiemchung.core import Platform
from tiemchung.registry.catalog.sites import close_site
from tiemchung.registry.imports import backlog
from tiemchung.registry.imports.backlog_rows import content_hash, row_texts, uuid_hex
from tiemchung.registry.models import AuditEvent, Dose
from tiemchung.registry.scope import Actor

ACTOR = Actor.system("backlog-bulk-test")


def _row(rid: str, **changes: str) -> dict[str, Any]:
    w = world()
    base = {
        "record_id": rid,
        "national_id": "001085123456",
        "full_name": f"Nguyễn Văn {rid}",
        "dob": "12/04/1985",
        "sex": "Nam",
        "phone": "",
        "ward_code": "",
        "address": "Thôn 1",
        "vaccine": "Pfizer",
        "dose_number": "1",
        "dose_date": "01/09/2021",
        "site_id": w.sites["a1"],
    }
    return base | changes


def _rows() -> list[dict[str, Any]]:
    """Twelve rows in chunks of three (lines 2-4, 5-7, 8-10, 11-13)."""
    return [
        _row("R1"),
        _row("R2"),
        _row("R3"),
        _row("R2"),  # line 5, next chunk: the same content again -> skipped
        _row("R3", dose_number="2"),  # line 6: other content -> record_id:duplicate
        _row("R4", vaccine="Covaxin"),  # line 7 -> vaccine:unknown_product
        _row("R5", site_id=world().sites["b1"]),
        _row("R6", dose_date="30/02/2021"),  # line 9 -> dose_date:unreadable
        _row("R7"),
        _row("R8"),
        _row("R5", site_id=world().sites["b1"]),  # line 12, two chunks later -> skipped
        _row("R9"),
    ]


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backlog, "BATCH_ROWS", 3)
    monkeypatch.setattr(backlog, "COMMIT_ROWS", 2)


def _rejects(path: str | None) -> list[tuple[str, str, str]]:
    with Path(path or "").open(encoding="utf-8") as fh:
        return [(r["row"], r["record_id"], r["reason"]) for r in csv.DictReader(fh)]


def test_a_record_id_across_chunks_and_bursts_is_stored_once(
    platform: Platform, tmp_path: Path, tiny: None
) -> None:
    with platform.sessions() as s:
        report = backlog.import_dose_records(s, ACTOR, _rows(), rejects_path=tmp_path / "r.csv")
    assert (report.rows_read, report.rows_imported, report.rows_skipped) == (12, 7, 2)
    assert report.reasons == {
        "record_id:duplicate": 1,
        "vaccine:unknown_product": 1,
        "dose_date:unreadable": 1,
    }
    assert [(row, rid) for row, rid, _ in _rejects(report.rejects_file)] == [
        ("6", "R3"),
        ("7", "R4"),
        ("9", "R6"),
    ]
    with platform.sessions() as s:
        stored = s.execute(select(Dose.record_id, Dose.dose_number, Dose.id).order_by(Dose.id))
        rows = [(rid, number) for rid, number, _id in stored]
        # in the file's order, each once, the first content of R3
        assert rows == [(f"R{n}", 1) for n in (1, 2, 3, 5, 7, 8, 9)]
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "dose.backlog_import"))
        assert [(e.detail["read"], e.detail["imported"]) for e in events] == [(12, 7)]


def test_the_same_rows_again_store_nothing_and_refuse_the_same(
    platform: Platform, tmp_path: Path, tiny: None
) -> None:
    with platform.sessions() as s:
        first = backlog.import_dose_records(s, ACTOR, _rows(), rejects_path=tmp_path / "1.csv")
    with platform.sessions() as s:
        again = backlog.import_dose_records(s, ACTOR, _rows(), rejects_path=tmp_path / "2.csv")
        assert s.scalar(select(func.count()).select_from(Dose)) == 7
    assert (again.rows_read, again.rows_imported, again.rows_skipped) == (12, 0, 9)
    assert again.reasons == first.reasons
    assert _rejects(again.rejects_file) == _rejects(first.rejects_file)


def test_a_stored_row_from_a_site_closed_since_is_refused_again_not_skipped(
    platform: Platform, tmp_path: Path, tiny: None
) -> None:
    with platform.sessions() as s:
        backlog.import_dose_records(s, ACTOR, _rows(), rejects_path=tmp_path / "1.csv")
        close_site(s, ACTOR, world().sites["b1"])
        s.commit()
    with platform.sessions() as s:
        again = backlog.import_dose_records(s, ACTOR, _rows(), rejects_path=tmp_path / "2.csv")
    # R5 (twice) is stored, but its site takes no rows now: as a first import would say
    assert again.reasons["site_id:unknown_site"] == 2
    assert (again.rows_imported, again.rows_skipped) == (0, 7)
    assert [rid for _row, rid, _ in _rejects(again.rejects_file)].count("R5") == 2


def test_a_row_changed_since_is_a_conflict_after_the_chunk(
    platform: Platform, tmp_path: Path, tiny: None
) -> None:
    with platform.sessions() as s:
        backlog.import_dose_records(s, ACTOR, _rows()[:3], rejects_path=tmp_path / "1.csv")
    changed = [_row("R1", address="Thôn 2"), _row("R10", vaccine="Covaxin"), _row("R11")]
    with platform.sessions() as s:
        report = backlog.import_dose_records(s, ACTOR, changed, rejects_path=tmp_path / "2.csv")
        assert s.scalar(select(Dose.address).where(Dose.record_id == "R1")) == "Thôn 1"
    assert report.rows_imported == 1
    # within a chunk, conflicts follow the rows' own refusals (the order it always had)
    assert [(row, reason.split()[0]) for row, _rid, reason in _rejects(report.rejects_file)] == [
        ("3", "no"),
        ("2", "a"),
    ]


def test_the_content_hash_and_key_are_those_stored_before() -> None:
    """Rows stored by the import before it was set-based must skip, not conflict: the hash
    is json.dumps' text of the cells, the key uuid5 in the backlog's namespace."""
    raw = {
        "record_id": " fp-1 ",
        "full_name": 'Nguyễn "Tư"\\\n\t\x01 Ω',
        "dob": None,
        "dose_number": 2,
        "address": "  ",
    }
    texts = row_texts(raw)
    assert texts[:4] == ["fp-1", None, 'Nguyễn "Tư"\\\n\t\x01 Ω', None]
    assert texts[9] == "2" and texts[7] is None
    expected = hashlib.sha256(json.dumps(texts, ensure_ascii=False).encode()).hexdigest()
    assert content_hash(texts) == expected
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, "urn:tiemchung:backlog-dose-record")
    for rid in ("fp-1", "R1", "an-binh:00042", "Mã-Đ"):
        assert uuid_hex(rid) == uuid.uuid5(namespace, rid).hex


def test_a_burst_the_database_refuses_stops_the_import_and_keeps_the_bursts_before(
    platform: Platform, tmp_path: Path, tiny: None
) -> None:
    """The writer thread's error reaches the caller; what it had committed stays, and the
    pool's connections still work."""
    w = world()
    with platform.sessions() as s:  # R9's record id taken by a dose of another key
        s.add(
            Dose(
                client_uuid=uuid.uuid4(),
                submission_hash="x" * 64,
                record_id="R9",
                full_name="Người Khác",
                product_code="PFIZER",
                dose_number=1,
                dose_date=date(2021, 9, 1),
                site_id=w.sites["a1"],
                status="unverified",
            )
        )
        s.commit()
    with platform.sessions() as s, pytest.raises((IntegrityError, psycopg.IntegrityError)):
        backlog.import_dose_records(s, ACTOR, _rows(), rejects_path=tmp_path / "r.csv")
    with platform.sessions() as s:
        stored = set(s.scalars(select(Dose.record_id)))
    # bursts after each chunk once two rows wait: R1 R2 R3 | R5 R7 | R8 R9 (refused whole)
    assert stored == {"R1", "R2", "R3", "R5", "R7", "R9"}
    assert s.scalar(select(Dose.full_name).where(Dose.record_id == "R9")) == "Người Khác"
