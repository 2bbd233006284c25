"""Numbers as the dashboard writes them: one format per language, in tables, cards and charts.

Vietnamese writes thousands with a dot and decimals with a comma (757.224; 23,7%), English the
other way round (757,224; 23.7%). The page's tables, its summary cards and the SVG charts all
call these functions, so one figure never appears in two spellings on the same page.
Percentages carry one decimal everywhere (the tables' precision, see ``tables.pct``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

#: (thousands separator, decimal mark) per language
MARKS = {"vi": (".", ","), "en": (",", ".")}


def _marks(lang: str) -> tuple[str, str]:
    return MARKS.get(lang, MARKS["vi"])


def fmt_int(n: float, lang: str) -> str:
    """A whole number with the language's thousands separator: 1.234 (vi), 1,234 (en)."""
    thousands, _ = _marks(lang)
    return f"{round(n):,}".replace(",", thousands)


def fmt_decimal(x: float, lang: str, digits: int = 1) -> str:
    """A number with ``digits`` decimals and the language's marks: 1.234,5 (vi)."""
    thousands, decimal = _marks(lang)
    text = f"{x:,.{digits}f}"
    return text.replace(",", "\0").replace(".", decimal).replace("\0", thousands)


def fmt_pct(v: float | None, lang: str) -> str:
    """A percentage to one decimal: 23,7% (vi), 23.7% (en); "–" when there is none."""
    return "–" if v is None else fmt_decimal(v, lang) + "%"


def fmt_axis(v: float, lang: str) -> str:
    """An axis tick: whole numbers as :func:`fmt_int`, others with one decimal."""
    return fmt_int(v, lang) if float(v).is_integer() else fmt_decimal(v, lang)


def fmt(value: Any, kind: str, lang: str) -> str:
    """A table cell or a card of the given column kind (``int``, ``pct``, ``date``, ``text``)."""
    if value is None:
        return "–"
    if kind == "pct":
        return fmt_pct(value, lang)
    if kind == "int":
        return fmt_int(value, lang)
    if kind == "date" and isinstance(value, date):
        return f"{value:%d/%m/%Y}"
    return str(value)
