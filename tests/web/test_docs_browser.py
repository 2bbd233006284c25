"""Swagger UI and ReDoc render in Chromium with every request to another origin refused, as on
a ministry's network without internet (issue 20 point 4)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import DemoServer

pytestmark = pytest.mark.slow


def _offline_page(browser: Any, base: str) -> tuple[Any, Any, list[str]]:
    """A page whose requests to anything but ``base`` are aborted and listed."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    refused: list[str] = []

    def only_here(route: Any) -> None:
        if route.request.url.startswith(base):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", only_here)
    return context, context.new_page(), refused


def test_swagger_ui_renders_offline(browser: Any, demo_server: DemoServer) -> None:
    context, page, refused = _offline_page(browser, demo_server.base)
    try:
        page.goto(f"{demo_server.base}/api/v1/docs")
        expect(page.locator(".opblock").first).to_be_visible(timeout=15_000)
        assert page.locator(".opblock").count() > 20
        assert refused == []
    finally:
        context.close()


def test_redoc_renders_offline(browser: Any, demo_server: DemoServer) -> None:
    context, page, refused = _offline_page(browser, demo_server.base)
    try:
        page.goto(f"{demo_server.base}/api/v1/redoc")
        expect(page.get_by_role("menuitem", name="doses")).to_be_visible(timeout=15_000)
        expect(page.locator("[data-section-id]").first).to_be_attached()
        assert page.get_by_text("Something went wrong").count() == 0
        assert refused == []
    finally:
        context.close()
