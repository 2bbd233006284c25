"""Masking of personal data in application logs.

ID numbers, phone numbers and query strings (which carry IDs and names in look-ups) never
reach a log line in clear. Names are never logged by the code; the access log's query strings
are the one place they could leak, so those are cut.
"""

from __future__ import annotations

import logging
import re

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
    """Rewrites each record's message with :func:`mask_text` before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is still logged, masked as far as possible
            message = str(record.msg)
        record.msg = mask_text(message)
        record.args = None
        return True


def install(level: str = "INFO") -> None:
    """Attach the masking filter to every handler of the root and uvicorn loggers."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # /health asks it on every call
    mask = MaskingFilter()
    for name in ("", "uvicorn", "uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.addFilter(mask)
        for handler in logger.handlers:
            handler.addFilter(mask)
