"""The FHIR bulk exports asked for (issue 19 point 2, ``$export``; registry/exports/jobs.py).

One row per kick-off: what was asked (types, ``_since``, the Group), who asked (the user and
the area the export is scoped by, so the runner rebuilds the same :class:`Actor` after a
restart), where its files are and until when they are kept. A job ``queued`` or left
``running`` by a crash runs again at the next start: the files are written from scratch.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from tiemchung.registry.models import Base, BigId


class ExportJob(Base):
    """A bulk export: its request, its state and, once done, its files (``output``)."""

    __tablename__ = "export_jobs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # queued | running | done | failed (a cancelled job's row is deleted with its files)
    status: Mapped[str] = mapped_column(String(10), index=True)
    request: Mapped[str] = mapped_column(Text)  # the kick-off URL, as the manifest repeats it
    types: Mapped[list[str]] = mapped_column(JSON)
    since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    group_kind: Mapped[str | None] = mapped_column(String(10))  # ward | province
    group_code: Mapped[str | None] = mapped_column(String(8))
    folder: Mapped[str] = mapped_column(Text)
    # the caller, whose area scopes the export and who alone may read its files
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    username: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(10))
    province_code: Mapped[str | None] = mapped_column(String(8))
    ward_code: Mapped[str | None] = mapped_column(String(8))
    written: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    output: Mapped[list[dict] | None] = mapped_column(JSON)  # [{type, file, count}]
    error: Mapped[dict | None] = mapped_column(JSON)  # a failed job's problem, vi and en
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    transaction_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
