"""``report.html``: one self-contained page (inline SVG charts and CSS, no script, no CDN) a
health official can open from a USB stick."""

from __future__ import annotations

from html import escape
from typing import Any

from .model import Model

COLORS = {
    "verified": "#2e7d32",
    "corrected": "#f9a825",
    "review": "#1565c0",
    "not_found": "#c62828",
    "duplicate": "#6a1b9a",
}
LABELS = {
    "verified": "verified / đã xác minh",
    "corrected": "verified, wrong information / sai thông tin",
    "review": "review / cần xem xét",
    "not_found": "not found / không tìm thấy",
    "duplicate": "duplicate / trùng lặp",
}
FIELD_LABELS = {
    "national_id": "ID number / số CCCD",
    "full_name": "name / họ tên",
    "dob": "date of birth / ngày sinh",
    "sex": "sex / giới tính",
    "ward_code": "ward / xã phường",
}


def _bars(items: list[tuple[str, float, str]], width: int = 640, unit: str = "") -> str:
    """Horizontal bar chart: (label, value, colour) per bar."""
    if not items:
        return "<p>(none)</p>"
    top = max(v for _, v, _ in items) or 1
    row, label_w = 26, 300
    h = row * len(items) + 8
    out = [
        f'<svg role="img" width="{width}" height="{h}" viewBox="0 0 {width} {h}" '
        'xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="13">'
    ]
    for i, (label, value, colour) in enumerate(items):
        y = 4 + i * row
        bw = (width - label_w - 90) * value / top
        out.append(f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end">{escape(label)}</text>')
        out.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{bw:.1f}" height="{row - 8}" '
            f'fill="{colour}"><title>{escape(label)}: {value:,.0f}</title></rect>'
        )
        out.append(f'<text x="{label_w + bw + 6:.1f}" y="{y + 16}">{value:,.0f}{unit}</text>')
    out.append("</svg>")
    return "".join(out)


def _stacked(rows: list[dict[str, Any]], width: int = 760) -> str:
    """One stacked bar per area, split by action, as shares of its records."""
    if not rows:
        return "<p>(none)</p>"
    row, label_w = 26, 220
    h = row * len(rows) + 8
    out = [
        f'<svg role="img" width="{width}" height="{h}" viewBox="0 0 {width} {h}" '
        'xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="13">'
    ]
    for i, r in enumerate(rows):
        y = 4 + i * row
        name = r.get("name") or r.get("code") or "(unknown)"
        out.append(
            f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end">{escape(str(name))}</text>'
        )
        x = float(label_w)
        total = max(r["records"], 1)
        for action, colour in COLORS.items():
            bw = (width - label_w - 10) * r[action] / total
            if bw <= 0:
                continue
            out.append(
                f'<rect x="{x:.1f}" y="{y + 3}" width="{bw:.1f}" height="{row - 8}" '
                f'fill="{colour}"><title>{escape(str(name))} — {action}: '
                f"{r[action]:,}</title></rect>"
            )
            x += bw
    out.append("</svg>")
    return "".join(out)


#: records verified whose only differences are incomplete fields (a part of ``verified``)
INCOMPLETE_LABEL = "verified, incomplete / thiếu thông tin"
INCOMPLETE_COLOR = "#81c784"


def _table(rows: list[dict[str, Any]], limit: int = 200) -> str:
    head = (
        "<tr><th>code</th><th>name</th><th>records</th>"
        + "".join(f"<th>{a}</th>" for a in COLORS)
        + "<th>verified, incomplete</th>"
        + "".join(f"<th>wrong {f}</th>" for f in FIELD_LABELS)
        + "".join(f"<th>incomplete {f}</th>" for f in FIELD_LABELS)
        + "</tr>"
    )
    body = []
    for r in rows[:limit]:
        cells = [
            escape(str(r.get("code") or "")),
            escape(str(r.get("name") or "")),
            f"{r['records']:,}",
        ]
        cells += [f"{r[a]:,}" for a in COLORS]
        cells.append(f"{r.get('verified_incomplete', 0):,}")
        cells += [f"{r['wrong_by_field'][f]:,}" for f in FIELD_LABELS]
        cells += [f"{r.get('incomplete_by_field', {}).get(f, 0):,}" for f in FIELD_LABELS]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    more = f"<p>… {len(rows) - limit:,} more in summary.json</p>" if len(rows) > limit else ""
    return f"<table>{head}{''.join(body)}</table>{more}"


