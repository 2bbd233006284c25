"""Organisations, priority groups and registrations (issue 18).

A registration says "this person wants (or is put forward for) a vaccination": from an
organisation's list, from the person on the citizen pages, or from staff. One person has ONE
registration however many times they are put forward (unique ``person_id``); each submission
that named them is a ``registration_sources`` row, so an organisation still sees its own rows
and a withdrawal by one organisation does not cancel another's. Invitations (``registry/people``
or the invitations capability) select from here by group, organisation, area and age.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from tiemchung.registry.models import Base, BigId


class PriorityGroup(Base):
    """A priority group as the government sets it (the 2021 list by default; editable)."""

    __tablename__ = "priority_groups"

    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    name_vi: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300))
    sort: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class Organisation(Base):
    """A company, school, agency or market that registers its people."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(300))
    # tax code (mã số thuế) or agency code; unique so one organisation applies once
    code: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    ward_code: Mapped[str] = mapped_column(String(8), index=True)
    province_code: Mapped[str] = mapped_column(String(8), index=True)
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    contact_email: Mapped[str | None] = mapped_column(String(200))
    # applied → approved | refused; suspended later if need be
    status: Mapped[str] = mapped_column(String(12), default="applied", server_default="applied")
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Registration(Base):
    """One person's registration, whoever put them forward."""

    __tablename__ = "registrations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # the register person once the check found them; null while not found or ambiguous
    person_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("persons.id"), unique=True)
    national_id: Mapped[str | None] = mapped_column(String(12), index=True)
    full_name: Mapped[str] = mapped_column(String(200))
    dob: Mapped[str | None] = mapped_column(String(10))  # as typed, ISO (a year alone stays one)
    sex: Mapped[str | None] = mapped_column(String(1))
    phone: Mapped[str | None] = mapped_column(String(32))
    ward_code: Mapped[str | None] = mapped_column(String(8), index=True)
    province_code: Mapped[str | None] = mapped_column(String(8), index=True)
    priority_group: Mapped[str | None] = mapped_column(ForeignKey("priority_groups.code"))
    underlying_condition: Mapped[bool] = mapped_column(Boolean, default=False)
    # the desk's verification: verified, mismatch, not_found, ambiguous
    check_status: Mapped[str] = mapped_column(String(12))
    check_detail: Mapped[dict | None] = mapped_column(JSON)
    # active, withdrawn (by everyone who put them forward)
    status: Mapped[str] = mapped_column(String(12), default="active", server_default="active")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_registrations_group_ward", "priority_group", "ward_code"),)


class RegistrationSource(Base):
    """One submission naming a person: an organisation's row, the person's own form, staff."""

    __tablename__ = "registration_sources"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    registration_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("registrations.id"), index=True
    )
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    source: Mapped[str] = mapped_column(String(12))  # organisation, self, staff
    batch: Mapped[str | None] = mapped_column(String(40))  # the upload or request it came in
    row_number: Mapped[int | None] = mapped_column(Integer)
    # the row as submitted (kept so a rejected or unmatched row is never lost)
    submitted: Mapped[dict] = mapped_column(JSON)
    # the row's answer: verified, mismatch, not_found, ambiguous, rejected (with reasons)
    result: Mapped[str] = mapped_column(String(12))
    reasons: Mapped[list | None] = mapped_column(JSON)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # a date a registrant asked for, if any (self registration)
    preferred_date: Mapped[date | None] = mapped_column(Date)
