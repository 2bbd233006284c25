"""The audit log refuses INSERT OR REPLACE / UPSERT over an existing row on SQLite.

``INSERT OR REPLACE INTO audit_log (id, …) VALUES (1, …)`` overwrote row 1: SQLite's REPLACE
deletes the conflicting row *without* firing DELETE triggers unless ``recursive_triggers`` is
on (https://www.sqlite.org/lang_conflict.html: "the delete triggers fire if and only if
recursive triggers are enabled"), so 0001's ``audit_log_no_delete`` never saw it. A BEFORE
INSERT trigger runs before conflict resolution, whatever the connection's pragmas: it aborts
any insert whose id is already taken, which covers ``INSERT OR REPLACE``, ``REPLACE INTO`` and
``INSERT … ON CONFLICT DO UPDATE`` (whose update 0001's UPDATE trigger refuses as well).

PostgreSQL needs nothing new: it has no REPLACE, and ``INSERT … ON CONFLICT DO UPDATE`` fires
the row-level BEFORE UPDATE trigger 0001 installed (tests/store/test_audit_append_only.py
checks both backends).

Revision ID: 0006_audit_replace
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0006_audit_replace"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        """CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log
           WHEN NEW.id IS NOT NULL AND EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id)
           BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"""
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_replace")
