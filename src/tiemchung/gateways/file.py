"""The file gateway for the demo: each message one JSON line in a file (``file:PATH``).

No phone is reached, so no receipt comes: a message written here stays ``sent``. The ids
already in the file are read when it opens, so a message resent after a crash is not
written twice: the same promise the SMPP and HTTP peers keep.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from tiemchung.registry.messages.gateway import Inbound, Outgoing, Receipt, Submitted


class FileGateway:
    """A :class:`~tiemchung.registry.messages.gateway.Gateway` that appends JSON lines."""

    def __init__(self, path: Path, *, rate: float = 0.0) -> None:
        self.path = path
        self.name = "file"
        self.rate = rate
        self._seen: set[str] = set()
        if path.exists():
            with path.open(encoding="utf-8") as fh:
                for line in fh:
                    try:
                        self._seen.add(json.loads(line)["message_id"])
                    except (ValueError, KeyError, TypeError):
                        continue
        path.parent.mkdir(parents=True, exist_ok=True)

    def send(self, batch: Sequence[Outgoing]) -> list[Submitted]:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        lines = []
        for m in batch:
            if m.message_id in self._seen:
                continue
            self._seen.add(m.message_id)
            lines.append(
                json.dumps(
                    {
                        "message_id": m.message_id,
                        "at": now,
                        "phone": m.phone,
                        "text": m.text,
                        "encoding": m.encoding,
                        "segments": m.segments,
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
        if lines:
            with self.path.open("a", encoding="utf-8") as fh:
                fh.writelines(lines)
        return [Submitted(m.message_id, gateway_message_id=f"file:{m.message_id}") for m in batch]

    def poll(self) -> tuple[list[Receipt], list[Inbound]]:
        return [], []

    def close(self) -> None:
        pass
