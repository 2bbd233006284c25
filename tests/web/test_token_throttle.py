"""The API's token endpoint is throttled like the sign-in page, with the same counters."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import PASSWORD
from tests.web.conftest import Web
from tiemchung.api.app import create_app
from tiemchung.core import Platform

TOKEN = "/api/v1/auth/token"


def test_token_endpoint_refuses_after_five_failures(platform: Platform) -> None:
    with TestClient(create_app(platform)) as client:
        for _ in range(5):
            r = client.post(TOKEN, data={"username": "site_a1", "password": "wrong"})
            assert r.status_code == 401
        r = client.post(TOKEN, data={"username": "site_a1", "password": PASSWORD})
        assert r.status_code == 429  # even the right password waits: the window is closed
        assert r.headers["content-type"] == "application/problem+json"
        assert 0 < int(r.headers["Retry-After"]) <= 900
        body = r.json()
        assert body["status"] == 429 and body["errors"][0]["rule"] == "too_many_attempts"
        assert "thử lại sau 15 phút" in body["errors"][0]["message"]
        # another account from the same client is not locked by this one's failures
        other = client.post(TOKEN, data={"username": "ward_a1", "password": PASSWORD})
        assert other.status_code == 200


def test_a_success_clears_the_user_count(platform: Platform) -> None:
    with TestClient(create_app(platform)) as client:
        for _ in range(4):
            assert (
                client.post(TOKEN, data={"username": "central", "password": "x"}).status_code == 401
            )
        ok = client.post(TOKEN, data={"username": "central", "password": PASSWORD})
        assert ok.status_code == 200
        for _ in range(4):
            assert (
                client.post(TOKEN, data={"username": "central", "password": "x"}).status_code == 401
            )
        assert (
            client.post(TOKEN, data={"username": "central", "password": PASSWORD}).status_code
            == 200
        )


def test_web_and_api_failures_share_one_count(web: Web) -> None:
    for _ in range(3):
        assert web.sign_in("ward_a1", "wrong").status_code == 401
    for _ in range(2):
        r = web.client.post(TOKEN, data={"username": "ward_a1", "password": "wrong"})
        assert r.status_code == 401
    r = web.client.post(TOKEN, data={"username": "ward_a1", "password": PASSWORD})
    assert r.status_code == 429 and "Retry-After" in r.headers
