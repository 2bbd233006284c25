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

from tiemchung.stats.numbers import fmt_axis, fmt_int, fmt_pct

COLORS = ("#1f6f8b", "#e08e0b", "#3a9d5d", "#8a4fbf")
GRID = "#d7dde3"
TEXT = "#243240"


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
    *,
    lang: str = "vi",
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
            text = fmt_pct(v, lang)
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


#: an interior stretch longer than this with no dose at all is cut out of the time axis
GAP_DAYS = 45
#: width of the cut, and the least width a stretch of days gets, in SVG units
BREAK_W, MIN_SEGMENT_W = 16, 24


def segments(days: Sequence[date], lo: date, hi: date) -> list[tuple[date, date]]:
    """The stretches of the time axis from ``lo`` to ``hi``: the data's days, split where more
    than :data:`GAP_DAYS` pass without a record (a desk dose today after a 2021–22 backlog
    would otherwise squeeze four years of zeros into the chart). ``lo`` and ``hi`` (the
    filter's dates, else the first and last day with data) always stay on the axis."""
    inside = sorted(d for d in set(days) if lo <= d <= hi)
    if not inside:
        return [(lo, hi)]
    out: list[tuple[date, date]] = []
    start = prev = lo
    for d in inside:
        if (d - prev).days > GAP_DAYS:
            out.append((start, prev))
            start = d
        prev = d
    if (hi - prev).days > GAP_DAYS:
        out.append((start, prev))
        start = hi
    out.append((start, hi))
    return out


