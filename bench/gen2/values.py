"""Error processes on dates of birth, ID numbers, phones, wards and addresses.

Like :mod:`bench.gen2.slips`: each takes the correct value and a ``random.Random`` and returns
the damaged value, or ``None`` when it cannot apply. Dates come in as the register's ISO text
(``1990-03-05`` or ``1990``) and go out as a person would type them.
"""

from __future__ import annotations

import calendar
import random
import re

from .tables import PASSPORT_PATTERNS

# --- dates of birth ------------------------------------------------------------------------


def _ymd(iso: str) -> tuple[int, int | None, int | None]:
    parts = [int(p) for p in iso.split("-")]
    return parts[0], (parts[1] if len(parts) > 1 else None), (parts[2] if len(parts) > 2 else None)


def write_date(year: int, month: int | None, day: int | None, rng: random.Random) -> str:
    """A date as typed: mostly ``dd/mm/yyyy``, also ``d/m/yyyy``, ISO and ``dd-mm-yyyy``."""
    if month is None or day is None:
        return f"{year:04d}" if month is None else f"{month:02d}/{year:04d}"
    u = rng.random()
    if u < 0.70:
        return f"{day:02d}/{month:02d}/{year:04d}"
    if u < 0.80:
        return f"{day}/{month}/{year:04d}"
    if u < 0.95:
        return f"{year:04d}-{month:02d}-{day:02d}"
    return f"{day:02d}-{month:02d}-{year:04d}"


def dob_as_typed(iso: str, rng: random.Random) -> str:
    return write_date(*_ymd(iso), rng)


def swap_applies(iso: str) -> bool:
    _, m, d = _ymd(iso)
    return m is not None and d is not None and d <= 12 and d != m


def day_month_swap(iso: str, rng: random.Random) -> str | None:
    """Day and month exchanged (``05/03/1990`` typed as ``03/05/1990``): a month-first form."""
    if not swap_applies(iso):
        return None
    y, m, d = _ymd(iso)
    assert m is not None and d is not None
    return write_date(y, d, m, rng)


def placeholder_applies(iso: str) -> bool:
    _, m, d = _ymd(iso)
    return (m, d) != (1, 1)


def placeholder_date(iso: str, rng: random.Random) -> str | None:
    """``01/01`` of the birth year: the convention for an unknown day and month."""
    if not placeholder_applies(iso):
        return None
    y, _, _ = _ymd(iso)
    return write_date(y, 1, 1, rng)


def year_only_applies(iso: str) -> bool:
    return _ymd(iso)[2] is not None


def year_only(iso: str, rng: random.Random) -> str | None:
    """Only the birth year, where the register knows the day."""
    return f"{_ymd(iso)[0]:04d}" if year_only_applies(iso) else None


def year_off(iso: str, rng: random.Random) -> str | None:
    """The year one off (either way); 29 February becomes the 28th in a common year."""
    y, m, d = _ymd(iso)
    y2 = y + rng.choice((-1, 1))
    if m is not None and d is not None:
        d = min(d, calendar.monthrange(y2, m)[1])
    return write_date(y2, m, d, rng)


# --- ID numbers ----------------------------------------------------------------------------


def id_as_typed(nid: str, rng: random.Random) -> str:
    """Formatting that changes no digit: groups separated by spaces or dots, now and then."""
    u = rng.random()
    if len(nid) == 12 and u < 0.04:
        return f"{nid[:3]} {nid[3:6]} {nid[6:]}"
    if len(nid) == 12 and u < 0.06:
        return f"{nid[:3]}.{nid[3:6]}.{nid[6:9]}.{nid[9:]}"
    return nid


def digit_off(nid: str, rng: random.Random) -> str | None:
    """One digit replaced by another (a key next to it or a misread figure)."""
    digits = [k for k, c in enumerate(nid) if c.isdigit()]
    if not digits:
        return None
    k = rng.choice(digits)
    new = rng.choice([c for c in "0123456789" if c != nid[k]])
    return nid[:k] + new + nid[k + 1 :]