def render(summary: dict[str, Any], model: Model) -> str:
    o = summary["overall"]
    actions = [(LABELS[a], o[a], c) for a, c in COLORS.items()]
    # of the verified, those with incomplete fields: a bar of its own, under "verified"
    actions.insert(1, (INCOMPLETE_LABEL, o.get("verified_incomplete", 0), INCOMPLETE_COLOR))
    fields = [(FIELD_LABELS[f], o["wrong_by_field"][f], COLORS["corrected"]) for f in FIELD_LABELS]
    incomplete = [
        (FIELD_LABELS[f], o.get("incomplete_by_field", {}).get(f, 0), INCOMPLETE_COLOR)
        for f in FIELD_LABELS
    ]
    weights = []
    for c in model.comparisons:
        for label, w in zip(c.labels, c.weights(), strict=True):
            weights.append((f"{c.name}: {label}", w))
    wmax = max((abs(w) for _, w in weights), default=1) or 1
    wrows = "".join(
        f"<tr><td>{escape(lab)}</td><td class=num>{w:+.1f}</td><td><svg width='220' height='12'>"
        f"<rect x='{110 + min(0, w) / wmax * 110:.1f}' y='1' width='{abs(w) / wmax * 110:.1f}' "
        f"height='10' fill='{'#2e7d32' if w >= 0 else '#c62828'}'/></svg></td></tr>"
        for lab, w in weights
    )
    p = summary["pipeline"]
    return f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<title>Đối soát mũi tiêm / Dose reconciliation</title>
<style>
body{{font-family:sans-serif;margin:2em;max-width:1100px;color:#222}}
table{{border-collapse:collapse;font-size:12px}}td,th{{border:1px solid #ccc;padding:2px 6px}}
td.num,td:nth-child(n+3){{text-align:right}}h2{{margin-top:1.6em}}
.legend span{{display:inline-block;margin-right:1em}}
.legend i{{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}}
</style></head><body>
<h1>Đối soát mũi tiêm với sổ dân cư<br><small>Dose records reconciled with the population
register</small></h1>
<p>{summary["records"]:,} dose records, {summary["register"]:,} register persons;
{p["identities"]:,} distinct typed identities, {p["exact_pass_identities"]:,} settled by the exact
pass, {p["probabilistic_identities"]:,} scored over {p["candidate_pairs"]:,} candidate pairs.
Automatic links need a posterior of at least {model.thresholds["auto"]:.6f}.</p>
<h2>Records by outcome / Kết quả</h2>
{_bars(actions)}
<p>"{INCOMPLETE_LABEL}" is a part of "{LABELS["verified"]}": linked, nothing wrong, but a
field missing or partial in the record (no ID, only the birth year, a middle name left out)
that the register knows. / Thiếu thông tin không phải là sai thông tin.</p>
<h2>Verified with wrong information, by field / Sai thông tin theo trường</h2>
{_bars(fields)}
<h2>Incomplete, by field (linked records) / Thiếu thông tin theo trường</h2>
{_bars(incomplete)}
<h2>By province / Theo tỉnh</h2>
<div class="legend">{
        "".join(
            f'<span><i style="background:{c}"></i>{escape(LABELS[a])}</span>'
            for a, c in COLORS.items()
        )
    }</div>
{_stacked(summary["by_province"])}
{_table(summary["by_province"])}
<h2>By ward / Theo xã phường</h2>
{_table(summary["by_ward"])}
<h2>Model / Mô hình</h2>
<p>Match weights (log<sub>2</sub> m/u) learnt from the data; prior share of the remaining
identities in the register: {model.pi:.4f}.</p>
<table><tr><th>comparison level</th><th>weight</th><th></th></tr>{wrows}</table>
</body></html>
"""
