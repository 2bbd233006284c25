"""POST /api/v1/verify with a remote register (issue 19, point 5), over the real ASGI app and
the fake register server: a person only the remote knows, and the remote down (the note)."""

from __future__ import annotations

from pathlib import Path

from tests.api.conftest import Api
from tests.registry.register_fakes import fake_register
from tiemchung.core import Platform
from tiemchung.gateways.register_http import HttpRegister

HOA = {"national_id": "079190000111", "full_name": "Lê Thị Hoa", "dob": "1990-05-06"}


def test_the_api_finds_a_person_only_the_remote_knows(
    api: Api, platform: Platform, tmp_path: Path
) -> None:
    with fake_register(tmp_path) as server:
        platform.__dict__["register_remote"] = HttpRegister(server.url, retries=0)
        r = api.post("/verify", "site_a1", json=HOA)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "verified" and body["person"]["person_id"] == "R-HOA"
    assert body["notes"] == []


def test_the_api_with_the_remote_down_answers_200_with_the_note(
    api: Api, platform: Platform, tmp_path: Path
) -> None:
    with fake_register(tmp_path) as server:
        url = server.url
    platform.__dict__["register_remote"] = HttpRegister(url, retries=0)
    r = api.post("/verify", "site_a1", json=HOA)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "not_found"
    assert r.json()["notes"] == [
        "Không liên lạc được Sổ dân cư, đã đối chiếu với bản sao tại chỗ / "
        "register unreachable, checked against the local copy"
    ]