def transpose_applies(nid: str) -> bool:
    return any(nid[k] != nid[k + 1] for k in range(len(nid) - 1))


def transpose(nid: str, rng: random.Random) -> str | None:
    """Two neighbouring, different digits exchanged."""
    sites = [k for k in range(len(nid) - 1) if nid[k] != nid[k + 1]]
    if not sites:
        return None
    k = rng.choice(sites)
    return nid[:k] + nid[k + 1] + nid[k] + nid[k + 2 :]


def digit_dropped(nid: str, rng: random.Random) -> str | None:
    """One digit left out (11 digits for a CCCD)."""
    if len(nid) < 2:
        return None
    k = rng.randrange(len(nid))
    return nid[:k] + nid[k + 1 :]


def passport(rng: random.Random) -> str:
    """A passport number of the shapes foreign residents' passports have."""
    prefix, digits = rng.choice(PASSPORT_PATTERNS)
    return prefix + "".join(rng.choice("0123456789") for _ in range(digits))


# --- phones --------------------------------------------------------------------------------


def phone_as_typed(phone: str, rng: random.Random) -> str:
    u = rng.random()
    if u < 0.05:
        return "+84" + phone[1:]
    if u < 0.10:
        return f"{phone[:4]} {phone[4:7]} {phone[7:]}"
    return phone


# --- addresses -----------------------------------------------------------------------------

_UNIT = re.compile(r"^(Thành phố|Tỉnh|Quận|Huyện|Thị xã|Phường|Xã|Thị trấn)\s+(.*)$")
_ABBR = {
    "Thành phố": ("TP.", "Tp ", "TP "),
    "Tỉnh": ("T.", "", "Tỉnh "),
    "Quận": ("Q.", "Q. ", "quận "),
    "Huyện": ("H.", "H. ", "huyện "),
    "Thị xã": ("TX.", "TX ", "tx "),
    "Phường": ("P.", "P. ", "F."),
    "Xã": ("X.", "xã ", "X "),
    "Thị trấn": ("TT.", "TT ", "tt "),
}
_SHORT_PROVINCES = {"Hồ Chí Minh": ("HCM", "Hồ Chí Minh", "HCM"), "Hà Nội": ("HN", "Hà Nội")}


def _abbreviate_unit(part: str, rng: random.Random) -> str:
    m = _UNIT.match(part)
    if not m:
        return part
    kind, name = m.groups()
    if name.isdigit() and kind in ("Quận", "Phường") and rng.random() < 0.5:
        return ("Q" if kind == "Quận" else rng.choice("PF")) + name  # Q1, P12, F12
    if kind in ("Thành phố", "Tỉnh") and name in _SHORT_PROVINCES:
        name = rng.choice(_SHORT_PROVINCES[name])
    return rng.choice(_ABBR[kind]) + name


def abbreviate_address(address: str, rng: random.Random) -> str:
    """A register address as a vaccination site typed it: unit words abbreviated (``P.``,
    ``Q.``, ``TP.``), ``Số`` in lower case or dropped, ``đường`` before the street now and
    then, the province often left out, separators varied."""
    parts = [p.strip() for p in address.split(",")]
    line = parts[0]
    if line.startswith("Số "):
        number, _, street = line[3:].partition(" ")
        if rng.random() < 0.3 and not street.startswith(("Ngõ", "Hẻm")):
            street = f"đường {street}"
        u = rng.random()
        prefix = "số " if u < 0.4 else "" if u < 0.8 else "Số "
        line = f"{prefix}{number} {street}"
    units = [_abbreviate_unit(p, rng) for p in parts[1:]]
    if len(units) >= 3 and rng.random() < 0.4:
        units = units[:-1]
    sep = rng.choice((", ", ", ", " - ", " "))
    return sep.join([line, *units])
