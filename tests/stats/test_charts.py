"""The dashboard's charts, number formats, per-month table and export names (no database)."""

from __future__ import annotations

import re
from datetime import date, timedelta

from tiemchung.stats import charts
from tiemchung.stats.export import filename
from tiemchung.stats.filters import Filters
from tiemchung.stats.numbers import fmt, fmt_int, fmt_pct
from tiemchung.stats.queries import TABLES
from tiemchung.stats.summary import per_month
from tiemchung.stats.tables import Column, Table


def axis_labels(svg: str) -> list[str]:
    return re.findall(r">(\d\d/\d{4}|\d\d/\d\d/\d{4})</text>", svg)


def test_numbers_one_format_per_language() -> None:
    assert fmt_int(757224, "vi") == "757.224" and fmt_int(757224, "en") == "757,224"
    assert fmt_pct(23.7, "vi") == "23,7%" and fmt_pct(23.7, "en") == "23.7%"
    assert fmt_pct(100.0, "vi") == "100,0%" and fmt_pct(None, "vi") == "–"
    assert fmt(1234.5, "pct", "vi") == "1.234,5%" and fmt(1234.5, "pct", "en") == "1,234.5%"
    assert fmt(date(2021, 10, 5), "date", "en") == "05/10/2021"


def test_charts_write_numbers_like_the_tables() -> None:
    bars = charts.percent_bars(["18–49"], [("≥ 1", [23.7])], "t", "d", lang="vi")
    assert "23,7%" in bars and "23.7%" not in bars
    bars = charts.percent_bars(["18–49"], [("≥ 1", [23.7])], "t", "d", lang="en")
    assert "23.7%" in bars and "23,7%" not in bars
    rows = [{"label": "01/09", "recorded": 1234, "reported": 5678}]
    vi = charts.paired_bars(rows, ("a", "b", "c"), "t", "d", lang="vi")
    en = charts.paired_bars(rows, ("a", "b", "c"), "t", "d", lang="en")
    assert "01/09: 1.234 / 5.678</title>" in vi and "01/09: 1,234 / 5,678</title>" in en
    assert ">5.000</text>" in vi and ">5,000</text>" in en  # the axis ticks too


def test_a_lone_dose_today_does_not_stretch_the_axis() -> None:
    """A 2021–22 backlog and one desk dose in 2026: the years between are cut out of the axis
    (marked), not drawn as zeros; the lone day is dated."""
    days = [date(2021, 7, 1) + timedelta(days=i) for i in range(400)] + [date(2026, 12, 7)]
    values = [10] * len(days)
    assert charts.segments(days, days[0], days[-1]) == [
        (date(2021, 7, 1), date(2022, 8, 4)),
        (date(2026, 12, 7), date(2026, 12, 7)),
    ]
    svg = charts.line(days, [("Tổng", values)], "t", "d", gap_label="cut")
    labels = axis_labels(svg)
    assert labels[0] == "07/2021" and labels[-1] == "07/12/2026"
    assert not any(label.endswith(("/2023", "/2024", "/2025")) for label in labels)
    assert svg.count('<path d="M') == 1 and "// cut" in svg  # one cut, and its legend
    # the lone day is a dot at the right end, the 400 days a line over the rest
    dot = re.search(r'<circle cx="([\d.]+)"', svg)
    assert dot and 600 < float(dot.group(1)) <= 624
    # no gap: no cut, no legend
    plain = charts.line(days[:-1], [("Tổng", values[:-1])], "t", "d", gap_label="cut")
    assert '<path d="M' not in plain and "// cut" not in plain


def test_the_axis_follows_the_filter_dates() -> None:
    days = [date(2021, 7, 5) + timedelta(days=i) for i in range(20)]
    svg = charts.line(
        days, [("Tổng", [3] * 20)], "t", "d", span=(date(2021, 6, 1), date(2021, 8, 31))
    )
    assert axis_labels(svg) == ["06/2021", "07/2021", "08/2021"]
    # without the filter: from the first to the last day with data
    svg = charts.line(days, [("Tổng", [3] * 20)], "t", "d")
    assert axis_labels(svg) == ["05/07/2021"]  # no month start inside: the first day, dated


