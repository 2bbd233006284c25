"""Phone numbers to national form, including the 2018 prefix change."""

from __future__ import annotations

import pytest

from tiemchung.identity import OLD_MOBILE_PREFIXES, IdentityError, normalize_phone

# The whole 2018 table, typed from the published conversion list.
TABLE_2018 = [
    ("0162", "032"), ("0163", "033"), ("0164", "034"), ("0165", "035"), ("0166", "036"),
    ("0167", "037"), ("0168", "038"), ("0169", "039"), ("0120", "070"), ("0121", "079"),
    ("0122", "077"), ("0126", "076"), ("0128", "078"), ("0123", "083"), ("0124", "084"),
    ("0125", "085"), ("0127", "081"), ("0129", "082"), ("0186", "056"), ("0188", "058"),
    ("0199", "059"),
]


def test_table_is_complete() -> None:
    assert dict(TABLE_2018) == OLD_MOBILE_PREFIXES


@pytest.mark.parametrize(("old", "new"), TABLE_2018)
def test_every_old_prefix(old: str, new: str) -> None:
    assert normalize_phone(old + "2345678") == new + "2345678"
    assert normalize_phone("+84 " + old[1:] + " 234 5678") == new + "2345678"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0912345678", "0912345678"),
        ("091 234 5678", "0912345678"),
        ("091.234.5678", "0912345678"),
        ("091-234-5678", "0912345678"),
        ("(091) 234 5678", "0912345678"),
        ("+84912345678", "0912345678"),
        ("+84 91 234 5678", "0912345678"),
        ("84912345678", "0912345678"),
        ("0084912345678", "0912345678"),
        ("912345678", "0912345678"),  # leading zero lost in a spreadsheet
        ("845123456", "0845123456"),  # 084 number with its zero lost, not +84
        ("1682345678", "0382345678"),  # old 11-digit mobile with its zero lost
        ("841682345678", "0382345678"),
        ("02438251234", "02438251234"),  # Hà Nội fixed line
        ("+84 24 3825 1234", "02438251234"),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize_phone(text) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "phone_empty"),
        (" - ", "phone_empty"),
        ("09x1234567", "phone_bad_char"),
        ("+1 415 555 0100", "phone_foreign"),
        ("+0912345678", "phone_foreign"),
        ("12345", "phone_length"),
        ("0412345678", "phone_prefix"),
        ("01302345678", "phone_prefix"),
        ("091234567890", "phone_length"),
    ],
)
def test_errors(text: str, code: str) -> None:
    with pytest.raises(IdentityError) as exc:
        normalize_phone(text)
    assert exc.value.code == code
