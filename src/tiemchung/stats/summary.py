"""What the dashboard shows above and beside its tables, derived from those same tables.

The summary cards are sums of the page's own tables — coverage per area (every filter of the
coverage definition applied: area, age group, end date), doses per day (area, age group, date
range) and recorded vs reported (area, date range) — so a card can never disagree with the
table below it, whatever the filter. Each card says which filters it does not take (the sites'
tallies carry no age). A long doses-per-day table is shown per month on the page, each month a
link to its days; the exports keep every day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from tiemchung.stats.filters import Filters
from tiemchung.stats.tables import Column, Table, pct

#: a doses-per-day table spanning more days than this is shown per month on the page
DAILY_ROWS_MAX_DAYS = 62
DOSE_KEYS = ("dose1", "dose2", "dose3", "dose4", "total")


@dataclass(frozen=True)
class Card:
    key: str
    vi: str
    en: str
    value: int | None
    pct: float | None = None
    #: a second figure shown as "value / of" (recorded / reported)
    of: int | None = None
    #: what the card covers or leaves out, in words ("" when every filter applies)
    note_vi: str = ""
    note_en: str = ""


def _dmy(d: date) -> str:
    return f"{d:%d/%m/%Y}"


def cards(t: dict[str, Table], f: Filters) -> list[Card]:
    """The summary cards of the page for the (scoped) filters ``f``."""
    cov = t["coverage"].rows
    registered = sum(r["registered"] for r in cov)
    first = sum(r["first"] for r in cov)
    full = sum(r["full"] for r in cov)
    booster = sum(r["booster"] for r in cov)
    doses = sum(r["total"] for r in t["doses_per_day"].rows)
    rvr = t["recorded_vs_reported"].rows[0]
    if f.date_to:
        as_of = (f"cộng dồn đến {_dmy(f.date_to)}", f"cumulative to {_dmy(f.date_to)}")
    else:
        as_of = ("cộng dồn đến nay", "cumulative to date")
    if f.date_from or f.date_to:
        start = _dmy(f.date_from) if f.date_from else "…"
        end = _dmy(f.date_to) if f.date_to else "…"
        period = (f"{start} – {end}", f"{start} – {end}")
    else:
        period = ("mọi ngày", "all days")
    no_age = (
        " (không theo nhóm tuổi: báo cáo không ghi tuổi)",
        " (no age group: tallies have no age)",
    )
    rvr_note = (
        period[0] + (no_age[0] if f.age_group else ""),
        period[1] + (no_age[1] if f.age_group else ""),
    )
    return [
        Card("registered", "Người trong sổ dân cư", "Register persons", registered),
        Card("first", "Đã tiêm ≥ 1 mũi", "≥ 1 dose", first, pct(first, registered), None, *as_of),
        Card(
            "full",
            "Đủ liều cơ bản",
            "Full primary series",
            full,
            pct(full, registered),
            None,
            *as_of,
        ),
        Card("booster", "Mũi nhắc lại", "Booster", booster, pct(booster, registered), None, *as_of),
        # Two ways to place a dose in an area, said on each card (a ward's residents may be
        # vaccinated at the district centre; its sites vaccinate people from elsewhere):
        Card(
            "doses",
            "Số mũi tiêm (theo nơi cư trú của người được tiêm)",
            "Doses (by residence of the person vaccinated)",
            doses,
            None,
            None,
            *period,
        ),
        Card(
            "rvr",
            "Đã nhập / báo cáo (theo nơi đặt điểm tiêm)",
            "Recorded / reported (by site location)",
            rvr["recorded"],
            rvr["recorded_pct"],
            rvr["reported"],
            *rvr_note,
        ),
    ]


def _month_end(d: date) -> date:
    return (d.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def per_month(t: Table, f: Filters) -> Table | None:
    """Doses per day summed per month when the days span more than two months (None: the
    daily table is short enough to show). Each row carries the date range of its month
    (clamped to the filter's) as ``date_from``/``date_to`` for a link to its days."""
    days = [r["day"] for r in t.rows]
    if not days or (max(days) - min(days)).days <= DAILY_ROWS_MAX_DAYS:
        return None
    months: dict[date, dict[str, Any]] = {}
    for r in t.rows:
        first = r["day"].replace(day=1)
        m = months.get(first)
        if m is None:
            lo = max(first, f.date_from) if f.date_from else first
            end = _month_end(first)
            hi = min(end, f.date_to) if f.date_to else end
            m = months[first] = {"month": f"{first:%m/%Y}", "date_from": lo, "date_to": hi}
            m |= dict.fromkeys(DOSE_KEYS, 0)
        for k in DOSE_KEYS:
            m[k] += r[k]
    cols = [Column("month", "Tháng", "Month", "text"), *t.columns[1:]]
    return Table(
        "doses_per_month",
        "Số mũi tiêm theo tháng",
        "Doses per month",
        cols,
        [months[k] for k in sorted(months)],
        "Bấm vào một tháng để xem từng ngày; tệp tải về có mọi ngày. " + t.note_vi,
        "Choose a month to see its days; the download has every day. " + t.note_en,
    )
