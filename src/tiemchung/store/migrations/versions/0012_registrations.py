"""Organisations, priority groups and registrations (issue 18): one registration per person,
and every submission that named them (an organisation's row, the person's own form) beside it.

Revision ID: 0012_registrations
Revises: 0011_outbox
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_registrations"
down_revision = "0011_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "priority_groups",
        sa.Column("code", sa.String(length=10), nullable=False),
        sa.Column("name_vi", sa.String(length=300), nullable=False),
        sa.Column("name_en", sa.String(length=300), nullable=False),
        sa.Column("sort", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "registrations",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("national_id", sa.String(length=12), nullable=True),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("dob", sa.String(length=10), nullable=True),
        sa.Column("sex", sa.String(length=1), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("ward_code", sa.String(length=8), nullable=True),
        sa.Column("province_code", sa.String(length=8), nullable=True),
        sa.Column("priority_group", sa.String(length=10), nullable=True),
        sa.Column("underlying_condition", sa.Boolean(), nullable=False),
        sa.Column("check_status", sa.String(length=12), nullable=False),
        sa.Column("check_detail", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=12), server_default="active", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
        ),
        sa.ForeignKeyConstraint(
            ["priority_group"],
            ["priority_groups.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_id"),
    )
    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_registrations_group_ward", ["priority_group", "ward_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registrations_national_id"), ["national_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registrations_province_code"), ["province_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_registrations_ward_code"), ["ward_code"], unique=False)

    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("ward_code", sa.String(length=8), nullable=False),
        sa.Column("province_code", sa.String(length=8), nullable=False),
        sa.Column("contact_name", sa.String(length=200), nullable=True),
        sa.Column("contact_phone", sa.String(length=32), nullable=True),
        sa.Column("contact_email", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=12), server_default="applied", nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_organisations_province_code"), ["province_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_organisations_ward_code"), ["ward_code"], unique=False)

    op.create_table(
        "registration_sources",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "registration_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("batch", sa.String(length=40), nullable=True),
        sa.Column("row_number", sa.Integer(), nullable=True),
        sa.Column("submitted", sa.JSON(), nullable=False),
        sa.Column("result", sa.String(length=12), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("preferred_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["registrations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("registration_sources", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registration_sources_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registration_sources_registration_id"), ["registration_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("registration_sources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registration_sources_registration_id"))
        batch_op.drop_index(batch_op.f("ix_registration_sources_organisation_id"))

    op.drop_table("registration_sources")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organisations_ward_code"))
        batch_op.drop_index(batch_op.f("ix_organisations_province_code"))

    op.drop_table("organisations")
    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registrations_ward_code"))
        batch_op.drop_index(batch_op.f("ix_registrations_province_code"))
        batch_op.drop_index(batch_op.f("ix_registrations_national_id"))
        batch_op.drop_index("ix_registrations_group_ward")

    op.drop_table("registrations")
    op.drop_table("priority_groups")
