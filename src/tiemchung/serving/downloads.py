"""File answers (exports, certificates, worklists): one ``Content-Disposition`` for all.

HTTP header values are Latin-1 on the wire: a file name built from a request value
(``/worklist.xlsx?ward_code=ư``) or a Vietnamese table name put as is into
``filename="…"`` made the server fail while sending the headers (a 500). RFC 6266 §4.3 says
what to send instead: a plain ASCII ``filename`` for old clients and the real name, UTF-8 and
percent-encoded as RFC 5987 (RFC 8187) specifies, in ``filename*`` — which every current
browser prefers. Every route that answers a file (API and web pages) builds its header here;
tests/api/test_downloads.py fails when another module writes the header itself.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from urllib.parse import quote

from starlette.responses import FileResponse, Response

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def ascii_filename(name: str, default: str = "download") -> str:
    """``name`` folded to the characters safe in a quoted ``filename`` on any client:
    Vietnamese letters lose their marks (``đ`` → ``d``), anything else becomes ``_``."""
    folded = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    safe = _UNSAFE.sub("_", plain).strip("._") or default
    return safe[:150]


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """The header value for a file called ``filename`` (any Unicode), always Latin-1-safe.

    >>> content_disposition("worklist-ư.xlsx")
    'attachment; filename="worklist-u.xlsx"; filename*=UTF-8\\'\\'worklist-%C6%B0.xlsx'
    """
    kind = "inline" if inline else "attachment"
    fallback = ascii_filename(filename)
    value = f'{kind}; filename="{fallback}"'
    if filename and fallback != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value


def file_response(
    body: bytes,
    media_type: str,
    filename: str,
    *,
    inline: bool = False,
    headers: dict[str, str] | None = None,
) -> Response:
    """A file answer with its ``Content-Disposition`` (and any other headers)."""
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": content_disposition(filename, inline=inline)}
        | (headers or {}),
    )


def path_response(path: Path, media_type: str, filename: str) -> FileResponse:
    """A file on disk answered as a download (streamed, not read whole): the rejects file of
    an uploaded import may hold many rows."""
    return FileResponse(
        path, media_type=media_type, headers={"Content-Disposition": content_disposition(filename)}
    )
