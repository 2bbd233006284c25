"""Dates of birth: formats, precision, day-first marking, errors."""

from __future__ import annotations

import datetime as dt

import pytest

from tiemchung.identity import IdentityError, PartialDate, parse_dob
from tiemchung.identity.dates import iso_compatible

TODAY = dt.date(2024, 6, 15)


@pytest.mark.parametrize(
    ("text", "iso", "precision", "day_first", "century"),
    [
        ("1990-03-05", "1990-03-05", "day", False, False),
        ("1990/3/5", "1990-03-05", "day", False, False),
        ("05/03/1990", "1990-03-05", "day", True, False),
        ("25/03/1990", "1990-03-25", "day", False, False),
        ("5/3/1990", "1990-03-05", "day", True, False),
        ("05-03-1990", "1990-03-05", "day", True, False),
        ("5.3.1990", "1990-03-05", "day", True, False),
        ("03/03/1990", "1990-03-03", "day", False, False),  # same either way
        ("5/3/90", "1990-03-05", "day", True, True),
        ("5/3/24", "2024-03-05", "day", True, True),
        ("5/3/25", "1925-03-05", "day", True, True),  # 2025 would be after TODAY
        ("05031990", "1990-03-05", "day", True, False),
        ("25031990", "1990-03-25", "day", False, False),
        ("19900305", "1990-03-05", "day", False, False),
        ("1990", "1990", "year", False, False),
        ("1990-03", "1990-03", "month", False, False),
        ("03/1990", "1990-03", "month", False, False),
        ("T3/1990", "1990-03", "month", False, False),
        ("32937", "1990-03-05", "day", False, False),
        ("32937.0", "1990-03-05", "day", False, False),
        ("ngày 5 tháng 3 năm 1990", "1990-03-05", "day", False, False),
        ("Ngày 05 Tháng 03 Năm 1990", "1990-03-05", "day", False, False),
        ("ngay 5 thang 3 nam 1990", "1990-03-05", "day", False, False),
        ("tháng 3 năm 1990", "1990-03", "month", False, False),
        ("năm 1990", "1990", "year", False, False),
        ("ngày 05/03/1990", "1990-03-05", "day", True, False),
        ("05/03/1990 00:00:00", "1990-03-05", "day", True, False),
        ("1990-03-05T00:00:00", "1990-03-05", "day", False, False),
        ("29/02/2000", "2000-02-29", "day", False, False),
        ("1", None, None, None, None),
    ],
)
def test_formats(text: str, iso: str | None, precision: str | None, day_first: bool | None,
                 century: bool | None) -> None:
    if iso is None:
        with pytest.raises(IdentityError):
            parse_dob(text, today=TODAY)
        return
    p = parse_dob(text, today=TODAY)
    assert p.iso == iso == str(p)
    assert p.precision == precision
    assert p.day_first is day_first
    assert p.century_inferred is century


def test_cell_values() -> None:
    assert parse_dob(32937, today=TODAY) == PartialDate(1990, 3, 5)
    assert parse_dob(32937.0, today=TODAY) == PartialDate(1990, 3, 5)
    assert parse_dob(dt.date(1990, 3, 5), today=TODAY) == PartialDate(1990, 3, 5)
    assert parse_dob(dt.datetime(1990, 3, 5, 8, 0), today=TODAY) == PartialDate(1990, 3, 5)
    assert parse_dob(61, today=TODAY) is not None  # serial 61 = 1900-03-01
    assert parse_dob(61, today=TODAY).iso == "1900-03-01"
    assert parse_dob(59, today=TODAY).iso == "1900-02-28"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "dob_empty"),
        ("  ", "dob_empty"),
        ("31/02/1990", "dob_invalid"),
        ("29/02/1900", "dob_invalid"),
        ("1990-13-01", "dob_invalid"),
        ("00/01/1990", "dob_invalid"),
        ("1870", "dob_range"),
        ("2025", "dob_future"),
        ("16/06/2024", "dob_future"),
        ("không rõ", "dob_format"),
        ("5 3 1990", "dob_format"),
        ("1990-03-05-01", "dob_format"),
        ("ngày 5 năm 1990", "dob_format"),
        ("١٩٩٠", "dob_format"),
        ("123456", "dob_format"),
    ],
)
def test_errors(text: str, code: str) -> None:
    with pytest.raises(IdentityError) as exc:
        parse_dob(text, today=TODAY)
    assert exc.value.code == code


def test_excel_phantom_leap_day() -> None:
    with pytest.raises(IdentityError) as exc:
        parse_dob(60, today=TODAY)
    assert exc.value.code == "dob_invalid"
    with pytest.raises(IdentityError):
        parse_dob(True)  # type: ignore[arg-type]


def test_partial_date_helpers() -> None:
    y, ym, ymd = PartialDate(1990), PartialDate(1990, 3), PartialDate(1990, 3, 5)
    assert y.compatible(ym) and ym.compatible(ymd) and y.compatible(ymd)
    assert not ym.compatible(PartialDate(1990, 4))
    assert not ymd.compatible(PartialDate(1990, 3, 6))
    assert ymd.compatible(dt.date(1990, 3, 5))
    assert ym.earliest() == dt.date(1990, 3, 1) and ym.latest() == dt.date(1990, 3, 31)
    assert y.latest() == dt.date(1990, 12, 31)
    assert PartialDate(2000, 2).latest() == dt.date(2000, 2, 29)
    assert ym.contains(dt.date(1990, 3, 31)) and not ym.contains(dt.date(1990, 4, 1))
    assert ymd.to_date() == dt.date(1990, 3, 5)
    with pytest.raises(IdentityError) as exc:
        ym.to_date()
    assert exc.value.code == "dob_precision"


def test_swap_only_for_day_first_reads() -> None:
    read = parse_dob("05/03/1990", today=TODAY)
    assert read.swapped() == PartialDate(1990, 5, 3)
    assert not read.compatible(PartialDate(1990, 5, 3))
    assert read.compatible(PartialDate(1990, 5, 3), allow_swap=True)
    assert parse_dob("25/03/1990", today=TODAY).swapped() is None
    assert parse_dob("1990-03-05", today=TODAY).swapped() is None


def test_flags_do_not_affect_equality() -> None:
    assert PartialDate(1990, 3, 5, day_first=True) == PartialDate(1990, 3, 5)
    assert hash(PartialDate(1990, 3, 5, day_first=True)) == hash(PartialDate(1990, 3, 5))


@pytest.mark.parametrize(("y", "m", "d"), [(1990, 2, 30), (1990, 0, None), (1990, None, 3)])
def test_partial_date_validates(y: int, m: int | None, d: int | None) -> None:
    with pytest.raises(IdentityError):
        PartialDate(y, m, d)


def test_iso_compatible_is_the_rule_partial_dates_compare_by() -> None:
    """One home for date-of-birth compatibility (issue 15): the registry compares stored ISO
    strings with iso_compatible, PartialDate.compatible compares by it; they never disagree."""
    values = [
        PartialDate(*parts)
        for parts in [(1990,), (1991,), (1990, 3), (1990, 4), (1990, 3, 5), (1990, 3, 6)]
    ]
    for a in values:
        for b in values:
            assert a.compatible(b) == iso_compatible(a.iso, b.iso), (a, b)
    assert iso_compatible(None, "1990-03-05") and iso_compatible("", "1990")
    assert not iso_compatible("1990-03", "1990-04-01")
