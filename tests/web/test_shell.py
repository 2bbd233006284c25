"""The pages' shell: HTML error pages for browser routes (problem+json stays for the API), the
landing page and the icon (both backends)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.conftest import Web
from tiemchung.core import Platform
from tiemchung.server import create_app


def test_an_unknown_url_gets_a_page_in_vietnamese_with_a_way_back(web: Web) -> None:
    r = web.client.get("/no/such/page")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert '<html lang="vi">' in r.text
    assert "Không tìm thấy trang" in r.text and 'href="/"' in r.text
    assert "urn:tiemchung:problem" not in r.text
    assert r.headers["content-security-policy"].startswith("default-src 'self'")


def test_the_error_page_speaks_english_on_request(web: Web) -> None:
    r = web.client.get("/no/such/page?lang=en")
    assert r.status_code == 404 and '<html lang="en">' in r.text
    assert "Page not found" in r.text and "Không tìm thấy trang" not in r.text


def test_the_api_keeps_its_problem_documents(web: Web) -> None:
    r = web.client.get("/api/v1/no-such-endpoint")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == 404
    r = web.client.get("/api/v1/doses?limit=abc", headers={"Authorization": "Bearer x"})
    assert r.headers["content-type"] == "application/problem+json"


def test_a_malformed_page_parameter_and_a_wrong_method_get_pages(web: Web) -> None:
    web.sign_in("ward_a1")
    r = web.client.get("/worklist/not-a-number")
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "Đường dẫn hoặc biểu mẫu không hợp lệ" in r.text
    r = web.client.get("/lookup/end")  # a form's target opened as a link
    assert r.status_code == 405 and "POST" in r.headers["allow"]
    assert "Trang này không nhận kiểu yêu cầu đó" in r.text


def test_an_unexpected_error_on_a_page_is_a_page(platform: Platform) -> None:
    app = create_app(platform)

    async def boom() -> None:
        raise RuntimeError("secret internals")

    app.add_api_route("/oops", boom)
    app.add_api_route("/api/v1/oops", boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/oops")
        assert r.status_code == 500 and r.headers["content-type"].startswith("text/html")
        assert "Lỗi hệ thống" in r.text and "secret internals" not in r.text
        r = client.get("/api/v1/oops")
        assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json"


def test_a_value_the_database_refuses_is_a_page_on_browser_routes(platform: Platform) -> None:
    """The API answers a DataError (e.g. a NUL byte PostgreSQL refuses) with a 422 problem
    document; a browser route must get the HTML page with the same status instead."""
    from sqlalchemy.exc import DataError

    app = create_app(platform)

    async def refused() -> None:
        raise DataError("INSERT …", {}, Exception("invalid byte sequence"))

    app.add_api_route("/refused", refused)
    app.add_api_route("/api/v1/refused", refused)
    with TestClient(app, raise_server_exceptions=False) as client:
        page = client.get("/refused")
        assert page.status_code == 422
        assert page.headers["content-type"].startswith("text/html")
        api = client.get("/api/v1/refused")
        assert api.status_code == 422
        assert api.headers["content-type"] == "application/problem+json"


def test_the_landing_page_says_what_the_platform_is(web: Web) -> None:
    r = web.client.get("/", follow_redirects=False)
    assert r.status_code == 200
    assert "Nền tảng dữ liệu tiêm chủng" in r.text and "sổ dân cư" in r.text
    for link in ("/lookup", "/signin?next=%2Fdesk", "/signin?next=%2Fworklist"):
        assert f'href="{link}"' in r.text
    en = web.client.get("/?lang=en")
    assert "Vaccination data platform" in en.text and "No account needed" in en.text
    web.sign_in("site_a1")  # signed in: straight to the role's home, as before
    assert web.client.get("/", follow_redirects=False).headers["location"] == "/desk"


def test_the_favicon_is_served_from_the_app(web: Web) -> None:
    r = web.client.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"] == "image/vnd.microsoft.icon"
    assert r.content[:4] == b"\x00\x00\x01\x00"  # an ICO header
    assert len(r.content) < 10_000


def test_an_error_names_its_request_for_the_nurse_to_quote(platform: Platform) -> None:
    """The error page and the problem document show the request's id, the one its log lines
    carry: the client's X-Request-ID when well-formed, else one made by the server."""
    app = create_app(platform)

    async def boom() -> None:
        raise RuntimeError("secret internals")

    app.add_api_route("/oops", boom)
    app.add_api_route("/api/v1/oops", boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/oops", headers={"X-Request-ID": "desk-7-0001"})
        assert r.status_code == 500 and r.headers["x-request-id"] == "desk-7-0001"
        assert "Mã yêu cầu (báo cho quản trị): desk-7-0001" in r.text
        r = client.get("/oops?lang=en", headers={"X-Request-ID": "desk-7-0002"})
        assert "Request id (quote it to the administrator): desk-7-0002" in r.text
        r = client.get("/api/v1/oops")
        made = r.headers["x-request-id"]
        assert len(made) == 32 and r.json()["request_id"] == made
        r = client.get("/api/v1/no-such-endpoint", headers={"X-Request-ID": "a b"})
        assert r.status_code == 404 and r.json()["request_id"] == r.headers["x-request-id"]
        assert r.headers["x-request-id"] != "a b"
