"""The dashboard page in-process (both backends): figures, drill-down, filters, exports, roles."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.factories import PROVINCE_A, PROVINCE_B, world
from tests.stats.scenario import Scenario, make
from tests.web.conftest import Web
from tiemchung.core import Platform
from tiemchung.server import create_app


@pytest.fixture
def dash(platform: Platform) -> Iterator[tuple[Web, Scenario]]:
    with platform.sessions() as s:
        sc = make(s, seed=5)
    with TestClient(create_app(platform)) as client:
        yield Web(client), sc


def cells(html: str, table: str) -> list[list[str]]:
    """The text of each body row of ``<table data-table=…>``."""
    m = re.search(rf'<table class="data" data-table="{table}">(.*?)</table>', html, re.S)
    assert m, table
    body = m.group(1).split("<tbody>")[1]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
        for r in rows
    ]


def test_province_page_figures_and_drill_down(dash: tuple[Web, Scenario]) -> None:
    web, sc = dash
    assert web.sign_in("prov_a").status_code == 303
    r = web.page("/dashboard")
    assert r.status_code == 200, r.text
    html = r.text
    assert "<svg" in html and html.count('role="img"') == 3  # three charts, drawn here
    rows = cells(html, "coverage")
    wards = {p["ward"] for p in sc.persons if p["province"] == PROVINCE_A}
    women = sum(1 for p in sc.persons if p["province"] == PROVINCE_A and p["sex"] == "F")
    assert cells(html, "coverage_by_sex")[1][:2] == ["Nữ", f"{women:,}".replace(",", ".")]
    assert {row[0] for row in rows} == wards  # the province's wards, nothing of B
    registered = {w: sum(1 for p in sc.persons if p["ward"] == w) for w in wards}
    assert {row[0]: int(row[2].replace(".", "")) for row in rows} == registered
    w = world()
    assert f'href="/dashboard?province={PROVINCE_A}&amp;ward={w.wards["a1"]}"' in html
    r = web.page(f"/dashboard?ward={w.wards['a1']}")
    assert r.status_code == 200
    assert [row[0] for row in cells(r.text, "coverage")] == [w.wards["a1"]]
    # the total recorded / reported of the province, as the KPI states it
    in_a = {s for s, (_w, p) in sc.sites.items() if p == PROVINCE_A}
    reported = sum(t["reported"] for t in sc.tallies if t["site_id"] in in_a)
    kpi = re.search(r'id="kpi-rvr"[^>]*>.*?<span class="value">(.*?)</span>', html, re.S)
    assert kpi and f"/ {reported:,}".replace(",", ".") in kpi.group(1)


def test_filters_errors_are_said_and_kept(dash: tuple[Web, Scenario]) -> None:
    web, _sc = dash
    web.sign_in("prov_a")
    r = web.page("/dashboard?province=" + PROVINCE_B)
    assert r.status_code == 403 and "ngoài phạm vi" in r.text
    r = web.page("/dashboard?date_from=2021-02-31&lang=en")
    assert r.status_code == 422
    assert "is not a date" in r.text and 'value="2021-02-31"' in r.text
    # dates are typed dd/mm/yyyy; a wrong one is said, marked, and kept as typed
    r = web.page("/dashboard?date_from=31/02/2021&date_to=2021-13-01&lang=vi")
    assert r.status_code == 422
    assert "Từ ngày: &#39;31/02/2021&#39; không phải ngày; gõ ngày/tháng/năm" in r.text
    assert "Đến ngày: &#39;2021-13-01&#39; không phải ngày" in r.text  # both at once
    field = re.search(r'<input type="text" id="f-date_from"[^>]*>', r.text)
    assert field and 'value="31/02/2021"' in field.group(0)
    assert 'aria-invalid="true"' in field.group(0) and "problem-date_from" in field.group(0)
    assert 'pattern="[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}"' in field.group(0)
    assert 'type="date"' not in r.text  # the browser's own (locale) date format is not used
    # the page's own links carry ISO dates; the form shows them as dd/mm/yyyy
    r = web.page("/dashboard?date_from=2021-09-01&date_to=5/1/2022")
    assert r.status_code == 200
    assert 'value="01/09/2021"' in r.text and 'value="05/01/2022"' in r.text
    r = web.page("/dashboard", headers={"HX-Request": "true"})
    assert r.status_code == 200 and "<html" not in r.text and 'id="coverage"' in r.text


def test_export_buttons_give_the_table(dash: tuple[Web, Scenario]) -> None:
    web, sc = dash
    web.sign_in("central")
    html = web.page("/dashboard").text
    assert 'href="/dashboard/export/quality.csv"' in html
    r = web.client.get("/dashboard/export/quality.csv")
    assert r.status_code == 200
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert sum(int(x[2]) for x in rows[1:]) == len(sc.doses)
    r = web.client.get(f"/dashboard/export/coverage.xlsx?province={PROVINCE_B}")
    assert r.status_code == 200 and r.content[:2] == b"PK"


def test_exports_are_named_after_the_filter(dash: tuple[Web, Scenario]) -> None:
    web, _sc = dash
    w = world()
    web.sign_in("central")
    r = web.client.get("/dashboard/export/quality.csv")
    assert r.headers["content-disposition"] == 'attachment; filename="quality_toan-quoc.csv"'
    web.sign_in("prov_a")
    html = web.page(
        f"/dashboard?ward={w.wards['a1']}&age_group=65%2B&date_from=01/09/2021&date_to=31/12/2021"
    ).text
    m = re.search(r'href="(/dashboard/export/coverage\.xlsx[^"]*)"', html)
    assert m, "no export link"
    r = web.client.get(m.group(1).replace("&amp;", "&"))
    assert r.status_code == 200
    assert r.headers["content-disposition"] == (
        # coverage is cumulative as of the end date: the start date is not in its name
        f'attachment; filename="coverage_tinh-{PROVINCE_A}_xa-{w.wards["a1"]}_tuoi-65-plus'
        '_den-2021-12-31.xlsx"'
    )
    m = re.search(r'href="(/dashboard/export/doses_per_day\.csv[^"]*)"', html)
    assert m, "no export link"
    r = web.client.get(m.group(1).replace("&amp;", "&"))
    assert r.headers["content-disposition"] == (
        f'attachment; filename="doses_per_day_tinh-{PROVINCE_A}_xa-{w.wards["a1"]}_tuoi-65-plus'
        '_tu-2021-09-01_den-2021-12-31.csv"'
    )
    # a province user's file says the province even when the filter did not; the backlog
    # takes neither age nor dates, so its name claims neither
    q = "age_group=18-49&date_from=01/09/2021&date_to=31/12/2021"
    r = web.client.get(f"/dashboard/export/backlog.csv?{q}")
    assert r.headers["content-disposition"] == (
        f'attachment; filename="backlog_tinh-{PROVINCE_A}.csv"'
    )
    r = web.client.get(f"/dashboard/export/recorded_vs_reported.csv?{q}")
    assert r.headers["content-disposition"] == (
        f'attachment; filename="recorded_vs_reported_tinh-{PROVINCE_A}'
        '_tu-2021-09-01_den-2021-12-31.csv"'
    )


def test_one_number_format_and_one_term_per_language(dash: tuple[Web, Scenario]) -> None:
    """Charts, cards and tables write numbers the same way (vi: 23,7% and 1.234; en: 23.7%
    and 1,234); "chưa xác minh" is the one word for unverified; no figure is hard-coded."""
    web, _sc = dash
    web.sign_in("central")
    for lang, wrong_pct, right_pct in (
        ("vi", r"\d\.\d%", r"\d,\d%"),
        ("en", r"\d,\d%", r"\d\.\d%"),
    ):
        html = web.page(f"/dashboard?lang={lang}").text
        svgs = " ".join(  # the charts' text (labels, ticks, tooltips), not their coordinates
            re.findall(r">([^<>]+)<", "".join(re.findall(r"<svg.*?</svg>", html, re.S)))
        )
        tables = "".join(re.findall(r"<table.*?</table>", html, re.S))
        cards = re.search(r'<section class="kpis".*?</section>', html, re.S)
        assert cards
        for part in (svgs, tables, cards.group(0)):
            assert re.search(right_pct, part), lang
            assert not re.search(wrong_pct, part), (lang, re.search(wrong_pct, part))
        # the recorded/reported chart's tooltips and axis use the same thousands mark
        assert not re.search(r"\d,\d{3}" if lang == "vi" else r"\d\.\d{3}\b", svgs)
        assert "757" not in html and "812.682" not in html and "812,682" not in html
    vi = web.page("/dashboard?lang=vi").text
    assert "xác thực" not in vi and "Chưa xác minh" in vi and "Đã xác minh" in vi


def test_citizens_have_no_dashboard(dash: tuple[Web, Scenario]) -> None:
    web, _sc = dash
    web.sign_in("citizen_an")
    assert web.page("/dashboard").status_code == 403
    assert web.client.get("/dashboard/export/coverage.csv").status_code == 403


@pytest.mark.parametrize("user", ["ward_a1", "site_a1"])
def test_commune_and_site_see_their_own_ward(dash: tuple[Web, Scenario], user: str) -> None:
    """Issue 17: a commune health station (and a site) had a 403 here."""
    web, sc = dash
    w = world()
    web.sign_in(user)
    r = web.page("/dashboard")
    assert r.status_code == 200, r.text
    rows = cells(r.text, "coverage")
    assert [row[0] for row in rows] == [w.wards["a1"]]
    registered = sum(1 for p in sc.persons if p["ward"] == w.wards["a1"])
    assert int(rows[0][2].replace(".", "")) == registered
    assert 'id="breakdown"' in r.text and 'data-table="doses_by_product"' in r.text
    # coverage by sex: the ward's register persons per sex (the scenario's, counted here)
    in_a1 = [p for p in sc.persons if p["ward"] == w.wards["a1"]]
    by_sex = {
        label: sum(1 for p in in_a1 if (p["sex"] if p["sex"] in ("M", "F") else "U") == code)
        for code, label in (("M", "Nam"), ("F", "Nữ"), ("U", "Không ghi"))
    }
    shown = {row[0]: int(row[1].replace(".", "")) for row in cells(r.text, "coverage_by_sex")}
    assert shown == {k: v for k, v in by_sex.items() if v or k != "Không ghi"}
    assert sum(shown.values()) == registered
    assert 'id="stock"' in r.text
    assert f'href="/dashboard?province={PROVINCE_A}"' not in r.text  # no link up to the province
    # a neighbour's ward: refused on the page, the own ward's figures shown instead
    r = web.page(f"/dashboard?ward={w.wards['a2']}")
    assert r.status_code == 403 and "ngoài phạm vi" in r.text
    assert [row[0] for row in cells(r.text, "coverage")] == [w.wards["a1"]]
    got = web.client.get("/dashboard/export/doses_by_product.csv")
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    assert f"xa-{w.wards['a1']}" in got.headers["content-disposition"]
    got = web.client.get("/dashboard/export/stock.csv")
    assert got.status_code == 200


def test_first_figures_being_built_say_so_and_reload(
    dash: tuple[Web, Scenario], platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tiemchung.stats.service import stats_for, wait_refreshed

    web, _sc = dash
    monkeypatch.setenv("TIEMCHUNG_STATS_FIRST_WAIT_SECONDS", "0")
    web.sign_in("prov_a")
    r = web.page("/dashboard")
    assert r.status_code == 503 and r.headers["Retry-After"] == "15"
    assert 'data-pending="snapshot"' in r.text and "Đang chuẩn bị số liệu" in r.text
    assert '<meta http-equiv="refresh" content="15">' in r.text
    wait_refreshed(stats_for(platform))
    r = web.page("/dashboard")
    assert r.status_code == 200 and "<svg" in r.text


def _label(html: str, key: str) -> str:
    m = re.search(rf'id="kpi-{key}"[^>]*>\s*<span class="label">(.*?)</span>', html, re.S)
    assert m, key
    return m.group(1)


def _headers(html: str, table: str) -> list[str]:
    m = re.search(rf'<table class="data" data-table="{table}">.*?<thead>(.*?)</thead>', html, re.S)
    assert m, table
    return [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<th[^>]*>(.*?)</th>", m[1])]


def test_cards_and_headers_say_residence_or_site_location(dash: tuple[Web, Scenario]) -> None:
    """With a ward chosen, "Số mũi tiêm" counts the ward's residents' doses and "Đã nhập /
    báo cáo" the doses given at the ward's sites (the district centre's included): two
    different areas, so each card and its table's header say which, in both languages."""
    web, _sc = dash
    web.sign_in("prov_a")
    ward = world().wards["a1"]
    for lang, residence, site in (
        ("vi", "theo nơi cư trú", "theo nơi đặt điểm tiêm"),
        ("en", "by residence", "by site location"),
    ):
        html = web.page(f"/dashboard?ward={ward}&lang={lang}").text
        assert residence in _label(html, "doses") and site not in _label(html, "doses")
        assert site in _label(html, "rvr") and residence not in _label(html, "rvr")
        daily = " ".join(_headers(html, "doses_per_(?:day|month)"))  # long spans: per month
        assert residence in daily.lower() and site not in daily
        rvr = " ".join(_headers(html, "recorded_vs_reported"))
        assert site in rvr and residence not in rvr
