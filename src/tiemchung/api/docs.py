"""The API's documentation pages (Swagger UI at ``/api/v1/docs``, ReDoc at ``/api/v1/redoc``)
served from this server's own files.

FastAPI's defaults load both from a CDN, so on a ministry's network without internet the
page was blank. The assets come from a package that ships them (``openapi-ui-bundles``,
pinned in the lock file) and are mounted here; ReDoc is told not to fetch Google Fonts, its
script's one hard-wired CDN address (its logo, which the package ships too) is pointed at our
copy, and Swagger UI's online validator badge is turned off.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import openapi_ui_bundles
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

DOCS = "/api/v1/docs"
REDOC = "/api/v1/redoc"
SWAGGER_ASSETS = "/api/v1/docs-assets/swagger"
REDOC_ASSETS = "/api/v1/docs-assets/redoc"
#: the one address on another origin the ReDoc script fetches by itself
REDOC_CDN_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@cache
def redoc_script() -> bytes:
    """ReDoc's script with its CDN logo replaced by the packaged one (read once)."""
    text = (Path(openapi_ui_bundles.redoc.static_path) / "redoc.standalone.js").read_text("utf-8")
    return text.replace(REDOC_CDN_LOGO, f"{REDOC_ASSETS}/logo-mini.svg").encode("utf-8")


def install(app: FastAPI, openapi_url: str, title: str) -> None:
    """Mount the assets and the two pages on ``app`` (created with ``docs_url=None`` and
    ``redoc_url=None``)."""

    # before the mount, so that this route answers for the script and the mount for the rest
    @app.get(f"{REDOC_ASSETS}/redoc.standalone.js", include_in_schema=False)
    def redoc_js() -> Response:
        return Response(redoc_script(), media_type="text/javascript; charset=utf-8")

    app.mount(
        SWAGGER_ASSETS,
        StaticFiles(directory=openapi_ui_bundles.swagger_ui.static_path),
        name="swagger-assets",
    )
    app.mount(
        REDOC_ASSETS, StaticFiles(directory=openapi_ui_bundles.redoc.static_path), name="redoc"
    )

    @app.get(DOCS, include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} — Swagger UI",
            swagger_js_url=f"{SWAGGER_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_ASSETS}/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get(REDOC, include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} — ReDoc",
            redoc_js_url=f"{REDOC_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{SWAGGER_ASSETS}/favicon-32x32.png",
            with_google_fonts=False,
        )
