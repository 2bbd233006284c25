"""An in-process client of the real ASGI app over a real database (both backends)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import PASSWORD
from tiemchung.core import Platform
from tiemchung.server import create_app


class Api:
    """A TestClient that logs in as any seeded user and remembers the tokens."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self._tokens: dict[str, str] = {}

    def headers(self, username: str | None) -> dict[str, str]:
        if username is None:
            return {}
        if username not in self._tokens:
            r = self.client.post(
                "/api/v1/auth/token", data={"username": username, "password": PASSWORD}
            )
            assert r.status_code == 200, r.text
            self._tokens[username] = r.json()["access_token"]
        return {"Authorization": f"Bearer {self._tokens[username]}"}

    def get(self, path: str, as_: str | None, **kw: Any) -> Any:
        headers = self.headers(as_) | kw.pop("headers", {})
        return self.client.get(f"/api/v1{path}", headers=headers, **kw)

    def post(self, path: str, as_: str | None, **kw: Any) -> Any:
        headers = self.headers(as_) | kw.pop("headers", {})
        return self.client.post(f"/api/v1{path}", headers=headers, **kw)


@pytest.fixture
def api(platform: Platform) -> Iterator[Api]:
    with TestClient(create_app(platform)) as client:
        yield Api(client)
