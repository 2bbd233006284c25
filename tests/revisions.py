"""The migration chain's newest revision, read from the files on disk (not from the code under
test): tests that check "at head" stay true when the next migration is added."""

from __future__ import annotations

import re
from pathlib import Path

VERSIONS = Path(__file__).resolve().parent.parent / "src/tiemchung/store/migrations/versions"


def _revisions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for f in VERSIONS.glob("*.py"):
        text = f.read_text(encoding="utf-8")
        rev = re.search(r'^revision\s*=\s*"([^"]+)"', text, re.M)
        down = re.search(r'^down_revision\s*=\s*"([^"]+)"', text, re.M)
        if rev:
            out[rev.group(1)] = down.group(1) if down else None
    return out


def head() -> str:
    """The one revision no other revision names as its ``down_revision``."""
    revs = _revisions()
    (newest,) = set(revs) - {d for d in revs.values() if d}
    return newest
