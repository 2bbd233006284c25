"""Sign-in, sessions, CSRF, role homes and languages of the pages (both backends)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.factories import PASSWORD
from tests.web.conftest import Web
from tiemchung.auth.session import COOKIE, create_cookie
from tiemchung.core import Platform
from tiemchung.registry.models import AuditEvent, User


@pytest.mark.parametrize(
    ("username", "home"),
    [
        ("site_a1", "/desk"),
        ("ward_a1", "/worklist"),
        ("citizen_an", "/me"),
        ("prov_a", "/dashboard"),
        ("central", "/dashboard"),
    ],
)
def test_each_role_lands_on_its_home(web: Web, username: str, home: str) -> None:
    r = web.sign_in(username)
    assert r.status_code == 303 and r.headers["location"] == home
    cookie = r.headers["set-cookie"]
    assert f"{COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert web.client.get("/", follow_redirects=False).headers["location"] == home
    assert web.client.get(home).status_code == 200


def test_a_page_without_session_sends_to_signin_and_back(web: Web) -> None:
    r = web.client.get("/desk?x=1", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/signin?next=%2Fdesk%3Fx%3D1"
    r = web.sign_in("site_a1", next="/desk?x=1")
    assert r.headers["location"] == "/desk?x=1"


def test_next_never_leaves_the_site(web: Web) -> None:
    r = web.sign_in("site_a1", next="//evil.example/desk")
    assert r.headers["location"] == "/desk"


def test_wrong_password_is_refused_audited_and_throttled(web: Web, platform: Platform) -> None:
    r = web.sign_in("site_a1", "wrong-password")
    assert r.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in r.text
    assert COOKIE not in r.headers.get("set-cookie", "")
    for _ in range(4):
        assert web.sign_in("site_a1", "wrong-password").status_code == 401
    r = web.sign_in("site_a1")  # the right password, but within the wait after 5 failures
    assert r.status_code == 429
    assert "sai nhiều lần" in r.text and int(r.headers["retry-after"]) > 0
    assert web.sign_in("ward_a1").status_code == 303  # another account is not locked
    with platform.sessions() as s:
        failed = s.scalar(
            select(func.count()).where(
                AuditEvent.action == "auth.failed", AuditEvent.entity_id == "site_a1"
            )
        )
    assert failed == 5


def test_posts_without_the_csrf_token_are_refused(web: Web) -> None:
    web.sign_in("site_a1")
    r = web.client.post("/desk/check", data={"scan": "001085123456"})
    assert r.status_code == 403 and "Biểu mẫu" in r.text
    r = web.client.post("/desk/check", data={"scan": "001085123456", "csrf_token": "0" * 64})
    assert r.status_code == 403
    r = web.client.post("/signin", data={"username": "site_a1", "password": PASSWORD})
    assert r.status_code == 403


def test_expired_session_asks_to_sign_in_again_in_place(web: Web, platform: Platform) -> None:
    web.sign_in("site_a1")
    with platform.sessions() as s:
        user = s.scalar(select(User).where(User.username == "site_a1"))
        assert user is not None
        expired, _ = create_cookie(platform.token_secret, user, ttl_minutes=-1)
    domain = next(c.domain for c in web.client.cookies.jar if c.name == COOKIE)
    web.client.cookies.set(COOKIE, expired, domain=domain, path="/")  # as if time had passed
    r = web.client.get("/desk", follow_redirects=False)
    assert r.headers["location"] == "/signin?next=%2Fdesk&expired=1"
    assert "Phiên đăng nhập đã hết hạn" in web.page("/signin?next=%2Fdesk&expired=1").text
    r = web.htmx("/desk/check", {"scan": "001085123456"}, headers={"Referer": "http://t/desk"})
    assert r.status_code == 401
    assert r.headers["hx-retarget"] == "#notices"  # the page (and its form) stays as it was
    assert 'value="site_a1"' in r.text  # the user name is prefilled
    r = web.htmx("/signin", {"username": "site_a1", "password": PASSWORD, "inline": "1"})
    assert r.status_code == 200 and "Đã đăng nhập lại" in r.text
    assert web.htmx("/desk/check", {"scan": "001085123456"}).status_code == 200


def test_the_cookie_is_not_an_api_token(web: Web) -> None:
    r = web.sign_in("central")
    value = r.cookies[COOKIE]
    api = web.client.get("/api/v1/persons", headers={"Authorization": f"Bearer {value}"})
    assert api.status_code == 401


def test_a_page_of_another_role_is_refused(web: Web) -> None:
    web.sign_in("ward_a1")
    r = web.client.get("/desk")
    assert r.status_code == 403 and "không dành cho vai trò" in r.text
    assert web.htmx("/desk/check", {"scan": "001085123456"}).status_code == 403
    web.sign_in("site_a1")
    assert web.client.get("/worklist").status_code == 403  # (its dashboard: issue 17)
    assert web.client.get("/me").status_code == 403


def test_sign_out_ends_the_session(web: Web) -> None:
    web.sign_in("site_a1")
    web.page("/desk")
    r = web.client.post("/signout", data={"csrf_token": web.csrf}, follow_redirects=False)
    assert r.headers["location"] == "/signin?out=1"
    assert web.client.get("/desk", follow_redirects=False).status_code == 303


def test_english_switch_and_lang_parameter(web: Web) -> None:
    r = web.page("/signin")
    assert "Đăng nhập" in r.text and 'lang="vi"' in r.text
    r = web.client.get("/lang/en?next=/signin", follow_redirects=False)
    assert r.headers["location"] == "/signin" and "lang=en" in r.headers["set-cookie"]
    r = web.page("/signin")
    assert "Sign in" in r.text and "Mật khẩu" not in r.text and 'lang="en"' in r.text
    r = web.page("/signin?lang=vi")  # ?lang= wins over the cookie, and becomes the cookie
    assert "Mật khẩu" in r.text and "lang=vi" in r.headers["set-cookie"]
    r = web.page("/signin?lang=xx")  # unknown: the cookie's language (now Vietnamese)
    assert "Mật khẩu" in r.text
    r = web.page("/signin?lang=en")
    assert "Password" in r.text and "lang=en" in r.headers["set-cookie"]


def test_pages_carry_security_headers_and_no_outside_assets(web: Web) -> None:
    r = web.page("/signin")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    assert "http://" not in r.text and "https://" not in r.text
    js = web.client.get("/static/htmx.min.js")
    assert js.status_code == 200 and "htmx" in js.text[:2000]
    assert web.client.get("/static/app.css").status_code == 200
