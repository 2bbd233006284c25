"""Where the pull from the remote register stopped (issue 19, point 5).

One row per feed (``name``: ``register``): the opaque cursor the register's ``/changes``
gave last, stored in the transaction that stored the persons it covered, so a crash between
two pages repeats at most one page (and a repeated person changes nothing).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from tiemchung.registry.models import Base


class RegisterCursor(Base):
    """The last cursor of one change feed read."""

    __tablename__ = "register_cursor"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
