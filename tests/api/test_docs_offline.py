"""The API's documentation pages need nothing from another origin (issue 20 point 4).

Every script, style sheet and icon a page names must be a path on this server and be served
by it; the page itself must not name another host at all (a CDN, Google Fonts)."""

from __future__ import annotations

import re

import pytest

from tests.api.conftest import Api

ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*['"]([^'"]+)['"]""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_page_names_only_this_server(api: Api, page: str) -> None:
    r = api.get(page, None)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "http://" not in html and "https://" not in html, html
    urls = [a or b for a, b in ASSET.findall(html)]
    assert any(u.endswith(".js") for u in urls), urls
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        got = api.client.get(url)
        assert got.status_code == 200, url
        assert len(got.content) > 100, url
        if url.endswith(".js"):
            assert "javascript" in got.headers["content-type"], url


def test_the_openapi_document_the_pages_read_is_served(api: Api) -> None:
    r = api.get("/openapi.json", None)
    assert r.status_code == 200
    assert r.json()["openapi"].startswith("3.")


def test_redoc_script_fetches_nothing_from_its_cdn(api: Api) -> None:
    """ReDoc's script names its logo on cdn.redoc.ly; ours names the packaged copy."""
    script = api.client.get("/api/v1/docs-assets/redoc/redoc.standalone.js").text
    assert "cdn.redoc.ly" not in script
    assert "/api/v1/docs-assets/redoc/logo-mini.svg" in script
    assert api.client.get("/api/v1/docs-assets/redoc/logo-mini.svg").status_code == 200


def test_swagger_ui_validator_badge_is_off(api: Api) -> None:
    """Swagger UI would send the document to validator.swagger.io from a non-local host."""
    html = api.get("/docs", None).text
    assert '"validatorUrl": null' in html
