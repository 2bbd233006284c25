"""Masking of personal data in application logs, and the logs' shape (text or JSON lines).

ID numbers, phone numbers and query strings (which carry IDs and names in look-ups) never
reach a log line in clear. Names are never logged by the code; the access log's query strings
are the one place they could leak, so those are cut. Exception texts and tracebacks are
masked too (an ID number in a URL or a refused value ends up in them), and the engines hide
SQL parameters (``hide_parameters``, :mod:`tiemchung.store.db`).

:func:`install` runs in every process that serves (each ``serve --workers`` worker builds
its app, which installs it), not only in the parent. Each line carries the request id of
the request being served (:data:`request_id`, set by :mod:`tiemchung.serving.requestid`),
so an operator finds every line of the request a nurse quotes from her error page.
"""

from __future__ import annotations

import json
import logging
import os
import re
from contextvars import ContextVar
from datetime import UTC, datetime

#: The id of the request this task or thread is serving ("" outside a request): the request
#: id middleware sets it; log lines and problem documents read it.
request_id: ContextVar[str] = ContextVar("request_id", default="")

_DIGITS = re.compile(r"(?<!\d)(\+?84|0)?(\d{2})\d{5,8}(\d{2})(?!\d)")
_QUERY = re.compile(r"\?[^\s\"']*")


def mask_text(text: str) -> str:
    """Mask digit runs of 9–12 (IDs, phones) and cut query strings.

    >>> mask_text("GET /api/v1/persons?national_id=001090012345 200")
    'GET /api/v1/persons?… 200'
    >>> mask_text("lookup 0912345678")
    'lookup 091******78'
    """
    text = _QUERY.sub("?…", text)
    return _DIGITS.sub(lambda m: f"{m.group(1) or ''}{m.group(2)}******{m.group(3)}", text)


class MaskingFilter(logging.Filter):
    """Rewrites each record before any handler sees it: its message and its exception text
    masked with :func:`mask_text` (the traceback formatted here, masked, and kept in
    ``exc_text``, so no formatter formats it again in clear), and the request id put on it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is still logged, masked as far as possible
            message = str(record.msg)
        record.msg = mask_text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.exc_info = None
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        if not getattr(record, "request_id", ""):
            record.request_id = request_id.get() or "-"
        return True


#: Fields a record may carry (``extra=``) that a JSON line shows: the access lines' own.
ACCESS_FIELDS = ("method", "route", "status", "duration_ms")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts (UTC, ISO 8601), level, logger, msg, request_id, pid, and
    for access lines method, route, status, duration_ms; ``exc`` holds a masked traceback."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "pid": os.getpid(),
        }
        for name in ACCESS_FIELDS:
            if hasattr(record, name):
                doc[name] = getattr(record, name)
        if record.exc_text:
            doc["exc"] = record.exc_text
        return json.dumps(doc, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def install(level: str = "INFO", fmt: str = "text") -> None:
    """Log to stderr through one handler of ours on the root logger, masked, in ``fmt``
    ("json" or "text"). Safe to call again (each worker's app calls it; a second call only
    updates the level and format): never a second handler, never a second filter."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "tiemchung", False)), None)
    if handler is None:
        handler = logging.StreamHandler()
        handler.tiemchung = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # /health asks it on every call
    for name in ("", "uvicorn", "uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        for target in [logger, *logger.handlers]:
            if not any(isinstance(f, MaskingFilter) for f in target.filters):
                target.addFilter(MaskingFilter())
