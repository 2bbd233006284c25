"""The SMS templates an installation edited (issue 18 point 6).

One row per key (``invitation``, ``moved_up``, ``cancelled``, ``reminder``, ``otp``); no row
means the built-in text of ``registry/messages/templates.DEFAULTS``, so a fresh installation
and a "reset" are the same state and a later release may improve the default texts of every
installation that never edited them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, String, Text, false, func
from sqlalchemy.orm import Mapped, mapped_column

from tiemchung.registry.models import Base


class SmsTemplate(Base):
    """An edited template: its body with named placeholders and whether accents are kept."""

    __tablename__ = "sms_templates"

    key: Mapped[str] = mapped_column(String(20), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    # True: sent with its accents (UCS-2, 70 characters a segment); False: unaccented GSM-7
    keep_accents: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_by_name: Mapped[str | None] = mapped_column(String(80))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
