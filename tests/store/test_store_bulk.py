"""store/bulk.py: many keys in one parameter and many rows in one statement, on SQLite and
PostgreSQL (issue 15: one home for the tricks the dose path and the imports share), and the
one closing block of the registry's imports (registry/imports/closing.py)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from tiemchung.core import Platform
from tiemchung.registry.imports.closing import close_import
from tiemchung.registry.imports.rejects import RejectsFile, RowsReport
from tiemchung.registry.models import AuditEvent, Product
from tiemchung.registry.scope import Actor
from tiemchung.store import bulk

SYSTEM = Actor.system("tests")


def test_many_keys_in_one_parameter(platform: Platform) -> None:
    """Every form of the trick finds exactly the keys asked for, whatever their number (a
    thousand keys stay one parameter), and none for no key."""
    with platform.sessions() as s:
        codes = sorted(s.scalars(select(Product.code)).all())
        assert len(codes) >= 2
        asked = [codes[0], codes[-1], *(f"NONE-{i}" for i in range(1000))]
        conn = s.connection()
        dialect = conn.dialect.name
        rows = bulk.select_keys(conn, "SELECT code FROM products WHERE code {isin}", asked)
        assert sorted(r[0] for r in rows) == [codes[0], codes[-1]]
        assert bulk.select_keys(conn, "SELECT code FROM products WHERE code {isin}", []) == []
        core = s.scalars(
            select(Product.code).where(bulk.keys_filter(Product.__table__.c.code, dialect)),
            {"keys": bulk.keys_param(asked, dialect)},
        ).all()
        assert sorted(core) == [codes[0], codes[-1]]
        ad_hoc = s.scalars(select(Product.code).where(bulk.in_keys(Product.code, asked, dialect)))
        assert sorted(ad_hoc) == [codes[0], codes[-1]]


def test_many_rows_in_one_statement(platform: Platform) -> None:
    """insert_tuples (and COPY on PostgreSQL) store driver-form rows as they are, JSON
    columns included."""
    cols = ("user_id", "username", "action", "entity", "entity_id", "detail")
    rows = [(None, "tests", "bulk.test", "x", str(i), bulk.json_text({"i": i})) for i in range(3)]
    with platform.sessions() as s:
        conn = s.connection()
        bulk.insert_tuples(conn, "audit_log", cols, rows[:2])
        if conn.dialect.name == "postgresql":
            bulk.copy_rows(conn, "audit_log", cols, rows[2:])
        else:
            bulk.insert_tuples(conn, "audit_log", cols, rows[2:])
        s.commit()
        events = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "bulk.test").order_by(AuditEvent.id)
        ).all()
    assert [(e.entity_id, e.detail) for e in events] == [(str(i), {"i": i}) for i in range(3)]


def test_an_import_closes_with_its_refusals_one_audit_event_and_a_commit(
    platform: Platform, tmp_path: Path
) -> None:
    report = RowsReport("f.csv", rows_read=3, rows_imported=1, rows_skipped=1)
    with platform.sessions() as s, RejectsFile(tmp_path / "f.rejects.csv", ["a"]) as rejects:
        rejects.add(4, "a:bad", "a is bad", {"a": "x"})
        close_import(
            s, SYSTEM, report, rejects, action="test.import", entity="test",
            entity_id="x" * 70 + "f.csv", where={"source": "f.csv"},
        )  # fmt: skip
    with platform.sessions() as s:  # committed: another session reads it
        (event,) = s.scalars(select(AuditEvent).where(AuditEvent.action == "test.import"))
    assert (report.rows_rejected, report.reasons) == (1, {"a:bad": 1})
    assert report.rejects_file == str(tmp_path / "f.rejects.csv")
    assert event.entity_id is not None and len(event.entity_id) == 64
    assert event.detail == {
        "source": "f.csv",
        "read": 3,
        "imported": 1,
        "skipped": 1,
        "rejected": 1,
        "reasons": {"a:bad": 1},
    }
