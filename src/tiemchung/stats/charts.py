"""Charts drawn on the server as inline SVG: nothing to download, nothing from a CDN, readable
without JavaScript, printable.

Three kinds, the ones the dashboard needs to be read at a glance: grouped horizontal bars
(coverage by age group, in percent), a line (doses per day), and paired bars (recorded vs
reported per day or week, the gap shaded). Every chart has a ``<title>`` and a ``<desc>``
for screen readers; the tables beside them carry the exact figures. Colours are SVG
presentation attributes (the pages' CSP forbids inline styles).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from html import escape
from typing import Any

from markupsafe import Markup

COLORS = ("#1f6f8b", "#e08e0b", "#3a9d5d", "#8a4fbf")
GRID = "#d7dde3"
TEXT = "#243240"


def _fmt(n: float) -> str:
    """Thousands with a dot, as Vietnamese reports write them (757.224)."""
    if abs(n) >= 1000:
        return f"{round(n):,}".replace(",", ".")
    return f"{n:g}"


def _svg(width: int, height: int, title: str, desc: str, body: list[str]) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" class="chart" font-family="system-ui, sans-serif" font-size="12">'
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>"
    )
    return Markup(head + "".join(body) + "</svg>")


def _legend(names: Sequence[str], x: int, y: int, colors: Sequence[str]) -> list[str]:
    out = []
    for i, name in enumerate(names):
        cx = x + i * 150
        out.append(f'<rect x="{cx}" y="{y - 10}" width="12" height="12" fill="{colors[i]}"/>')
        out.append(f'<text x="{cx + 16}" y="{y}" fill="{TEXT}">{escape(name)}</text>')
    return out


def percent_bars(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    title: str,
    desc: str,
) -> Markup:
    """Grouped horizontal bars, 0–100 %: one group per label, one bar per series."""
    width, left, right, top = 640, 130, 50, 34
    bar, gap = 11, 12
    group = bar * len(series) + gap
    height = top + group * len(labels) + 26
    span = width - left - right
    body = _legend([s[0] for s in series], left, 16, COLORS)
    for pct in (0, 25, 50, 75, 100):
        x = left + span * pct / 100
        body.append(
            f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height - 22}" stroke="{GRID}"/>'
        )
        body.append(
            f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle" fill="{TEXT}">{pct}%</text>'
        )
    for i, label in enumerate(labels):
        y0 = top + i * group
        body.append(
            f'<text x="{left - 8}" y="{y0 + group / 2 - 2:.1f}" text-anchor="end" '
            f'fill="{TEXT}">{escape(label)}</text>'
        )
        for j, (_name, values) in enumerate(series):
            v = values[i]
            y = y0 + j * bar
            w = span * min(max(v or 0, 0), 100) / 100
            body.append(
                f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar - 2}" fill="{COLORS[j]}"/>'
            )
            text = "–" if v is None else f"{v:g}%"
            body.append(
                f'<text x="{left + w + 4:.1f}" y="{y + bar - 3}" fill="{TEXT}" '
                f'font-size="10">{text}</text>'
            )
    return _svg(width, height, title, desc, body)


def _ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** (len(str(int(raw))) - 1) if raw >= 1 else 1
    step = max(1, round(raw / mag)) * mag
    return [lo + k * step for k in range(int((hi - lo) / step) + 1)]


def line(
    days: Sequence[date],
    series: Sequence[tuple[str, Sequence[int]]],
    title: str,
    desc: str,
) -> Markup:
    """Lines over days (missing days count as 0), with month ticks."""
    width, height, left, right, top, bottom = 640, 240, 56, 16, 30, 28
    if not days:
        return _svg(width, 60, title, desc, [f'<text x="10" y="30" fill="{TEXT}">–</text>'])
    d0, d1 = min(days), max(days)
    n_days = (d1 - d0).days or 1
    top_v = max([max(v) if v else 0 for _, v in series] + [1])
    sx = (width - left - right) / n_days
    sy = (height - top - bottom) / top_v
    body = _legend([s[0] for s in series], left, 16, COLORS)
    for v in _ticks(0, top_v):
        y = height - bottom - v * sy
        body.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID}"/>'
        )
        body.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{TEXT}">{_fmt(v)}</text>'
        )
    month = date(d0.year, d0.month, 1)
    step = max(1, n_days // 200 + 1)
    k = 0
    while month <= d1:
        if month >= d0 and k % step == 0:
            x = left + (month - d0).days * sx
            body.append(
                f'<line x1="{x:.1f}" y1="{height - bottom}" x2="{x:.1f}" '
                f'y2="{height - bottom + 4}" stroke="{TEXT}"/>'
            )
            body.append(
                f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle" '
                f'fill="{TEXT}">{month:%m/%Y}</text>'
            )
        k += 1
        month = (month + timedelta(days=32)).replace(day=1)
    for j, (_name, values) in enumerate(series):
        by_day = dict(zip(days, values, strict=True))
        pts = []
        for i in range(n_days + 1):
            d = d0 + timedelta(days=i)
            pts.append(f"{left + i * sx:.1f},{height - bottom - by_day.get(d, 0) * sy:.1f}")
        body.append(
            f'<polyline fill="none" stroke="{COLORS[j]}" stroke-width="1.6" '
            f'points="{" ".join(pts)}"/>'
        )
    return _svg(width, height, title, desc, body)


def paired_bars(
    rows: Sequence[dict[str, Any]], names: tuple[str, str, str], title: str, desc: str
) -> Markup:
    """Reported (light) and recorded (dark) per period; the gap is the light part showing.

    ``rows``: ``{"label", "recorded", "reported"}``, at most ~60 (the caller groups by week).
    """
    width, height, left, right, top, bottom = 640, 240, 56, 16, 30, 40
    if not rows:
        return _svg(width, 60, title, desc, [f'<text x="10" y="30" fill="{TEXT}">–</text>'])
    top_v = max([max(r["reported"], r["recorded"]) for r in rows] + [1])
    slot = (width - left - right) / len(rows)
    sy = (height - top - bottom) / top_v
    body = _legend(names[:2], left, 16, ("#9cc3d5", COLORS[0]))
    body.append(f'<text x="{left + 300}" y="16" fill="{TEXT}">{escape(names[2])}</text>')
    for v in _ticks(0, top_v):
        y = height - bottom - v * sy
        body.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID}"/>'
        )
        body.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{TEXT}">{_fmt(v)}</text>'
        )
    every = max(1, len(rows) // 8)
    for i, r in enumerate(rows):
        x = left + i * slot + slot * 0.1
        w = slot * 0.8
        for value, color in ((r["reported"], "#9cc3d5"), (r["recorded"], COLORS[0])):
            h = value * sy
            ww = w if color != COLORS[0] else w * 0.6
            xx = x if color != COLORS[0] else x + w * 0.2
            body.append(
                f'<rect x="{xx:.1f}" y="{height - bottom - h:.1f}" width="{ww:.1f}" '
                f'height="{h:.1f}" fill="{color}"><title>{escape(str(r["label"]))}: '
                f"{_fmt(r['recorded'])} / {_fmt(r['reported'])}</title></rect>"
            )
        if i % every == 0:
            body.append(
                f'<text x="{x + w / 2:.1f}" y="{height - bottom + 14}" '
                f'text-anchor="middle" fill="{TEXT}" font-size="10">'
                f"{escape(str(r['label']))}</text>"
            )
    return _svg(width, height, title, desc, body)


def by_week(rows: Sequence[dict[str, Any]], limit: int = 40) -> list[dict[str, Any]]:
    """Day rows summed per ISO week (labelled by its Monday) when there are too many days."""
    if len(rows) <= limit:
        return [
            {"label": f"{r['day']:%d/%m}", "recorded": r["recorded"], "reported": r["reported"]}
            for r in rows
        ]
    weeks: dict[date, dict[str, Any]] = {}
    for r in rows:
        monday = r["day"] - timedelta(days=r["day"].weekday())
        w = weeks.setdefault(monday, {"label": f"{monday:%d/%m/%y}", "recorded": 0, "reported": 0})
        w["recorded"] += r["recorded"]
        w["reported"] += r["reported"]
    out = [weeks[k] for k in sorted(weeks)]
    if len(out) > limit * 2:  # a long range: months
        months: dict[str, dict[str, Any]] = {}
        for r in rows:
            key = f"{r['day']:%m/%Y}"
            m = months.setdefault(key, {"label": key, "recorded": 0, "reported": 0})
            m["recorded"] += r["recorded"]
            m["reported"] += r["reported"]
        out = list(months.values())
    return out
