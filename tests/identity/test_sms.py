"""identity/sms.py: the unaccented text, the GSM-7/UCS-2 choice and the segment counts,
against counts worked out by hand from GSM 03.38 and 3GPP 23.040 (160/153, 70/67)."""

from __future__ import annotations

import pytest

from tiemchung.identity.sms import (
    budget,
    decode,
    encode,
    encoding_for,
    segment_count,
    unaccent,
    units,
)


def test_unaccent_drops_every_mark_and_turns_d_bar_into_d() -> None:
    assert unaccent("Đặng Thị Ngọc Ánh, ưu tiên nhóm 1") == "Dang Thi Ngoc Anh, uu tien nhom 1"
    assert unaccent("ĐƯỜNG Lê Lợi") == "DUONG Le Loi"
    # decomposed input (combining marks) folds the same as precomposed
    assert unaccent("Nguye\u0302\u0303n") == "Nguyen"
    assert unaccent("“Mời” – tiêm…") == '"Moi" - tiem...'


def test_the_alphabet_follows_the_text() -> None:
    assert encoding_for("Moi tiem mui 2 ngay 05/12 tai TYT phuong 1") == "gsm7"
    assert encoding_for("Mời tiêm") == "ucs2"
    assert encoding_for("gia 10€ [x]") == "gsm7"  # extension characters are GSM-7 too


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("[" * 80, 1),  # 160 septets: each extension character is two
        ("[" * 80 + "a", 2),
        ("ạ" * 70, 1),
        ("ạ" * 71, 2),
        ("ạ" * 134, 2),
        ("ạ" * 135, 3),
    ],
)
def test_segments(text: str, expected: int) -> None:
    assert segment_count(text) == expected


def test_an_emoji_is_two_ucs2_units() -> None:
    assert units("😀a", "ucs2") == 3


def test_budget_unaccented_by_default_and_accented_on_request() -> None:
    text = "Mời anh/chị đến tiêm mũi 2 vắc xin COVID-19 tại Trạm Y tế phường Bến Nghé lúc 8h00."
    plain = budget(text)
    assert plain.encoding == "gsm7" and plain.segments == 1
    assert plain.units == len(text) and plain.left == 160 - len(text)
    kept = budget(text, keep_accents=True)
    assert kept.encoding == "ucs2" and kept.segments == 2
    assert kept.left == 134 - len(text)
    vi, en = kept.describe()
    assert "2 tin nhắn" in vi and "2 SMS" in en


def test_encode_and_decode_are_inverse() -> None:
    for text, enc in [("Moi tiem @ 8h {TYT}", "gsm7"), ("Mời tiêm", "ucs2")]:
        assert decode(encode(text, enc), enc) == text  # type: ignore[arg-type]
    assert encode("@A{", "gsm7") == bytes([0x00, 0x41, 0x1B, 0x28])