def test_per_month_table_sums_days_and_links_to_them() -> None:
    cols = [Column("day", "Ngày", "Day", "date")] + [
        Column(k, k, k) for k in ("dose1", "dose2", "dose3", "dose4", "total")
    ]
    rows = [
        {"day": date(2021, 9, 10), "dose1": 1, "dose2": 0, "dose3": 0, "dose4": 0, "total": 1},
        {"day": date(2021, 9, 20), "dose1": 2, "dose2": 1, "dose3": 0, "dose4": 0, "total": 3},
        {"day": date(2021, 11, 30), "dose1": 0, "dose2": 4, "dose3": 1, "dose4": 2, "total": 7},
    ]
    t = Table("doses_per_day", "vi", "en", cols, rows)
    f = Filters(date_from=date(2021, 9, 5), date_to=date(2021, 11, 30))
    m = per_month(t, f)
    assert m is not None and m.name == "doses_per_month"
    assert [(r["month"], r["dose1"], r["dose2"], r["total"]) for r in m.rows] == [
        ("09/2021", 3, 1, 4),
        ("11/2021", 0, 4, 7),
    ]
    assert (m.rows[0]["date_from"], m.rows[0]["date_to"]) == (date(2021, 9, 5), date(2021, 9, 30))
    assert m.rows[1]["date_to"] == date(2021, 11, 30)
    assert per_month(Table("doses_per_day", "vi", "en", cols, rows[:2]), f) is None  # short


def test_export_names_say_the_filter() -> None:
    assert filename("quality", Filters(), "csv") == "quality_toan-quoc.csv"
    f = Filters("40", "16941", "65+", date(2021, 9, 1), date(2021, 12, 31))
    assert filename("doses_per_day", f, "xlsx") == (
        "doses_per_day_tinh-40_xa-16941_tuoi-65-plus_tu-2021-09-01_den-2021-12-31.xlsx"
    )
    assert filename("doses_per_day", Filters("40", age_group="unknown"), "csv") == (
        "doses_per_day_tinh-40_tuoi-khong-ro.csv"
    )
    odd = filename("x", Filters('4"0\r\n'), "csv")  # never a header injection
    assert re.fullmatch(r"[A-Za-z0-9_.-]+", odd)


def test_export_names_list_only_the_filters_the_table_applied() -> None:
    """The dashboard's backlog export was named ``…_tuoi-18-49_tu-…_den-….csv`` while it held
    every open item of every age: each table's name says only what that table filtered by."""
    f = Filters("40", "16941", "18-49", date(2021, 9, 1), date(2021, 12, 31))
    area = "tinh-40_xa-16941"
    expected = {
        "coverage": f"coverage_{area}_tuoi-18-49_den-2021-12-31.csv",  # as of the end date
        "coverage_by_age": f"coverage_by_age_{area}_den-2021-12-31.csv",
        "coverage_by_sex": f"coverage_by_sex_{area}_tuoi-18-49_den-2021-12-31.csv",
        "doses_per_day": f"doses_per_day_{area}_tuoi-18-49_tu-2021-09-01_den-2021-12-31.csv",
        "recorded_vs_reported": f"recorded_vs_reported_{area}_tu-2021-09-01_den-2021-12-31.csv",
        "recorded_vs_reported_by_day": (
            f"recorded_vs_reported_by_day_{area}_tu-2021-09-01_den-2021-12-31.csv"
        ),
        "recorded_vs_reported_by_site": (
            f"recorded_vs_reported_by_site_{area}_tu-2021-09-01_den-2021-12-31.csv"
        ),
        "quality": f"quality_{area}.csv",
        "backlog": f"backlog_{area}.csv",
        "doses_by_product": f"doses_by_product_{area}_tu-2021-09-01_den-2021-12-31.csv",
        "site_people": f"site_people_{area}.csv",
    }
    assert set(expected) == set(TABLES)
    for name, want in expected.items():
        assert filename(name, f, "csv") == want, name
    assert filename("backlog", Filters("40", age_group="unknown"), "csv") == "backlog_tinh-40.csv"
