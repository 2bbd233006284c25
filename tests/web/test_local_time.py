"""Stored moments reach people in Vietnam time (``Settings.timezone``), never in UTC.

The fixed moment is 01:51 UTC on 7 December 2026, which is 08:51 the same day in Vietnam
(UTC+7 all year, no daylight saving), 02:51 in Paris (UTC+1 in winter) and 10:51 in Tokyo:
the expected texts below are written out by hand, not computed by the code under test.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import update

from tests.stats.scenario import Scenario
from tests.web.conftest import Web
from tests.web.test_dashboard import dash  # noqa: F401 (a fixture)
from tests.web.test_worklist import an_item
from tiemchung.config import Settings
from tiemchung.core import Platform
from tiemchung.localtime import format_local, to_local, utc_offset, zone_label
from tiemchung.registry.models import ReviewItem
from tiemchung.server import create_app
from tiemchung.web.pages import environment

STORED = datetime(2026, 12, 7, 1, 51, tzinfo=UTC)


def test_a_stored_moment_in_vietnam_time() -> None:
    assert format_local(STORED) == "07/12/2026 08:51"
    assert format_local(STORED.replace(tzinfo=None)) == "07/12/2026 08:51"  # naive = UTC (SQLite)
    assert format_local("2026-12-07T01:51:00+00:00") == "07/12/2026 08:51"  # ISO text (stats)
    assert format_local("2026-12-06T20:30:00Z") == "07/12/2026 03:30"  # the date moves too
    assert format_local(STORED, "Europe/Paris") == "07/12/2026 02:51"
    assert format_local(None) == "" and format_local("") == ""
    assert format_local(STORED, fmt="%H:%M %d/%m/%Y") == "08:51 07/12/2026"
    assert utc_offset(to_local(STORED)) == "UTC+7"
    assert utc_offset(to_local(STORED, "Asia/Kolkata")) == "UTC+5:30"
    assert utc_offset(to_local(STORED, "America/St_Johns")) == "UTC-3:30"
    assert utc_offset(to_local(STORED, "UTC")) == "UTC"
    assert zone_label("Asia/Ho_Chi_Minh", to_local(STORED)) == "giờ Việt Nam / Vietnam time (UTC+7)"
    assert zone_label("Asia/Tokyo", to_local(STORED, "Asia/Tokyo")) == "Asia/Tokyo (UTC+9)"


def test_the_template_filter_takes_the_pages_zone() -> None:
    for lang in ("vi", "en"):
        t = environment(lang).from_string('{{ t|localtime }}|{{ t|localtime("%H:%M") }}')
        assert t.render(t=STORED, tz=None) == "07/12/2026 08:51|08:51"  # the default zone
        assert t.render(t="2026-12-07T01:51:00+00:00", tz="Asia/Tokyo") == "07/12/2026 10:51|10:51"


def _decided_at(web: Web, platform: Platform, item: int, at: datetime) -> None:
    """Accept ``item`` as the commune does, then move its decision time to ``at``."""
    web.page(f"/worklist/{item}")
    assert web.htmx(f"/worklist/{item}/accept", {"person_id": "P-AN"}).status_code == 200
    with platform.sessions() as s:
        s.execute(update(ReviewItem).where(ReviewItem.id == item).values(decided_at=at))
        s.commit()


def test_a_worklist_item_shows_when_it_was_decided_in_vietnam_time(
    web: Web, platform: Platform
) -> None:
    item = an_item(platform)
    assert web.sign_in("ward_a1").status_code == 303
    _decided_at(web, platform, item, STORED)
    page = web.page(f"/worklist/{item}")
    assert page.status_code == 200
    assert "07/12/2026 08:51" in page.text and "01:51" not in page.text


def test_the_worklist_spreadsheet_says_when_each_item_opened_in_vietnam_time(
    web: Web, platform: Platform
) -> None:
    item = an_item(platform)
    with platform.sessions() as s:
        s.execute(update(ReviewItem).where(ReviewItem.id == item).values(created_at=STORED))
        s.commit()
    assert web.sign_in("ward_a1").status_code == 303
    x = web.client.get("/worklist/export.xlsx")
    assert x.status_code == 200
    ws = load_workbook(io.BytesIO(x.content)).worksheets[0]
    header = [c.value for c in ws[1]]
    row = next(r for r in ws.iter_rows(min_row=2, values_only=True) if r[0] == item)
    assert row[header.index("Mở mục lúc")] == "07/12/2026 08:51"


@pytest.fixture
def paris(settings: Settings) -> Iterator[Web]:
    """The same database served by a platform configured for another zone."""
    with (
        Platform(settings.model_copy(update={"timezone": "Europe/Paris"})) as other,
        TestClient(create_app(other)) as client,
    ):
        yield Web(client)


def test_a_configured_zone_is_honoured(paris: Web, platform: Platform) -> None:
    item = an_item(platform)
    assert paris.sign_in("ward_a1").status_code == 303
    _decided_at(paris, platform, item, STORED)
    page = paris.page(f"/worklist/{item}")
    assert "07/12/2026 02:51" in page.text and "08:51" not in page.text
    still_open = an_item(platform, "001085123458")
    with platform.sessions() as s:
        s.execute(update(ReviewItem).where(ReviewItem.id == still_open).values(created_at=STORED))
        s.commit()
    ws = load_workbook(io.BytesIO(paris.client.get("/worklist/export.xlsx").content)).worksheets[0]
    header = [c.value for c in ws[1]]
    row = next(r for r in ws.iter_rows(min_row=2, values_only=True) if r[0] == still_open)
    assert row[header.index("Mở mục lúc")] == "07/12/2026 02:51"


def test_the_dashboard_says_when_its_figures_were_computed_in_vietnam_time(
    dash: tuple[Web, Scenario],  # noqa: F811
) -> None:
    web, _ = dash
    assert web.sign_in("prov_a").status_code == 303
    html = web.page("/dashboard").text
    found = re.search(r'Số liệu tính lúc <time datetime="([^"]+)">([^<]+)</time>', html)
    assert found, html
    built = datetime.fromisoformat(found.group(1))
    assert built.utcoffset() == timedelta(0)  # stored and sent in UTC
    vietnam = built + timedelta(hours=7)  # Vietnam is UTC+7 all year
    assert found.group(2) == f"{vietnam:%H:%M %d/%m/%Y}"
    assert "UTC" not in found.group(0)