def line(
    days: Sequence[date],
    series: Sequence[tuple[str, Sequence[int]]],
    title: str,
    desc: str,
    *,
    lang: str = "vi",
    span: tuple[date | None, date | None] = (None, None),
    gap_label: str = "",
) -> Markup:
    """Lines over days (missing days count as 0), with month ticks.

    The axis runs from ``span`` (the filter's dates) when given, else from the first to the
    last day with data; interior stretches with no record are cut out (:func:`segments`)
    and marked on the axis, ``gap_label`` saying what the mark means."""
    width, height, left, right, top, bottom = 640, 240, 56, 16, 30, 28
    if not days:
        return _svg(width, 60, title, desc, [f'<text x="10" y="30" fill="{TEXT}">–</text>'])
    lo, hi = span[0] or min(days), span[1] or max(days)
    parts = segments(days, lo, hi)
    plot = width - left - right - BREAK_W * (len(parts) - 1)
    lengths = [(b - a).days + 1 for a, b in parts]
    room = plot - MIN_SEGMENT_W * len(parts)
    widths = [MIN_SEGMENT_W + max(room, 0) * n / sum(lengths) for n in lengths]
    top_v = max([max(v) if v else 0 for _, v in series] + [1])
    sy = (height - top - bottom) / top_v
    base_y = height - bottom
    body = _legend([s[0] for s in series], left, 16, COLORS)
    for v in _ticks(0, top_v):
        y = base_y - v * sy
        body.append(
            f'<line x1="{left}" y1="{y:.0f}" x2="{width - right}" y2="{y:.0f}" stroke="{GRID}"/>'
        )
        body.append(
            f'<text x="{left - 6}" y="{y + 4:.0f}" text-anchor="end" fill="{TEXT}">'
            f"{fmt_axis(v, lang)}</text>"
        )
    # where each segment starts on the page, and its scale (units per day)
    placed: list[tuple[date, date, float, float]] = []
    x = float(left)
    for (a, b), w in zip(parts, widths, strict=True):
        lone = a == b  # a single day sits in the middle of its stretch
        placed.append((a, b, x + w / 2 if lone else x, w / max((b - a).days, 1)))
        x += w + BREAK_W
    # month ticks, thinned to ~7 labels; the first tick after a cut is always labelled
    months = [
        (m, x0 + (m - a).days * sx, k == 0 and i > 0)
        for i, (a, b, x0, sx) in enumerate(placed)
        for k, m in enumerate(_month_starts(a, b))
    ]
    step = max(1, -(-len(months) // 7))
    forced = [mx for _m, mx, after_cut in months if after_cut]
    last_label = -1e9
    for k, (m, mx, after_cut) in enumerate(months):
        crowded = mx - last_label < 60 or any(0 < f - mx < 70 for f in forced)
        if not after_cut and (k % step or crowded):
            continue
        last_label = mx
        label = f"{m:%m/%Y}" if m.day == 1 else f"{m:%d/%m/%Y}"
        half = 3.6 * len(label)  # ~half the label's width at 12 px: kept inside the chart
        tx = min(max(mx, half + 1), width - half - 1)
        body.append(
            f'<line x1="{mx:.1f}" y1="{base_y}" x2="{mx:.1f}" y2="{base_y + 4}" stroke="{TEXT}"/>'
            f'<text x="{tx:.1f}" y="{height - 8}" text-anchor="middle" '
            f'fill="{TEXT}">{label}</text>'
        )
    for i in range(1, len(placed)):  # the cuts: a double slash across the axis
        cx = sum(widths[:i]) + left + BREAK_W * (i - 0.5)
        body.append(
            f'<path d="M{cx - 5:.1f} {base_y + 5}l6 -10M{cx:.1f} {base_y + 5}l6 -10" '
            f'stroke="{TEXT}" stroke-width="1.5"/>'
        )
    if len(placed) > 1 and gap_label:
        body.append(
            f'<text x="{width - right}" y="16" text-anchor="end" fill="{TEXT}" '
            f'font-size="11">// {escape(gap_label)}</text>'
        )
    for j, (_name, values) in enumerate(series):
        by_day = dict(zip(days, values, strict=True))
        for a, b, x0, sx in placed:
            pts = [
                f"{x0 + i * sx:.0f},{base_y - by_day.get(a + timedelta(days=i), 0) * sy:.0f}"
                for i in range((b - a).days + 1)
            ]
            if len(pts) == 1:  # a lone day: a dot, a one-point line would not show
                px, py = pts[0].split(",")
                body.append(f'<circle cx="{px}" cy="{py}" r="2.5" fill="{COLORS[j]}"/>')
                continue
            body.append(
                f'<polyline fill="none" stroke="{COLORS[j]}" stroke-width="1.6" '
                f'points="{" ".join(pts)}"/>'
            )
    return _svg(width, height, title, desc, body)


def _month_starts(a: date, b: date) -> list[date]:
    """The first days of the months between ``a`` and ``b`` (``a`` itself when the stretch
    holds no month start, so every stretch of the axis is dated)."""
    out = []
    m = date(a.year, a.month, 1)
    while m <= b:
        if m >= a:
            out.append(m)
        m = (m + timedelta(days=32)).replace(day=1)
    return out or [a]


def paired_bars(
    rows: Sequence[dict[str, Any]],
    names: tuple[str, str, str],
    title: str,
    desc: str,
    *,
    lang: str = "vi",
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
            f'<text x="{left - 6}" y="{y + 4:.0f}" text-anchor="end" fill="{TEXT}">'
            f"{fmt_axis(v, lang)}</text>"
        )
    every = max(1, len(rows) // 8)
    for i, r in enumerate(rows):
        x = left + i * slot + slot * 0.1
        w = slot * 0.8
        for value, color in ((r["reported"], "#9cc3d5"), (r["recorded"], COLORS[0])):
            h = value * sy
            ww = w if color != COLORS[0] else w * 0.6
            xx = x if color != COLORS[0] else x + w * 0.2
            y_top = round(height - bottom - h)  # whole units: bars still end on the axis
            body.append(
                f'<rect x="{xx:.1f}" y="{y_top}" width="{ww:.1f}" '
                f'height="{height - bottom - y_top}" fill="{color}">'
                f"<title>{escape(str(r['label']))}: "
                f"{fmt_int(r['recorded'], lang)} / {fmt_int(r['reported'], lang)}</title></rect>"
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
