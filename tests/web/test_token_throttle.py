"""Failed passwords slow down guessing without locking anyone out: one throttle behind the
sign-in page and the API's token endpoint, counted per user name *and* source, a warning from
the third failure, then a wait that doubles with each further failure."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import PASSWORD
from tests.web.conftest import Web
from tiemchung.auth.throttle import SignInThrottle
from tiemchung.core import Platform
from tiemchung.server import create_app

TOKEN = "/api/v1/auth/token"
NURSE_DESK = ("10.1.1.7", 50000)
ATTACKER = ("203.0.113.9", 50000)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_wait_doubles_with_each_failure_after_five() -> None:
    clock = Clock()
    throttle = SignInThrottle(clock=clock)
    for n in range(1, 5):
        f = throttle.failed("site_a1", "1.2.3.4")
        assert (f.count, f.remaining, f.wait) == (n, 5 - n, 0)
        assert throttle.wait_seconds("site_a1", "1.2.3.4") == 0
    assert throttle.failed("site_a1", "1.2.3.4").wait == 30
    clock.now += 10
    assert throttle.wait_seconds("site_a1", "1.2.3.4") == 20
    clock.now += 20
    assert throttle.wait_seconds("site_a1", "1.2.3.4") == 0  # a delay, not a lock
    assert throttle.failed("site_a1", "1.2.3.4").wait == 60
    clock.now += 60
    assert throttle.failed("site_a1", "1.2.3.4").wait == 120
    clock.now += 120
    assert throttle.failed("site_a1", "1.2.3.4").wait == 240
    # the same user name from another source, and another user from this one, wait nothing
    assert throttle.wait_seconds("site_a1", "5.6.7.8") == 0
    assert throttle.wait_seconds("ward_a1", "1.2.3.4") == 0
    throttle.succeeded("site_a1", "1.2.3.4")
    clock.now += 240
    assert throttle.failed("site_a1", "1.2.3.4").count == 1


def test_the_warning_starts_at_the_third_failure() -> None:
    throttle = SignInThrottle(clock=Clock())
    warned = [throttle.failed("central", "1.2.3.4").warn for _ in range(5)]
    assert warned == [False, False, True, True, True]


def test_one_source_trying_many_names_is_braked_alone() -> None:
    clock = Clock()
    throttle = SignInThrottle(per_client=30, clock=clock)
    for i in range(30):
        throttle.failed(f"guess{i}", "1.2.3.4")
    assert throttle.wait_seconds("anyone", "1.2.3.4") == 30
    assert throttle.wait_seconds("anyone", "5.6.7.8") == 0
    clock.now += 3600  # an hour without a failure: the address starts afresh
    throttle.failed("guess0", "1.2.3.4")
    assert throttle.wait_seconds("anyone", "1.2.3.4") == 0


def test_token_endpoint_warns_then_delays(platform: Platform) -> None:
    with TestClient(create_app(platform), client=NURSE_DESK) as client:
        messages = []
        for _ in range(5):
            r = client.post(TOKEN, data={"username": "site_a1", "password": "wrong"})
            assert r.status_code == 401
            messages.append(r.json()["errors"][0]["message"])
        assert "còn" not in messages[0] and "còn" not in messages[1]
        assert "còn 2 lần thử" in messages[2] and "còn 1 lần thử" in messages[3]
        assert "chờ 30 giây" in messages[4]
        r = client.post(TOKEN, data={"username": "site_a1", "password": PASSWORD})
        assert r.status_code == 429  # even the right password waits its turn
        assert r.headers["content-type"] == "application/problem+json"
        assert 0 < int(r.headers["Retry-After"]) <= 30
        body = r.json()
        assert body["status"] == 429 and body["errors"][0]["rule"] == "too_many_attempts"
        message = body["errors"][0]["message"]
        assert "thử lại sau" in message and "giây" in message
        # another account from the same client is not slowed by this one's failures
        other = client.post(TOKEN, data={"username": "ward_a1", "password": PASSWORD})
        assert other.status_code == 200


def test_an_attacker_elsewhere_cannot_lock_the_nurse_out(platform: Platform) -> None:
    app = create_app(platform)
    with TestClient(app, client=ATTACKER) as attacker:
        for _ in range(12):
            r = attacker.post(TOKEN, data={"username": "site_a1", "password": "guess"})
            assert r.status_code in (401, 429)
        assert r.status_code == 429  # the attacker waits ...
        nurse = TestClient(app, client=NURSE_DESK)
        ok = nurse.post(TOKEN, data={"username": "site_a1", "password": PASSWORD})
        assert ok.status_code == 200  # ... the nurse at her desk does not
        desk = Web(TestClient(app, client=NURSE_DESK))
        assert desk.sign_in("site_a1").status_code == 303  # nor at the sign-in page


def test_a_success_clears_the_count(platform: Platform) -> None:
    with TestClient(create_app(platform)) as client:
        for _ in range(4):
            r = client.post(TOKEN, data={"username": "central", "password": "x"})
            assert r.status_code == 401
        ok = client.post(TOKEN, data={"username": "central", "password": PASSWORD})
        assert ok.status_code == 200
        first = client.post(TOKEN, data={"username": "central", "password": "x"})
        assert "còn" not in first.json()["errors"][0]["message"]  # counting starts again
        for _ in range(3):
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


def test_the_sign_in_page_warns_from_the_third_failure(web: Web) -> None:
    first = web.sign_in("site_a1", "wrong")
    second = web.sign_in("site_a1", "wrong")
    assert first.status_code == second.status_code == 401
    assert "signin-warning" not in first.text + second.text
    third = web.sign_in("site_a1", "wrong")
    assert 'id="signin-warning"' in third.text and "Còn 2 lần thử" in third.text
    assert "Còn 1 lần thử" in web.sign_in("site_a1", "wrong").text
    fifth = web.sign_in("site_a1", "wrong")
    assert 'id="signin-wait"' in fifth.text and "30 giây" in fifth.text
    r = web.client.post(
        "/signin?lang=en",
        data={"username": "site_a1", "password": "wrong", "csrf_token": web.csrf},
    )
    assert r.status_code == 429 and "second(s)" in r.text and "wait" in r.text
