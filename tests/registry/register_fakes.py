"""The fake register the remote-register tests talk to: invented persons, never real ones."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq

from tests.factories import world
from tiemchung.columns import REGISTER_COLUMNS
from tiemchung.gateways.register_fake import FakeRegister, FakeRegisterServer


def hoa() -> dict[str, Any]:
    """A person only the remote register knows (the test world's snapshot lacks her)."""
    return {
        "person_id": "R-HOA",
        "national_id": "079190000111",
        "old_id": None,
        "full_name": "Lê Thị Hoa",
        "dob": "1990-05-06",
        "sex": "F",
        "ward_code": world().wards["a1"],
        "address": "Thôn 2",
        "phone": None,
    }


def write_register(path: Path, persons: list[dict[str, Any]]) -> Path:
    table = pa.table(
        {c: pa.array([p.get(c) for p in persons], pa.string()) for c in REGISTER_COLUMNS}
    )
    pq.write_table(table, path)
    return path


@contextmanager
def fake_register(
    tmp_path: Path, persons: list[dict[str, Any]] | None = None, **options: Any
) -> Iterator[FakeRegisterServer]:
    """The fake register served on 127.0.0.1 in a thread, stopped at the end."""
    source = write_register(
        tmp_path / "register.parquet", persons if persons is not None else [hoa()]
    )
    with FakeRegisterServer(FakeRegister(source, **options)) as server:
        yield server


def admin(server: FakeRegisterServer, path: str, body: dict[str, Any], token: str = "") -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    resp = httpx.post(server.url + path, json=body, headers=headers, timeout=5)
    resp.raise_for_status()
    return resp.json()


def requests_served(server: FakeRegisterServer) -> int:
    return int(httpx.get(server.url + "/_admin/stats", timeout=5).json()["requests"])
