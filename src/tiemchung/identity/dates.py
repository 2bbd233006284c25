"""Dates of birth that keep their precision: :class:`PartialDate` and :func:`parse_dob`.

Registers hold full dates, year-and-month, or only a year (common for people born before the
1970s). A :class:`PartialDate` keeps exactly what was known, and linkage compares dates by what
both sides know (:meth:`PartialDate.compatible`) instead of inventing 1 January.

Vietnamese data writes the day first. :func:`parse_dob` reads ``05/03/1990`` as 5 March and,
because a month-first source would have meant 3 May, marks the result ``day_first=True`` so a
linker can also try the swapped reading (:meth:`PartialDate.swapped`). ``25/03/1990`` is not
marked: no month-first reading exists.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import numbers
import re
from dataclasses import dataclass, field
from typing import Final, Literal

from .errors import IdentityError, require_text
from .names import fold_name

Precision = Literal["day", "month", "year"]

#: Oldest birth year accepted (registers hold some people born in the 1890s-1900s).
MIN_YEAR: Final = 1880
_EXCEL_EPOCH: Final = _dt.date(1899, 12, 30)  # serial 1 = 1900-01-01 for serials after 60


@dataclass(frozen=True, slots=True)
class PartialDate:
    """A date known to the day, to the month or only to the year.

    ``day_first`` and ``century_inferred`` record how the value was read; they are left out of
    equality and hashing. ``str()`` gives ``1990``, ``1990-03`` or ``1990-03-05``.

    >>> d = PartialDate(1990, 3)
    >>> str(d), d.precision, d.compatible(PartialDate(1990, 3, 5)), d.compatible(PartialDate(1991))
    ('1990-03', 'month', True, False)
    """

    year: int
    month: int | None = None
    day: int | None = None
    day_first: bool = field(default=False, compare=False)
    century_inferred: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        """Raises :class:`IdentityError`: ``dob_invalid`` (not a calendar date, or a part that
        is not an integer), ``dob_range`` (a year outside 1–9999)."""
        y, m, d = self.year, self.month, self.day
        text = f"{_shown(y)}-{_shown(m)}-{_shown(d)}"
        for part in (y, *(p for p in (m, d) if p is not None)):
            if isinstance(part, bool) or not isinstance(part, numbers.Integral):
                raise IdentityError("dob_invalid", text=text)
        if m is None and d is not None:
            raise IdentityError("dob_invalid", text=text)
        if m is not None and not 1 <= m <= 12:
            raise IdentityError("dob_invalid", text=text)
        if d is not None and not 1 <= d <= calendar.monthrange(y, m or 1)[1]:
            raise IdentityError("dob_invalid", text=text)
        if not 1 <= y <= 9999:
            raise IdentityError("dob_range", year=_shown(y))

    @property
    def precision(self) -> Precision:
        """``"day"``, ``"month"`` or ``"year"``."""
        if self.day is not None:
            return "day"
        return "month" if self.month is not None else "year"

    @property
    def iso(self) -> str:
        """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``."""
        if self.month is None:
            return f"{self.year:04d}"
        if self.day is None:
            return f"{self.year:04d}-{self.month:02d}"
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"

    def __str__(self) -> str:
        return self.iso

    def earliest(self) -> _dt.date:
        """First day the value can mean."""
        return _dt.date(self.year, self.month or 1, self.day or 1)

    def latest(self) -> _dt.date:
        """Last day the value can mean."""
        m = self.month or 12
        return _dt.date(self.year, m, self.day or calendar.monthrange(self.year, m)[1])

    def contains(self, day: _dt.date) -> bool:
        """Whether the full date ``day`` is one of the days this value can mean."""
        return self.earliest() <= day <= self.latest()

    def to_date(self) -> _dt.date:
        """The full date; raises ``IdentityError('dob_precision')`` below day precision."""
        if self.day is None:
            raise IdentityError("dob_precision", text=self.iso)
        return _dt.date(self.year, self.month or 1, self.day)

    def compatible(self, other: PartialDate | _dt.date, *, allow_swap: bool = False) -> bool:
        """Whether both values can mean the same day (they agree on every part both know).

        With ``allow_swap``, a value read day-first also matches on its month-first reading.

        >>> PartialDate(1990, 3, 5, day_first=True).compatible(PartialDate(1990, 5, 3))
        False
        >>> PartialDate(1990, 3, 5, day_first=True).compatible(
        ...     PartialDate(1990, 5, 3), allow_swap=True)
        True
        """
        if isinstance(other, _dt.date):
            other = PartialDate(other.year, other.month, other.day)
        if self._agrees(other):
            return True
        if allow_swap:
            for a, b in ((self.swapped(), other), (self, other.swapped())):
                if a is not None and b is not None and a._agrees(b):
                    return True
        return False

    def _agrees(self, other: PartialDate) -> bool:
        return iso_compatible(self.iso, other.iso)

    def swapped(self) -> PartialDate | None:
        """The month-first reading of a value that was read day-first, else ``None``."""
        if not self.day_first or self.day is None or self.month is None:
            return None
        return PartialDate(self.year, self.day, self.month)


_TIME: Final = re.compile(r"(?:[ t]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:z|[+-]\d{2}:?\d{2})?)$")
_PREFIX: Final = re.compile(r"^(?:sinh\s*)?ngay\s+(?=\d{1,2}\s*[-/.]\s*\d)")
_YMD: Final = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_DMY: Final = re.compile(r"(\d{1,2})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{4}|\d{2})")
_YM: Final = re.compile(r"(\d{4})[-/.](\d{1,2})")
_MY: Final = re.compile(r"(?:t|thang)?\s*(\d{1,2})\s*[-/.]\s*(\d{4})")
_SERIAL: Final = re.compile(r"(\d{5})(?:\.\d+)?")
_WORDS: Final = re.compile(
    r"(?:(?:ngay\s*)?(\d{1,2})\s*[-/.,]?\s*)?(?:thang\s*(\d{1,2})\s*[-/.,]?\s*)?(?:nam\s*)?(\d{4})")


def iso_compatible(a: str | None, b: str | None) -> bool:
    """Whether two dates of birth in ISO form (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``, as
    :attr:`PartialDate.iso` writes them and the registry stores them) can mean the same day:
    they agree on every part both know (``1990`` fits ``1990-03-05``; ``1990-03`` does not fit
    ``1990-04-01``). A date not known (None or empty) fits any.

    The one home of the rule: :meth:`PartialDate.compatible` compares by it, and so do the
    registry's identity check (registry/fields.py ``identity_agrees``), the desk's verify and
    the worklist item of an unverified dose.

    >>> iso_compatible("1990", "1990-03-05"), iso_compatible("1990-03", "1990-04-01")
    (True, False)
    """
    if not a or not b:
        return True
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _from_serial(serial: int) -> _dt.date:
    if serial == 60:  # Excel's 29 February 1900, a day that never existed
        raise IdentityError("dob_invalid", text=str(serial))
    return _EXCEL_EPOCH + _dt.timedelta(days=serial + (1 if serial < 60 else 0))


def _shown(number: object) -> str:
    """A number for a message: ``str()`` refuses ints over 4,300 digits, and no one reads 40+."""
    try:
        shown = str(number)
    except ValueError:
        return "…"
    return shown if len(shown) <= 40 else shown[:40] + "…"


def parse_dob(text: str | int | float | _dt.date, *, today: _dt.date | None = None
              ) -> PartialDate:
    """Read a date of birth, keeping its precision.

    Accepted: ISO ``1990-03-05`` (and ``/`` or ``.``); day-first ``05/03/1990``, ``5-3-1990``,
    ``5/3/90``; ``05031990`` (ddmmyyyy) and ``19900305``; ``1990``; ``1990-03`` and
    ``03/1990``; Excel serial numbers (five digits, or an ``int``/``float`` cell value);
    Vietnamese words ``ngày 5 tháng 3 năm 1990``, ``tháng 3/1990``, ``năm 1990``; a trailing
    time (``00:00:00``) is ignored; ``date``/``datetime`` objects pass through.

    Two-digit years take the latest century that does not put the date after ``today``
    (default: the current date) and are marked ``century_inferred``. A date after ``today``,
    before :data:`MIN_YEAR` or impossible (``31/02/1990``) is an error.

    >>> parse_dob("ngày 5 tháng 3 năm 1990")
    PartialDate(year=1990, month=3, day=5, day_first=False, century_inferred=False)
    >>> parse_dob("05/03/1990").day_first, parse_dob("25/03/1990").day_first
    (True, False)
    >>> str(parse_dob("32937")), str(parse_dob("03/1990"))
    ('1990-03-05', '1990-03')

    A number is a spreadsheet cell: ``NaN`` (what an empty cell becomes) is ``dob_empty``;
    infinities, fractions and serials outside 1–2958465 are ``dob_format``.

    Raises :class:`IdentityError`, and nothing else, for any input: ``not_text`` (neither
    text, a number nor a date), ``dob_empty``, ``dob_format``, ``dob_invalid``,
    ``dob_range``, ``dob_future``.
    """
    today = today or _dt.date.today()
    if isinstance(text, _dt.datetime):
        text = text.date()
    if isinstance(text, _dt.date):
        return _check(PartialDate(text.year, text.month, text.day), today, str(text))
    if isinstance(text, bool):
        raise IdentityError("dob_format", text=str(text))
    if isinstance(text, numbers.Real):  # a spreadsheet cell: int, float, numpy numbers
        try:
            serial = int(text)  # ValueError for NaN, OverflowError for an infinity
        except (ValueError, OverflowError):
            if text != text:  # NaN: the empty cell
                raise IdentityError("dob_empty") from None
            raise IdentityError("dob_format", text=_shown(text)) from None
        if serial != text or not 1 <= serial < 2958466:
            raise IdentityError("dob_format", text=_shown(text))
        d = _from_serial(serial)
        return _check(PartialDate(d.year, d.month, d.day), today, str(text))
    raw = require_text(text)
    s = fold_name(raw).strip(" ,.")
    if not s:
        raise IdentityError("dob_empty")
    if not s.isascii():  # non-ASCII digits and letters are never part of a date we accept
        raise IdentityError("dob_format", text=raw)
    s = _PREFIX.sub("", _TIME.sub("", s).strip())
    return _check(_parse(s, raw, today), today, raw)


def _parse(s: str, raw: str, today: _dt.date) -> PartialDate:
    try:
        if s.isdigit():
            n = len(s)
            if n == 4:
                return PartialDate(int(s))
            if n == 5:
                d = _from_serial(int(s))
                return PartialDate(d.year, d.month, d.day)
            if n == 8:
                if MIN_YEAR <= int(s[4:]) <= 2100:
                    return _dmy(int(s[:2]), int(s[2:4]), int(s[4:]), False)
                return PartialDate(int(s[:4]), int(s[4:6]), int(s[6:]))
            raise IdentityError("dob_format", text=raw)
        if m := _YMD.fullmatch(s):
            return PartialDate(int(m[1]), int(m[2]), int(m[3]))
        if m := _DMY.fullmatch(s):
            y = m[3]
            if len(y) == 2:
                return _dmy(int(m[1]), int(m[2]), _century(int(y), today), True)
            return _dmy(int(m[1]), int(m[2]), int(y), False)
        if m := _YM.fullmatch(s):
            return PartialDate(int(m[1]), int(m[2]))
        if m := _MY.fullmatch(s):
            return PartialDate(int(m[2]), int(m[1]))
        if m := _SERIAL.fullmatch(s):
            d = _from_serial(int(m[1]))
            return PartialDate(d.year, d.month, d.day)
        if ("nam" in s or "thang" in s) and (m := _WORDS.fullmatch(s)):
            day, month = m[1], m[2]
            if day is not None and month is None:
                raise IdentityError("dob_format", text=raw)
            return PartialDate(int(m[3]), int(month) if month else None,
                               int(day) if day else None)
    except IdentityError as exc:
        if exc.code == "dob_invalid":
            raise IdentityError("dob_invalid", text=raw) from None
        raise
    raise IdentityError("dob_format", text=raw)


def _century(yy: int, today: _dt.date) -> int:
    y = today.year - today.year % 100 + yy
    return y if y <= today.year else y - 100


def _dmy(d: int, m: int, y: int, inferred: bool) -> PartialDate:
    # The parse relies on day-first order when a month-first reading is also a real date.
    relied = d != m and d <= 12 and m <= 12
    return PartialDate(y, m, d, day_first=relied, century_inferred=inferred)


def _check(p: PartialDate, today: _dt.date, raw: str) -> PartialDate:
    if p.year < MIN_YEAR:
        raise IdentityError("dob_range", year=p.year)
    if p.earliest() > today:
        raise IdentityError("dob_future", text=raw)
    return p
