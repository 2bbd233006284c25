"""Who speaks for an organisation, and the one-time codes of self registration (issue 18).

An organisation's users are ordinary ``users`` rows of the ``org`` role; which organisation
each speaks for is this table rather than a column of ``users``, so a signed token and the
user administration stay as they are (an ``org`` user has no area of its own: what it may do
is decided by ``registry/scope.Actor.may_submit_for`` from its membership here).

A self registration waits in ``registration_codes`` until the code sent by SMS comes back: the
code is stored hashed, expires, and allows few attempts.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from tiemchung.registry.models import Base, BigId


class OrganisationUser(Base):
    """A user who submits lists for one organisation."""

    __tablename__ = "organisation_users"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RegistrationCode(Base):
    """A self registration waiting for its one-time code."""

    __tablename__ = "registration_codes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    phone: Mapped[str] = mapped_column(String(32), index=True)
    # sha256 of a secret salt + the code: a leaked table reveals no code
    code_hash: Mapped[str] = mapped_column(String(64))
    # the form as the person filled it, stored when the code confirms it
    payload: Mapped[dict] = mapped_column(JSON)
    ip: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
