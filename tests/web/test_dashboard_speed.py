"""The dashboard loads in ≤ 500 ms in Debian's Chromium on the demo province (issue 14).

The demo province is the one `tiemchung demo` makes (~50,000 people, ~110,000 doses, six
wards), built once for this module and served by a real `tiemchung serve`. The time is the
browser's own Navigation Timing: from the start of the navigation to the end of the ``load``
event. The machine is shared with other test runs, so each figure is the median of several
loads, and a round over the target is measured once more (the better round counts) before the
test fails. Two cases: the same view loaded again (another officer, a reload: the page's
figures are kept per snapshot) and a filter not asked before (computed from the snapshot).
``bench/dashboard_page.py`` measures the same, with the code before the fix, into
bench/results/dashboard_page.json.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import CHROMIUM, served

pytestmark = pytest.mark.slow

TARGET_MS = 500
LOADS = 5
LOAD_MS = "() => performance.getEntriesByType('navigation')[0].loadEventEnd"


@pytest.fixture(scope="module")
def full_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """The demo province as `tiemchung demo` builds it, served; (base URL, role → user)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (bash scripts/system-packages)")
    from tiemchung.config import Settings
    from tiemchung.demo import build_demo
    from tiemchung.installation import initialise

    directory = tmp_path_factory.mktemp("fulldemo")
    url = f"sqlite:///{directory / 'tiemchung.db'}"
    settings = Settings(data_dir=directory, database_url=url)
    initialise(settings)
    summary = build_demo(settings)
    assert summary["counts"]["persons"] > 40_000  # the demo province, not a small one
    users = {what.split(" ")[0]: name for name, what in summary["users"]}
    with served(directory, url) as base:
        yield base, users


def median_load(page: Any, urls: list[str]) -> float:
    times = []
    for url in urls:
        response = page.goto(url, wait_until="load")
        assert response is not None and response.status == 200, url
        times.append(float(page.evaluate(LOAD_MS)))
    return statistics.median(times)


def test_dashboard_loads_within_500_ms(browser: Any, full_demo: tuple[str, dict[str, str]]) -> None:
    base, users = full_demo
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="vi-VN")
    page = context.new_page()
    try:
        page.goto(f"{base}/signin")
        page.fill("#username", users["province"])
        page.fill("#password", "demo-pass-2021")
        page.press("#password", "Enter")
        page.wait_for_url(f"{base}/dashboard")
        for _ in range(30):  # the first visit builds the first snapshot (a few seconds)
            if page.locator("#kpi-rvr").count():
                break
            time.sleep(2)
            page.reload()
        assert int(page.locator("#kpi-registered").get_attribute("data-value")) > 40_000

        views = [
            f"{base}/dashboard",
            f"{base}/dashboard?ward=16941&age_group=18-49&date_from=01/09/2021&date_to=31/12/2021",
        ]
        rounds = 0

        def cold(k: int) -> list[str]:  # filters never asked before: computed afresh
            first = date(2022, 7, 1) + timedelta(days=100 * k)
            days = [first + timedelta(days=i) for i in range(LOADS)]
            return [f"{base}/dashboard?date_to={d:%d/%m/%Y}" for d in days]

        for name, urls in (
            ("same view again", [views[0]] * LOADS),
            ("filtered view again", [views[1]] * LOADS),
            ("a new filter", None),
        ):
            got = []
            for _attempt in range(2):
                rounds += 1
                got.append(median_load(page, urls if urls is not None else cold(rounds)))
                if got[-1] <= TARGET_MS:
                    break
            print(f"{name}: median load {got} ms")  # shown with -s / -rP
            assert min(got) <= TARGET_MS, f"{name}: median load {got} ms > {TARGET_MS} ms"
    finally:
        context.close()
